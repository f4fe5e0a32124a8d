"""The SearXNG provider against a real local HTTP server speaking SearXNG's JSON API:
results mapped to hits, and every way a SearXNG instance (or what stands in front of it)
fails turned into one sentence of the right kind, with no password in it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.errors import SearchError
from qwq_edge.search.base import SearchResponse, timeout_message
from qwq_edge.search.cache import CachedProvider, SearchCache
from qwq_edge.search.searxng import SearxngProvider
from tests.support.searxng_server import DEFAULT_RESULTS, SearxngServer, huge_results

PASSWORD = "secret"


@pytest.fixture
def searxng() -> Iterator[SearxngServer]:
    with SearxngServer() as server:
        yield server


def make(url: str | None, **kw: object) -> SearxngProvider:
    options: dict[str, object] = {"timeout": 5.0, "max_bytes": 2_000_000, **kw}
    return SearxngProvider(url, **options)  # type: ignore[arg-type]


def fails(provider: SearxngProvider, kind: str, query: str = "world cup") -> str:
    """The message of the error the search raises, checked to be of ``kind`` and fit to
    show: one line, no traceback, no exception dump, no password."""
    with pytest.raises(SearchError) as info:
        provider.search(query, max_results=3)
    message = str(info.value)
    assert info.value.kind == kind, message
    assert "\n" not in message and "Traceback" not in message
    assert "Pool(" not in message and "Error(" not in message  # no requests/urllib3 repr
    assert PASSWORD not in message
    assert 20 < len(message) < 300
    return message


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


# -- a search that works ------------------------------------------------------------------


def test_results_become_web_hits_capped_at_max_results(searxng: SearxngServer) -> None:
    response = make(searxng.url).search("who won the 2022 world cup", max_results=2)
    assert isinstance(response, SearchResponse)
    assert response.provider == "searxng" and response.query == "who won the 2022 world cup"
    assert [h.url for h in response.hits] == [
        "https://example.com/world-cup-2022",
        "https://en.wikipedia.org/wiki/2022_FIFA_World_Cup_final",
    ]
    first = response.hits[0]
    assert first.title == "Argentina win the 2022 FIFA World Cup"
    assert first.content.startswith("Argentina won the 2022 FIFA World Cup, beating France")
    assert first.score == 4.5 and first.origin == "web"
    assert all(h.origin == "web" for h in response.hits)
    # raw is SearXNG's whole payload (answers, suggestions ... kept), and nothing was cut
    assert response.raw["query"] == "who won the 2022 world cup"
    assert len(response.raw["results"]) == len(DEFAULT_RESULTS)
    assert response.raw["suggestions"] == ["2022 world cup final score"]
    assert response.cut == 0


def test_the_request_is_a_json_search_a_limiter_lets_through(searxng: SearxngServer) -> None:
    make(searxng.url).search("gold price", max_results=5)
    (request,) = searxng.requests
    assert request["path"] == "/search"
    assert request["params"] == {"q": "gold price", "format": "json"}  # no engines= unasked
    headers = {k.lower(): v for k, v in request["headers"].items()}
    # SearXNG's bot detection blocks "python-requests/…", and an Accept without text/html
    assert headers["user-agent"].startswith("qwq-edge/")
    assert "text/html" in headers["accept"] and headers["accept-language"]
    assert "authorization" not in headers


def test_engines_are_passed_and_honoured(searxng: SearxngServer) -> None:
    provider = make(searxng.url, engines=" wikipedia , brave ")
    response = provider.search("final", max_results=10)
    assert searxng.requests[0]["params"]["engines"] == "wikipedia,brave"
    assert [h.url for h in response.hits] == [
        "https://en.wikipedia.org/wiki/2022_FIFA_World_Cup_final",
        "https://example.org/final-numbers",
    ]


def test_results_without_a_url_are_skipped_and_odd_fields_tolerated(
    searxng: SearxngServer,
) -> None:
    odd: list[Any] = [
        {"title": "no url at all", "content": "x", "engine": "a"},
        {"title": "empty url", "url": "  ", "content": "x", "engine": "a"},
        "not even an object",
        {"url": "https://example.com/untitled", "content": None, "score": "high"},
        {"title": "ok", "url": "https://example.com/ok", "content": "fine", "score": True},
    ]
    searxng.behaviour.results = odd
    response = make(searxng.url).search("q", max_results=10)
    assert [(h.title, h.url, h.content, h.score) for h in response.hits] == [
        ("https://example.com/untitled", "https://example.com/untitled", "", None),
        ("ok", "https://example.com/ok", "fine", None),
    ]


@pytest.mark.parametrize("path", ["/", "/search", "/searxng/"])
def test_the_search_path_is_found_from_the_base_url(searxng: SearxngServer, path: str) -> None:
    response = make(searxng.url + path).search("q", max_results=1)
    assert len(response.hits) == 1
    expected = "/searxng/search" if path.startswith("/searxng") else "/search"
    assert searxng.requests[-1]["path"] == expected


def test_zero_results_is_a_valid_answer(searxng: SearxngServer) -> None:
    searxng.behaviour.results = []
    response = make(searxng.url).search("xyzzy plugh", max_results=5)
    assert response.hits == () and response.raw["results"] == []


def test_a_password_in_the_url_is_sent_as_basic_auth(searxng: SearxngServer) -> None:
    searxng.behaviour.auth = ("user", PASSWORD)
    response = make(searxng.url_with_login("user", PASSWORD)).search("q", max_results=1)
    assert len(response.hits) == 1
    bad = make(searxng.url_with_login("user", "wrong-" + PASSWORD))
    message = fails(bad, "auth")
    assert "401" in message and "http://***@127.0.0.1" in message
    assert "check the user and password" in message
    assert "put them in searxng_url" in fails(make(searxng.url), "auth")


# -- failures -----------------------------------------------------------------------------


def test_without_a_url_searxng_is_unavailable_and_says_how_to_fix_it() -> None:
    for url in (None, "", "   "):
        provider = make(url)
        reason = provider.unavailable()
        assert reason is not None and "\n" not in reason
        assert "searxng_url" in reason and "QWQ_EDGE_SEARXNG_URL" in reason
        assert "http://127.0.0.1:8888" in reason
        assert fails(provider, "config") == reason


@pytest.mark.parametrize("url", ["127.0.0.1:8888", "ftp://host/", "http://", "http://h:99999"])
def test_a_url_that_is_not_http_is_unavailable(url: str) -> None:
    provider = make(url)
    reason = provider.unavailable()
    assert reason is not None and "is not an http:// or https:// URL" in reason
    assert fails(provider, "config") == reason


def test_a_configured_url_is_available(searxng: SearxngServer) -> None:
    assert make(searxng.url).unavailable() is None
    assert make(searxng.url_with_login("user", PASSWORD)).unavailable() is None


def test_a_closed_port_names_the_url_and_is_not_a_network_failure() -> None:
    url = f"http://user:{PASSWORD}@127.0.0.1:{closed_port()}"
    message = fails(make(url), "server")
    assert message.startswith("nothing answers at SearXNG at http://***@127.0.0.1:"), message
    assert "connection refused" in message and "network" not in message


def test_a_closed_port_does_not_switch_the_cache_to_offline(tmp_path: Path) -> None:
    cache = SearchCache(tmp_path / "cache.sqlite3")
    provider = CachedProvider(make(f"http://127.0.0.1:{closed_port()}"), cache)
    with pytest.raises(SearchError) as info:
        provider.search("q", max_results=3)
    assert info.value.kind == "server" and "127.0.0.1" in str(info.value)
    assert provider.mode == "online" and not provider.went_offline


Setup = Callable[[SearxngServer], None]


def _html(s: SearxngServer) -> None:
    s.behaviour.html = True


def _no_json(s: SearxngServer) -> None:
    s.behaviour.json_enabled = False


def _status(code: int, headers: dict[str, str] | None = None) -> Setup:
    def setup(s: SearxngServer) -> None:
        s.behaviour.status = code
        s.behaviour.headers = headers or {}

    return setup


def _body(data: bytes, content_type: str = "application/json") -> Setup:
    def setup(s: SearxngServer) -> None:
        s.behaviour.body = data
        s.behaviour.content_type = content_type

    return setup


CASES: list[tuple[str, Setup, str, list[str]]] = [
    ("html", _html, "server", ["HTML page, not JSON", "search: formats: [html, json]"]),
    ("403", _no_json, "forbidden", ["(403)", "search.formats", "settings.yml", "json"]),
    ("429", _status(429, {"Retry-After": "30"}), "rate", ["(429)", "try again in 30 s"]),
    ("429-bare", _status(429), "rate", ["(429)", "try again later", "limiter"]),
    ("500", _status(500), "server", ["HTTP 500", "try again later"]),
    ("503", _status(503, {"Retry-After": "120"}), "server", ["HTTP 503", "in 120 s"]),
    ("400", _status(400), "bad_request", ["rejected the request (HTTP 400)"]),
    ("404", _status(404), "bad_request", ["(404)", "base URL"]),
    ("garbage", _body(b"Internal error: see log"), "server", ["not JSON"]),
    ("html-as-json", _body(b"  <html>login</html>"), "server", ["HTML page, not JSON"]),
    ("list", _body(b"[1, 2]"), "server", ["not a search result", "a list"]),
    ("no-results", _body(b'{"query": "q"}'), "server", ["without a results list"]),
    ("bad-results", _body(b'{"results": {"a": 1}}'), "server", ["without a results list"]),
]


@pytest.mark.parametrize(
    ("setup", "kind", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_failure_is_one_sentence_of_its_kind_without_the_password(
    searxng: SearxngServer, setup: Setup, kind: str, says: list[str]
) -> None:
    setup(searxng)
    message = fails(make(searxng.url_with_login("user", PASSWORD)), kind)
    assert message.startswith("SearXNG at http://***@127.0.0.1:"), message
    for part in says:
        assert part in message, (part, message)
    assert searxng.requests  # the server was asked: these are its answers, not guesses


def test_a_hung_server_is_stopped_at_the_deadline(searxng: SearxngServer) -> None:
    searxng.behaviour.delay = 10.0
    provider = make(searxng.url_with_login("user", PASSWORD), timeout=1.0)
    t0 = time.monotonic()
    assert fails(provider, "timeout") == timeout_message(1.0)
    assert time.monotonic() - t0 < 2.5


def test_a_server_stalling_mid_body_is_stopped_at_the_deadline(searxng: SearxngServer) -> None:
    searxng.behaviour.stall = 10.0  # headers and ten bytes, then nothing
    provider = make(searxng.url, timeout=1.0)
    t0 = time.monotonic()
    assert fails(provider, "timeout") == timeout_message(1.0)
    assert time.monotonic() - t0 < 2.5


def test_a_huge_body_is_cut_at_the_cap_and_said(searxng: SearxngServer) -> None:
    searxng.behaviour.results = huge_results(4, 300_000)
    response = make(searxng.url, max_bytes=100_000).search("big", max_results=4)
    assert response.cut == 100_000
    assert response.hits and response.hits[0].title == "Big 0"
    assert sum(len(h.content) for h in response.hits) < 100_000
    assert len(json.dumps(response.raw)) < 110_000


def test_a_huge_html_page_is_still_html_not_an_empty_answer(searxng: SearxngServer) -> None:
    # Cut at the cap, an HTML 200 is "mended" into {"results": []} by the session; the
    # content type still tells it was no search answer.
    searxng.behaviour.body = b"<html>" + b"<p>sign in</p>" * 20_000
    searxng.behaviour.content_type = "text/html"
    assert "HTML page" in fails(make(searxng.url, max_bytes=10_000), "server")


def test_no_results_with_failed_engines_names_them(searxng: SearxngServer) -> None:
    searxng.behaviour.results = []
    searxng.behaviour.unresponsive = [
        ["google", "Suspended: CAPTCHA"],
        ["duckduckgo", "timeout"],
    ]
    message = fails(make(searxng.url), "server")
    assert "returned no results" in message
    assert "google (Suspended: CAPTCHA), duckduckgo (timeout)" in message


def test_failed_engines_do_not_matter_when_others_found_results(searxng: SearxngServer) -> None:
    searxng.behaviour.unresponsive = [["google", "Suspended: CAPTCHA"]]
    response = make(searxng.url).search("q", max_results=3)
    assert len(response.hits) == 3
    assert response.raw["unresponsive_engines"] == [["google", "Suspended: CAPTCHA"]]


def test_a_failed_search_is_not_cached(searxng: SearxngServer, tmp_path: Path) -> None:
    cache = SearchCache(tmp_path / "cache.sqlite3")
    provider = CachedProvider(make(searxng.url), cache)
    searxng.behaviour.results = []
    searxng.behaviour.unresponsive = [["google", "timeout"]]
    with pytest.raises(SearchError):
        provider.search("q", max_results=3)
    searxng.behaviour.results = list(DEFAULT_RESULTS)
    searxng.behaviour.unresponsive = []
    assert len(provider.search("q", max_results=3).hits) == 3  # asked again, not cached
    assert len(searxng.requests) == 2
