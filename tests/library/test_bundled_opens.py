"""A bundled session's opens join this library as pages, once, under "opened pages"."""

from __future__ import annotations

from pathlib import Path

from qwq_edge.events import PageOpened, ReadPassage, Source
from qwq_edge.library.cached import index_hits
from qwq_edge.library.index import Library
from qwq_edge.library.pages import PAGES, stored_page


def test_a_bundled_open_is_kept_once_as_a_page(tmp_path: Path) -> None:
    library = Library(tmp_path / "library.sqlite3")
    url = "https://example.org/teasel"
    read = (ReadPassage(3, "Teasel › Use", "The heads were set on a gig."),)
    opened = PageOpened(1, url, "gig", Source(1, "Teasel", url), "Teasel", read, total=9)
    failed = PageOpened(2, "https://example.org/x", error="refused", error_kind="refused")
    assert index_hits(library, [opened, failed]) == 1
    assert index_hits(library, [opened]) == 0  # this library already has a copy
    stored = stored_page(library, url)
    assert stored is not None and [p.text for p in stored[1]] == ["The heads were set on a gig."]
    assert library.counts()[1] == 1  # one passage in all: not a second copy elsewhere
    assert {s.name for s in library.sources()} == {PAGES}
    library.close()
