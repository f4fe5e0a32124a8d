"""Adding to and refreshing the library, for every front end: a folder is registered and
indexed (progress reported, stoppable, resumable), a ``.zim`` is checked and registered,
and the folders named in the config are registered on a reindex.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from qwq_edge.engine.embedding import Embedder
from qwq_edge.errors import LibraryError, QwqEdgeError
from qwq_edge.library import zim
from qwq_edge.library.folders import IndexReport, Progress, index_folder
from qwq_edge.library.index import Library
from qwq_edge.library.semantic import counts, embed_pending
from qwq_edge.paths import Paths, paths
from qwq_edge.runtime.sources import embedding_model_path, library_part
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings, library_folders
from qwq_edge.text import printable


@dataclass(frozen=True)
class Added:
    name: str
    kind: str  # "folder" or "zim"
    report: IndexReport | None = None  # a folder's index run
    articles: int = 0  # a ZIM's article count
    fulltext: bool = False  # a ZIM has its own full-text index

    def summary(self) -> str:
        """One line for the user (the name made printable: a folder's name is anyone's)."""
        if self.report is None:
            index = "its full-text index" if self.fulltext else "its title index only"
            return f"added {self.name!r}: {self.articles:,} articles, searched with {index}"
        r = self.report
        done = "stopped; reindex it to go on" if r.stopped else "indexed"
        failed = f", {len(r.failed)} unreadable" if r.failed else ""
        noted = f", {len(r.notes)} cut or skipped" if r.notes else ""
        return (
            f"{printable(self.name)}: {done} — {r.added} new, {r.updated} changed, "
            f"{r.unchanged} unchanged, {r.removed} removed{failed}{noted}, "
            f"{r.passages:,} passages written"
        )


def add_source(
    library: Library,
    path: Path,
    name: str | None = None,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> Added:
    """Register ``path`` (a folder or a .zim) and index it; one sentence on bad input."""
    target = path.expanduser()
    if not target.exists():
        raise LibraryError(f"{path} does not exist")
    target = target.resolve()
    if target.is_file():
        if target.suffix.lower() != ".zim":
            raise LibraryError(f"{path} is a file; add a folder of documents or a .zim archive")
        label = name or target.stem
        archive = zim.open_archive(target, label)
        try:
            library.add_source(label, "zim", str(target))
            library.mark(label, complete=True, entries=archive.entry_count)
            return Added(label, "zim", articles=archive.entry_count, fulltext=archive.has_fulltext)
        finally:
            archive.close()
    label = name or target.name
    new = library.add_source(label, "folder", str(target))
    try:
        report = index_folder(library, label, target, progress=progress, stop=stop)
    except QwqEdgeError:
        if new:
            _forget(library, label)
        raise
    return Added(label, "folder", report)


def _forget(library: Library, name: str) -> None:
    """Take back a source this run registered and could not index (another process held
    the library too long, the folder could not be listed), if nothing of it was written:
    an empty source would only say "0 documents" in every listing."""
    try:
        if library.source(name).documents == 0:
            library.remove_source(name)
    except QwqEdgeError:
        pass  # the error being raised says what matters


def configured_folders(library: Library, settings: Settings) -> list[str]:
    """Register the folders the config names (``library_folders``) that are not sources
    yet. Returns their names."""
    known = {s.path for s in library.sources()}
    added = []
    for folder in library_folders(settings):
        if folder.is_dir() and str(folder.resolve()) not in known:
            library.add_source(folder.name, "folder", str(folder.resolve()))
            added.append(folder.name)
    return added


def embed(
    library: Library,
    settings: Settings,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> str | None:
    """Give every passage without a vector one (after indexing; resumable). Returns one
    line for the user, or None when there was nothing to do."""
    if settings.library_mode == "bm25":
        return None
    done, total = counts(library)
    if done >= total:
        return None
    path = embedding_model_path(settings)
    if not path.is_file():
        return (
            f"no vectors made: the embedding model {path} is missing; the library searches by words"
        )
    model = Embedder(path, threads=settings.threads, log_path=paths().llama_log)
    try:
        report = embed_pending(library, model, progress=progress, stop=stop)
    finally:
        model.close()
    rate = report.embedded / report.seconds if report.seconds else 0.0
    state = "stopped; `qwq-edge library embed` goes on" if report.stopped else "done"
    return f"vectors: {done + report.embedded:,}/{total:,} passages ({state}; {rate:.1f}/s)"


LOCK = "library-embed.lock"


@contextlib.contextmanager
def embedding_lock(where: Paths | None = None) -> Iterator[bool]:
    """Held by the one process that embeds (True), or False when another one already does:
    two would do the same work twice."""
    path = (where or paths()).data_dir / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; a second embedder only wastes time
        yield True
        return
    with path.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def embed_in_background(library: Library, settings: Settings, where: Paths | None = None) -> bool:
    """Start a detached `qwq-edge library embed` for the passages without vectors (the
    library answers by words meanwhile). Returns whether one was started."""
    if settings.library_mode == "bm25" or not embedding_model_path(settings).is_file():
        return False
    done, total = counts(library)
    if done >= total:
        return False
    p = where or paths()
    p.log_dir.mkdir(parents=True, exist_ok=True)
    with (p.log_dir / "library-embed.log").open("ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "qwq_edge", "library", "embed", "--background"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    return True


def refresh_archives(provider: SearchProvider | None) -> list[str]:
    """Bring a live session's ZIM archives in line with the library's sources after one was
    added or removed in the settings (folders need nothing: they are in the same index).
    Call it between turns only. Returns what to tell the user (an archive that would not
    open)."""
    part = library_part(provider)
    if part is None or part.library is None:
        return []
    notes: list[str] = []
    zims = {s.name: s.path for s in part.library.sources() if s.kind == "zim"}
    for archive in [a for a in part.archives if a.name not in zims]:
        part.archives.remove(archive)
        archive.close()
    have = {a.name for a in part.archives}
    for name, where in zims.items():
        if name not in have:
            try:
                part.archives.append(zim.open_archive(Path(where), name))
            except QwqEdgeError as exc:
                notes.append(f"library source {name!r} is left out: {exc}")
    return notes
