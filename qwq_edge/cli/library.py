"""``qwq-edge library``: add, list, remove, reindex and search the local library (document
folders and Kiwix ZIM archives, plus every web result ever cached) with no model loaded.

Indexing a folder shows a progress bar; Ctrl+C stops it after the batch in hand is
written, and the next ``add`` or ``reindex`` resumes where it stopped (a second Ctrl+C
stops at once). Names and reasons come from the user's files, so they are printed through
``printable`` (a folder named with escape codes must not drive the terminal).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwq_edge.cli.common import EXIT_INTERRUPTED, fail
from qwq_edge.errors import QwqEdgeError
from qwq_edge.text import printable

if TYPE_CHECKING:
    from qwq_edge.library.folders import IndexReport
    from qwq_edge.library.index import Library, SourceInfo


def register(sub: Any) -> None:
    lib = sub.add_parser("library", help="the local library: documents and ZIM archives")
    ls = lib.add_subparsers(dest="action", metavar="ACTION")
    add = ls.add_parser("add", help="add a folder (.md .txt .html .pdf) or a Kiwix .zim")
    add.add_argument("path", type=Path)
    add.add_argument("--name", help="what to call it (default: the folder or file name)")
    ls.add_parser("list", help="sources with their documents, passages, size and age")
    ls.add_parser("rm", help="remove a source (its files are not touched)").add_argument("name")
    re = ls.add_parser("reindex", help="pick up new, changed and deleted files")
    re.add_argument("name", nargs="?", help="one source (default: every folder)")
    em = ls.add_parser("embed", help="give every passage a vector, for search by meaning")
    em.add_argument("--background", action="store_true", help=argparse.SUPPRESS)
    se = ls.add_parser("search", help="ranked passages for a query, with their origins")
    se.add_argument("query")
    se.add_argument("--limit", type=int, default=8)
    se.add_argument(
        "--mode", choices=["hybrid", "bm25", "semantic"], help="default: hybrid where vectors exist"
    )
    se.add_argument("--json", action="store_true", help="one JSON object per line")
    lib.set_defaults(handler=cmd_library)


def _open() -> Library:
    from qwq_edge.library.cached import sync_cache
    from qwq_edge.library.index import Library
    from qwq_edge.paths import paths
    from qwq_edge.runtime import open_cache

    library = Library(paths().library)
    if library.notice:
        print(f"qwq-edge: note: {library.notice}", file=sys.stderr)
    library.waiting = lambda: print(
        "qwq-edge: another qwq-edge is writing the library; waiting for it…", file=sys.stderr
    )
    cache = open_cache()
    sync_cache(library, cache)  # every web result ever fetched is part of the library
    cache.close()
    return library


def cmd_library(args: argparse.Namespace) -> int:
    try:
        return _library(args)
    except QwqEdgeError as exc:  # its sentence may quote a file's or a source's name
        return fail(printable(str(exc)))


def _library(args: argparse.Namespace) -> int:
    library = _open()
    try:
        if args.action == "add":
            return _add(library, args.path, args.name)
        if args.action == "rm":
            n = library.remove_source(args.name)
            name = printable(repr(args.name))
            print(f"removed {name} from the library ({n} documents; files untouched)")
            return 0
        if args.action == "reindex":
            return _reindex(library, args.name)
        if args.action == "search":
            return _search(args.query, args.limit, args.json, args.mode)
        if args.action == "embed":
            return _embed(library, quiet=args.background)
        _list(library)
        return 0
    finally:
        library.close()


def _add(library: Library, path: Path, name: str | None) -> int:
    if path.expanduser().is_file():
        from qwq_edge.runtime.library import add_source

        print(add_source(library, path, name).summary())
        return 0
    label = name or path.expanduser().resolve().name
    return _index(library, label, path)


def _reindex(library: Library, name: str | None) -> int:
    from qwq_edge import runtime
    from qwq_edge.runtime.library import configured_folders

    configured_folders(library, runtime.load_settings())
    chosen = [library.source(name)] if name else library.sources()
    code = 0
    for source in chosen:
        if source.kind == "folder":
            code = _index(library, source.name, Path(source.path)) or code
            if code == EXIT_INTERRUPTED:
                return code
        elif name:
            print(f"{source.name!r} is a {source.kind} source; it needs no reindexing")
    return code


def _index(library: Library, name: str, root: Path) -> int:
    from tqdm import tqdm

    from qwq_edge.runtime.library import add_source

    stop = threading.Event()
    bar = tqdm(
        total=0, unit=" files", desc=printable(name), file=sys.stderr, disable=None, leave=False
    )

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    def interrupt(signum: int, frame: object) -> None:
        if stop.is_set():  # a second Ctrl+C: something does not heed the first, so stop now
            raise KeyboardInterrupt
        stop.set()  # the batch in hand is written; the next run resumes after it

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        added = add_source(library, root, name, progress=progress, stop=stop)
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    assert added.report is not None
    _say(name, added.report)
    if added.report.stopped:
        return EXIT_INTERRUPTED
    from qwq_edge import runtime
    from qwq_edge.runtime.library import embed_in_background

    if embed_in_background(library, runtime.load_settings()):
        print(
            "making vectors for search by meaning in the background (`qwq-edge library list` "
            "shows how far; the library searches by words meanwhile)"
        )
    return 0


def _say(name: str, r: IndexReport) -> None:
    done = "stopped; run `qwq-edge library reindex` to go on" if r.stopped else "indexed"
    print(
        f"{printable(name)}: {done} — {r.added} new, {r.updated} changed, {r.unchanged} "
        f"unchanged, {r.removed} removed, {r.passages:,} passages written in {r.seconds:.1f} s"
    )
    _files(f"{len(r.failed)} files could not be read (they are retried next time):", r.failed)
    _files(f"{len(r.notes)} files were cut or skipped:", r.notes)


def _files(heading: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    print(heading)
    for rel, why in rows[:10]:
        print(f"  {printable(rel)}: {printable(why)}")
    if len(rows) > 10:
        print(f"  … and {len(rows) - 10} more")


def _list(library: Library) -> None:
    sources = library.sources()
    if not sources:
        print("the library is empty; add a folder or a .zim with `qwq-edge library add PATH`")
        return
    from qwq_edge.library.semantic import counts

    embedded, total = counts(library)
    print(f"{'NAME':<20} {'KIND':<7} {'DOCUMENTS':>10} {'PASSAGES':>10} {'SIZE':>9}  INDEXED")
    for s in sources:
        print(
            f"{printable(s.name)[:20]:<20} {s.kind:<7} {s.documents:>10,} "
            f"{'-' if s.kind == 'zim' else format(s.passages, ','):>10} "
            f"{_size(s.bytes):>9}  {_when(s)}"
        )
    print(f"vectors for search by meaning: {embedded:,}/{total:,} passages")


def _when(s: SourceInfo) -> str:
    if s.indexed_at is None:
        return "never"
    age = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.indexed_at))
    extra = "" if s.complete else " (interrupted)"
    return f"{age}{extra}" + (f" · {s.failed} unreadable" if s.failed else "")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def _embed(library: Library, *, quiet: bool = False) -> int:
    """Vectors for the passages that have none (Ctrl+C stops; the next run goes on). A
    missing model is one line, not a failure: the library still answers by words.
    ``quiet``: the detached run that ``library add`` starts (no progress bar)."""
    from tqdm import tqdm

    from qwq_edge import runtime
    from qwq_edge.runtime.library import embed, embedding_lock

    with embedding_lock() as mine:
        if not mine:
            print("another qwq-edge is making the library's vectors already")
            return 0
        stop = threading.Event()
        bar = tqdm(unit=" passages", desc="embedding", file=sys.stderr, disable=quiet or None,
                   leave=False)  # fmt: skip

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        try:
            line = embed(library, runtime.load_settings(), progress=progress, stop=stop)
        finally:
            signal.signal(signal.SIGINT, previous)
            bar.close()
    if line is not None:
        print(line)
    return EXIT_INTERRUPTED if stop.is_set() else 0


def _search(query: str, limit: int, as_json: bool, mode: str | None) -> int:
    from qwq_edge import runtime

    overrides = {"library_mode": mode} if mode else None
    settings = runtime.load_settings(overrides)
    provider = runtime.open_library(settings=settings)
    for note in provider.notes:
        print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)
    told = len(provider.notes)
    try:
        usable = provider.unavailable() is None
        hits = provider.search(query, max_results=limit).hits if usable else ()
    finally:
        provider.close()
    for note in provider.notes[told:]:  # a part that failed while searching (a damaged ZIM)
        print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)
    if not hits:
        print("no passages match", file=sys.stderr if as_json else sys.stdout)
        return 0
    for i, h in enumerate(hits, 1):
        if as_json:
            row = {"n": i, "title": h.title, "url": h.url, "content": h.content,
                   "score": h.score, "origin": h.origin}  # fmt: skip
            print(json.dumps(row, ensure_ascii=False))
        else:
            title, url, content = printable(h.title), printable(h.url), printable(h.content)
            print(f"[{i}] ({h.origin}) {title}\n    {url}\n    {content}\n")
    return 0
