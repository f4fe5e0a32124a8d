"""Web and library behind one tool: cached web results join the library, a differently
worded question finds them offline, the fan-out caps each origin and survives a failing
part, and packs are labelled as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.library.cached import SOURCE, sync_cache
from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import Passage
from qwq_edge.paths import paths
from qwq_edge.runtime import make_provider, open_cache, provider_notices
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.fanout import FanoutProvider, merge
from qwq_edge.settings import ConfigError, Settings, source_set
from tests.support.tavily_server import TavilyServer

KEY = "tvly-TEST-SECRET-0123456789"


def test_a_cached_web_result_is_found_offline_by_other_words(
    isolated_home: Path, tavily: TavilyServer
) -> None:
    online = make_provider(Settings(tavily_api_key=KEY, tavily_url=tavily.url))
    first = online.search("who won the 2022 FIFA World Cup", max_results=5)
    assert [h.origin for h in first.hits] == ["web", "web"]
    offline = make_provider(Settings(offline=True))
    # Not the cached query: the cache alone would miss; the library finds the passages.
    again = offline.search("Argentina France final penalties Lusail", max_results=5)
    assert again.hits[0].url == "https://example.com/world-cup-2022"
    assert again.hits[0].origin == "cache"
    assert "penalties" in again.hits[0].content
    assert len(tavily.queries) == 1  # offline: no request reached the server
    # the exact query still comes back whole from the cache (one hit per URL)
    same = offline.search("who won the 2022 FIFA World Cup", max_results=5)
    assert sorted(h.url for h in same.hits) == sorted(h.url for h in first.hits)
    assert KEY not in paths().library.read_bytes().decode("latin-1")


def test_imported_entries_are_indexed_as_a_pack(isolated_home: Path, tavily: TavilyServer) -> None:
    online = make_provider(Settings(tavily_api_key=KEY, tavily_url=tavily.url, sources="web"))
    online.search("world cup final", max_results=5)
    cache = open_cache()
    library = Library(paths().library)
    library.remove_source(SOURCE)  # as on another machine that only got the pack
    assert sync_cache(library, cache, "pack") == 1
    assert sync_cache(library, cache, "pack") == 0  # nothing new the second time
    assert {h.origin for h in library.search("Messi hat-trick shoot-out", 5)} == {"pack"}


class Part:
    """A provider answering from a fixed list (the fan-out's logic, not a search engine)."""

    def __init__(self, name: str, hits: list[SearchHit], error: SearchError | None = None):
        self.name, self.hits, self.error, self.queries = name, hits, error, []

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        return SearchResponse(query, tuple(self.hits[:max_results]), self.name)


def _hits(origin: str, n: int, top: float) -> list[SearchHit]:
    return [
        SearchHit(f"{origin} {i}", f"https://{origin}.test/{i}", "text", top - i * 0.1, origin)  # type: ignore[arg-type]
        for i in range(n)
    ]


def test_the_fanout_caps_each_origin_while_others_have_hits() -> None:
    web = Part("tavily", _hits("web", 5, 0.9))
    lib = Part("library", _hits("file", 5, 30.0))  # bm25-ish scale: rescaled per provider
    got = FanoutProvider([web, lib], per_origin=3).search("q", max_results=5)
    origins = [h.origin for h in got.hits]
    assert origins.count("web") >= 2 and origins.count("file") <= 3
    assert got.provider == "tavily+library"
    alone = merge(_hits("file", 5, 1.0), 5, per_origin=3)
    assert len(alone) == 5  # nobody else had hits: the cap does not starve the response


def test_a_failing_part_leaves_the_others_answering() -> None:
    down = Part("tavily", [], SearchError("the network is unreachable", "went_offline"))
    lib = Part("library", _hits("zim", 2, 1.0))
    got = FanoutProvider([down, lib], per_origin=3).search("q", max_results=5)
    assert [h.origin for h in got.hits] == ["zim", "zim"]
    assert got.partial == "the network is unreachable" and got.partial_kind == "went_offline"
    both = FanoutProvider([down, Part("library", [], SearchError("bad", "library"))], per_origin=3)
    with pytest.raises(SearchError, match="unreachable"):
        both.search("q", max_results=5)


def test_duplicate_urls_are_merged() -> None:
    a = Part("tavily", [SearchHit("A", "https://x.test/a", "live", 0.9, "web")])
    b = Part("library", [SearchHit("A", "https://x.test/a", "saved", 5.0, "cache")])
    got = FanoutProvider([a, b], per_origin=3).search("q", max_results=5)
    assert len(got.hits) == 1


def test_sources_setting() -> None:
    assert source_set(Settings()) == {"web", "library"}
    assert source_set(Settings(sources="library")) == {"library"}
    assert source_set(Settings(sources="web, library")) == {"web", "library"}
    with pytest.raises(ConfigError, match="sources must be web, library or web,library"):
        source_set(Settings(sources="web,gopher"))


def test_library_only_mode_never_touches_the_web(isolated_home: Path, tavily: TavilyServer) -> None:
    library = Library(paths().library)
    library.add_source("notes", "folder", "/n")
    library.put("notes", [Document("a", "file:///n/a", "A", "file", [
        Passage("Varnholt", "", "The Varnholt light was first lit in 1887.", "file:///n/a")
    ])])  # fmt: skip
    provider = make_provider(Settings(tavily_api_key=KEY, tavily_url=tavily.url, sources="library"))
    got = provider.search("when was the Varnholt light first lit", max_results=5)
    assert got.hits[0].url == "file:///n/a" and tavily.queries == []


def test_a_bundle_brings_the_passages_its_session_used(isolated_home: Path) -> None:
    from qwq_edge.events import Source, ToolResult, from_dict, to_dict
    from qwq_edge.runtime import index_imported

    hit = SearchHit(
        "Notes › Varnholt", "file:///elsewhere/a.md", "Ilse Brandvik lit it.", 1.0, "file"
    )
    result = ToolResult(
        1, "library", "varnholt", (hit,), (Source(1, hit.title, hit.url, origin="file"),)
    )
    assert from_dict(to_dict(result)) == result  # the journal keeps the origin
    assert index_imported(open_cache(), [result]) == 1
    found = Library(paths().library).search("who lit the Varnholt light", 5)
    assert [(h.url, h.origin) for h in found] == [("file:///elsewhere/a.md", "pack")]


def test_a_zim_broken_after_it_was_added_is_left_out_with_a_note(
    isolated_home: Path, tmp_path: Path
) -> None:
    from tests.support.zim import build_zim

    archive = build_zim(tmp_path / "w.zim", [("A/T", "Teasel", "<p>Teasel heads raise nap.</p>")])
    library = Library(paths().library)
    library.add_source("w", "zim", str(archive))
    library.add_source("notes", "folder", "/n")
    library.put("notes", [Document("a", "file:///n/a", "A", "file", [
        Passage("Teasel", "", "Teasel grows by rivers.", "file:///n/a")
    ])])  # fmt: skip
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 3])
    provider = make_provider(Settings(sources="library"))
    notes = " ".join(provider_notices(provider))
    assert "'w' is left out" in notes and "w.zim" in notes
    assert provider.search("teasel", max_results=5).hits[0].url == "file:///n/a"


def test_opening_a_library_source_shows_the_passages_around_the_match(
    isolated_home: Path,
) -> None:
    from qwq_edge.runtime import library_part

    library = Library(paths().library)
    library.add_source("notes", "folder", "/n")
    parts = [
        Passage("Doc", f"s{i}", f"paragraph {i} about topic{i}", "file:///n/d") for i in range(5)
    ]
    library.put("notes", [Document("d", "file:///n/d", "Doc", "file", parts)])
    lib = library_part(make_provider(Settings(sources="library")))
    assert lib is not None
    excerpt = lib.around("file:///n/d", "paragraph 2 about topic2")
    assert excerpt is not None
    assert [p.text for p in excerpt.passages] == [
        f"paragraph {i} about topic{i}" for i in (1, 2, 3)
    ]
    assert excerpt.matched == 1
    assert lib.around("https://not.in/library", "x") is None


def test_no_key_and_an_empty_library_means_no_search(isolated_home: Path) -> None:
    provider = make_provider(Settings())
    reason = provider.unavailable()
    assert reason is not None and "TAVILY_API_KEY" in reason  # the web's reason comes first
    library = make_provider(Settings(sources="library")).unavailable()
    assert library is not None and "qwq-edge library add" in library


def test_searxng_is_the_web_without_a_cloud_account(isolated_home: Path) -> None:
    from tests.support.searxng_server import SearxngServer

    with SearxngServer() as server:
        provider = make_provider(Settings(search="searxng", searxng_url=server.url))
        got = provider.search("2022 world cup final", max_results=3)
        assert server.queries == ["2022 world cup final"]
    assert got.hits[0].url == "https://example.com/world-cup-2022"
    assert {h.origin for h in got.hits} == {"web"}
    # stored in the cache under SearXNG's name, and in the library at once
    offline = make_provider(Settings(search="searxng", searxng_url=server.url, offline=True))
    again = offline.search("Lusail shoot-out hat-trick", max_results=3)
    assert "https://en.wikipedia.org/wiki/2022_FIFA_World_Cup_final" in [h.url for h in again.hits]
    assert provider.name == "searxng+library"
