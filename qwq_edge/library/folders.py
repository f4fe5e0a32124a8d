"""Index a folder of documents into the library, incrementally and resumably.

A run has three steps:

1. A fast walk (``os.scandir`` and one ``stat`` per candidate, nothing read) lists every
   document, so progress has a total; 100k files take well under a second of this.
2. Each file whose (mtime, size) differs from what the library recorded is read, and the
   documents are written ``batch`` at a time, one transaction each: an interrupted run keeps
   what it wrote, and the next run skips those files because their (mtime, size) now match.
3. Only after a complete walk and read are documents whose files are gone dropped. A run
   that stopped early has not looked at everything, so it must not decide what vanished.

Stopping: the caller sets ``stop`` (the CLI's Ctrl+C handler, the TUI's cancel). The run
writes the documents already read and returns with ``stopped=True``; it does not read on to
fill the batch, nor finish the document in hand (the reader checks ``stop`` between PDF
pages; that document is read again next run), so stopping is prompt. A
``KeyboardInterrupt`` that arrives anyway (no handler installed, or a second Ctrl+C) also
writes what was read and marks the run incomplete, then propagates.

A file that cannot be read is listed in ``failed`` with its reason and gets no document,
so it is retried next run; the run goes on with the others. If it had a document from an
earlier run, that is dropped: the file changed, so its old text is no longer what it says.
A document too long to read whole is cut, and ``notes`` says so.

Links: a symlinked file is read only when its target is inside the folder (resolved and
checked at the walk, and again when it is read): a link to ``/etc/shadow`` or to another
user's notes must not pull them into the library and into a model's context. The check is
repeated at read time because a file can be swapped for a link in between.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from qwq_edge.errors import LibraryError
from qwq_edge.library.index import Document, Library
from qwq_edge.library.readers import SUFFIXES, Stopped, file_uri, read_document

Progress = Callable[[int, int], None]  # (files done, files found)
# Skipping an unchanged file costs microseconds, so progress is reported every this many
# of them (every file that is read is reported): a front end need not redraw 100k times.
PROGRESS_EVERY = 512


@dataclass
class IndexReport:
    seen: int = 0  # documents found by the walk
    added: int = 0  # new documents written
    updated: int = 0  # documents whose file changed, rewritten
    unchanged: int = 0  # skipped: same mtime and size as last time
    removed: int = 0  # documents dropped because their file is gone
    passages: int = 0  # passages written in this run
    failed: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # cut or skipped: (path, why)
    seconds: float = 0.0
    stopped: bool = False  # interrupted: the next run resumes


class _Candidate(NamedTuple):
    # A tuple, and the path a str: the walk makes one per file, and building 100k dataclasses
    # and Paths would cost more than the stat calls themselves.
    key: str  # the path relative to the root, with "/" (the document key)
    path: str
    mtime: float
    size: int
    link: bool  # a symlinked file: its citation names the target


def index_folder(
    library: Library,
    name: str,
    root: Path,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    batch: int = 64,
) -> IndexReport:
    """Bring source ``name`` up to date with the documents under ``root`` (registering the
    source if it is new). Raises ``LibraryError`` if ``root`` is not a folder."""
    started = time.monotonic()
    if not root.exists():
        raise LibraryError(f"{root}: no such folder")
    if not root.is_dir():
        raise LibraryError(f"{root}: is a file, not a folder; give the folder that holds it")
    root = root.resolve()
    library.add_source(name, "folder", str(root))
    report = IndexReport()
    unlisted: list[str] = []  # folders the walk could not open (relative, with a "/" after)
    found = _walk(root, report.failed, unlisted, report.notes)
    report.seen = total = len(found)
    known = library.known(name)
    pending: list[Document] = []
    stale: list[str] = []  # documents whose file now fails: their old text no longer holds

    def flush() -> None:
        if pending:
            report.passages += library.put(name, pending)
            pending.clear()
        if stale:
            library.drop(name, stale)
            stale.clear()

    if progress is not None:
        progress(0, total)
    try:
        for done, item in enumerate(found, start=1):
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            if known.get(item.key) == (item.mtime, item.size):
                report.unchanged += 1
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                    progress(done, total)
            else:
                try:
                    doc = _read(item, root, report, stop)
                except Stopped:
                    report.stopped = True
                    break
                if doc is None:
                    if item.key in known:
                        stale.append(item.key)
                else:
                    pending.append(doc)
                    if item.key in known:
                        report.updated += 1
                    else:
                        report.added += 1
                    if len(pending) >= batch:
                        flush()
                if progress is not None:
                    progress(done, total)
        flush()
    except KeyboardInterrupt:
        flush()  # the put is one transaction: it either lands whole or not at all
        library.mark(name, complete=False, failed=len(report.failed))
        raise
    if not report.stopped:
        present = {item.key for item in found}
        gone = [
            key
            for key in known
            if key not in present and not any(key.startswith(d) for d in unlisted)
        ]
        report.removed = library.drop(name, gone)
    library.mark(name, complete=not report.stopped, failed=len(report.failed))
    report.seconds = time.monotonic() - started
    return report


def _walk(
    root: Path, failed: list[tuple[str, str]], unlisted: list[str], notes: list[tuple[str, str]]
) -> list[_Candidate]:
    """Every document under ``root``, in a stable order. Hidden files and folders are skipped
    (``.git``, ``.venv``, editor state), and so are symlinked folders: following them can
    loop, or pull a whole other tree into this source. A symlinked file is read if it
    points inside ``root`` (``notes`` names the others)."""
    out: list[_Candidate] = []
    stack = [""]  # relative folder paths, "" for the root
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            reason = f"the folder could not be listed ({exc.strerror or exc})"
            if not rel:  # nothing can be indexed, and nothing may be taken for vanished
                raise LibraryError(f"{root}: {reason}") from None
            # A folder we cannot list keeps its old documents: it has not been looked at.
            unlisted.append(f"{rel}/")
            failed.append((f"{rel}/", reason))
            continue
        subdirs: list[str] = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            key = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(key)
                elif entry.name.lower().endswith(SUFFIXES) and entry.is_file():
                    st = entry.stat()
                    link = entry.is_symlink()
                    if link and not _inside(Path(entry.path), root):
                        notes.append((key, OUTSIDE))
                        continue
                    out.append(_Candidate(key, entry.path, st.st_mtime, st.st_size, link))
            except OSError:
                continue  # vanished or a dangling link since the listing: not a document now
        stack.extend(reversed(subdirs))  # depth-first, in name order
    return out


OUTSIDE = "a link to a file outside the folder, not followed"


def _inside(path: Path, root: Path) -> bool:
    """Whether the link ``path`` leads to a file inside ``root`` (itself resolved)."""
    try:
        return path.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):  # dangling, or a loop of links
        return False


def _read(
    item: _Candidate, root: Path, report: IndexReport, stop: threading.Event | None
) -> Document | None:
    path = Path(item.path)
    # Again at read time: the file may have been swapped for a link since the walk. A path
    # that was no link is opened with O_NOFOLLOW, so it cannot become one in between.
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        link = False  # vanished: the reader says so
    if link and not _inside(path, root):
        report.notes.append((item.key, OUTSIDE))
        return None
    # The root is resolved and the walk never enters a symlinked folder, so only a symlinked
    # file needs resolving (``resolve`` is an lstat per path component: too slow for 100k).
    uri = file_uri(path) if link else path.as_uri()
    notes: list[str] = []
    try:
        title, parts = read_document(path, uri=uri, stop=stop, notes=notes, follow=link)
    except LibraryError as exc:
        report.failed.append((item.key, _strip_path(str(exc), path)))
        return None
    except Stopped:
        raise
    except Exception as exc:  # a reader bug on one odd file must not end a 100k-file run
        report.failed.append((item.key, f"{type(exc).__name__}: {exc}"))
        return None
    report.notes += [(item.key, note) for note in notes]
    return Document(
        key=item.key,
        uri=uri,
        title=title,
        origin="file",
        passages=parts,
        mtime=item.mtime,
        size=item.size,
    )


def _strip_path(message: str, path: Path) -> str:
    """The reason alone: the report already names the file by its relative path."""
    return message.removeprefix(f"{path}: ")
