"""The search cache: keys, modes, failures, packs, concurrency and recovery."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from qwq_edge.errors import SearchError
from qwq_edge.search.cache import CachedProvider, SearchCache, cache_key, normalize
from tests.support.env import REPO
from tests.support.fakes import FakeSearch


@pytest.fixture
def cache(tmp_path: Path) -> SearchCache:
    return SearchCache(tmp_path / "search.sqlite3")


def test_normalization_and_keys() -> None:
    assert normalize("  Gold\u3000PRICE\n today ") == "gold price today"
    assert normalize("ﬁnance") == "finance"  # NFKC folds the ligature
    k1 = cache_key("tavily", "Gold  PRICE", {"max_results": 5})
    assert k1 == cache_key("tavily", "gold price", {"max_results": 5})
    assert k1 != cache_key("tavily", "gold price", {"max_results": 3})
    assert k1 != cache_key("other", "gold price", {"max_results": 5})


def test_miss_then_hit(cache: SearchCache) -> None:
    inner = FakeSearch()
    provider = CachedProvider(inner, cache)
    first = provider.search("Gold price", max_results=2)
    second = provider.search("gold   price", max_results=2)
    assert inner.queries == ["Gold price"]
    assert not first.cached and second.cached
    assert second.hits == first.hits and second.key == first.key and second.fetched_at > 0
    assert cache.stats().entries == 1 and cache.stats().hits == 1


def test_offline_miss_is_a_clear_answer_not_a_call(cache: SearchCache) -> None:
    inner = FakeSearch()
    provider = CachedProvider(inner, cache, mode="offline")
    with pytest.raises(SearchError) as info:
        provider.search("never seen", max_results=2)
    assert info.value.kind == "offline" and "nothing is cached" in str(info.value)
    assert inner.queries == []
    assert provider.unavailable() is None  # offline needs no key


def test_offline_serves_what_online_stored(cache: SearchCache) -> None:
    CachedProvider(FakeSearch(), cache).search("q", max_results=2)
    hit = CachedProvider(FakeSearch(key=False), cache, mode="offline").search("Q", max_results=2)
    assert hit.cached and hit.offline and len(hit.hits) == 2


def test_refresh_always_fetches_and_updates(cache: SearchCache) -> None:
    inner = FakeSearch()
    CachedProvider(inner, cache).search("q", max_results=2)
    fresh = CachedProvider(inner, cache, mode="refresh").search("q", max_results=2)
    assert inner.queries == ["q", "q"] and not fresh.cached
    assert fresh.hits[0].title == "Result 2.1"
    again = CachedProvider(FakeSearch(), cache, mode="offline").search("q", max_results=2)
    assert again.hits[0].title == "Result 2.1"


def test_failed_searches_are_not_cached(cache: SearchCache) -> None:
    failing = FakeSearch(error=SearchError("Tavily returned HTTP 500", "server"))
    with pytest.raises(SearchError):
        CachedProvider(failing, cache).search("q", max_results=2)
    assert cache.stats().entries == 0


def test_unreachable_network_switches_to_offline(cache: SearchCache) -> None:
    down = FakeSearch(error=SearchError("cannot reach Tavily: no network connection", "network"))
    provider = CachedProvider(down, cache)
    with pytest.raises(SearchError) as info:
        provider.search("q", max_results=2)
    assert info.value.kind == "went_offline" and provider.mode == "offline"
    with pytest.raises(SearchError):
        provider.search("q2", max_results=2)
    assert down.queries == ["q"]  # no further network calls once offline


def test_age_limit(cache: SearchCache) -> None:
    inner = FakeSearch()
    CachedProvider(inner, cache).search("q", max_results=2)
    time.sleep(0.05)
    CachedProvider(inner, cache, max_age=0.01).search("q", max_results=2)
    assert inner.queries == ["q", "q"]


def test_search_pack_export_and_import_never_overwrites_newer(tmp_path: Path) -> None:
    a = SearchCache(tmp_path / "a.sqlite3")
    b = SearchCache(tmp_path / "b.sqlite3")
    CachedProvider(FakeSearch(), a).search("shared", max_results=1)
    CachedProvider(FakeSearch(), a).search("only in a", max_results=1)
    time.sleep(0.01)
    newer = FakeSearch()
    newer.queries = ["x", "y"]  # its next results are numbered 3.x
    CachedProvider(newer, b).search("shared", max_results=1)
    pack = tmp_path / "pack.sqlite3"
    assert a.export(pack) == 2
    assert b.import_pack(pack) == (1, 0)
    shared = CachedProvider(FakeSearch(), b, mode="offline").search("shared", max_results=1)
    assert shared.hits[0].title == "Result 3.1"  # b's newer entry was kept
    with pytest.raises(SearchError):
        a.export(pack)  # never overwrites a file


def test_two_processes_write_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    code = (
        "import sys;"
        "from tests.support.fakes import FakeSearch;"
        "from pathlib import Path;"
        "from qwq_edge.search.cache import SearchCache, CachedProvider;"
        f"p = CachedProvider(FakeSearch(), SearchCache(Path({str(path)!r})));"
        "[p.search(f'{sys.argv[1]} {i}', max_results=1) for i in range(150)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, tag], cwd=REPO) for tag in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert SearchCache(path).stats().entries == 300


def test_corrupt_cache_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    cache = SearchCache(path)
    assert cache.notice and "moved to" in cache.notice
    assert [p for p in tmp_path.iterdir() if ".bad-" in p.name]
    CachedProvider(FakeSearch(), cache).search("q", max_results=1)
    assert cache.stats().entries == 1
