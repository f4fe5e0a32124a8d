"""Build real Kiwix ZIM archives for tests and benchmarks (no PyPI package ships a ``.zim``).

libzim's ``Creator`` prints progress from C++ straight to file descriptor 1, even with
``config_verbose(False)``, so the build runs with fd 1 pointed at /dev/null; Python's
``sys.stdout`` redirection would not catch it (DESIGN.md §10).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from libzim.writer import Compression, Creator, Hint, Item, StringProvider  # type: ignore[import-untyped]


class _Article(Item):  # type: ignore[misc]
    def __init__(self, path: str, title: str, html: str) -> None:
        super().__init__()
        self._path, self._title, self._html = path, title, html

    def get_path(self) -> str:
        return self._path

    def get_title(self) -> str:
        return self._title

    def get_mimetype(self) -> str:
        return "text/html"  # only text/html items go into the full-text index

    def get_contentprovider(self) -> StringProvider:
        return StringProvider(self._html)

    def get_hints(self) -> dict[Hint, int]:
        return {Hint.FRONT_ARTICLE: True}  # counted as an article, listed in the title index


def page(title: str, body: str) -> str:
    """A whole HTML page around ``body`` (what mwoffliner writes, reduced)."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send fd 1 to /dev/null for the duration (C++ writes there directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def build_zim(
    path: Path,
    articles: list[tuple[str, str, str]],
    *,
    fulltext: bool = True,
    name: str = "test",
    redirects: Sequence[tuple[str, str, str]] = (),
    compress: bool = True,
) -> Path:
    """Write ``articles`` ((path, title, html body), the body wrapped in a page) as a ZIM at
    ``path``, with a Xapian full-text index when ``fulltext`` and Kiwix's metadata.
    ``redirects`` are (path, title, target path). ``compress=False`` stores clusters
    uncompressed: zstd (at libzim's fixed, high level) is most of a big build's time, about
    50 s of 10k articles on 2 cores, while Kiwix's archives are compressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_stdout():
        creator = Creator(path).config_indexing(fulltext, "eng").config_verbose(False)
        if not compress:
            creator.config_compression(Compression.none)
        if articles:
            creator.set_mainpath(articles[0][0])
        with creator:
            for entry, title, body in articles:
                creator.add_item(_Article(entry, title, page(title, body)))
            for entry, title, target in redirects:
                creator.add_redirection(entry, title, target, {Hint.FRONT_ARTICLE: True})
            for key, value in (
                ("Title", f"{name} test archive"),
                ("Language", "eng"),
                ("Creator", "qwq-edge tests"),
                ("Publisher", "qwq-edge"),
                ("Date", "2025-01-01"),
                ("Description", "An archive built by the qwq-edge test suite"),
                ("Name", name),
            ):
                creator.add_metadata(key, value)
    return path
