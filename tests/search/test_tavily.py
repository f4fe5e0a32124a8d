"""The Tavily provider against local servers that misbehave (issue 13): a body dripped one
byte at a time, a response too large to keep, a 429 that says when to come back."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qwq_edge import runtime
from qwq_edge.agent.loop import Agent
from qwq_edge.agent.searching import Searcher
from qwq_edge.agent.state import Controls
from qwq_edge.errors import SearchError
from qwq_edge.events import Event, Finished, ToolResult
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.cache import CachedProvider, SearchCache
from qwq_edge.search.tavily import TavilyProvider
from qwq_edge.settings import Settings
from tests.support.drip_server import DripServer
from tests.support.scripted_engine import ScriptedEngine
from tests.support.tavily_server import TavilyServer

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'


def _tokenize(text: str, trusted: bool) -> list[int]:
    return [ord(c) for c in text]


def _text(tokens: list[int]) -> str:
    return "".join(chr(t) for t in tokens)


def test_a_dripping_server_is_stopped_at_the_whole_search_deadline() -> None:
    with DripServer(interval=0.2, duration=30) as drip:
        provider = TavilyProvider("tvly-test", base_url=drip.url, timeout=1.0)
        t0 = time.monotonic()
        with pytest.raises(SearchError) as info:
            provider.search("anything", max_results=3)
        elapsed = time.monotonic() - t0
    assert info.value.kind == "timeout"
    assert str(info.value) == "the search did not finish within 1 s (search_timeout)"
    assert elapsed < 2.5  # a per-read timeout alone would wait for the whole drip


class _Stuck:
    """A provider that never answers (the deadline must not depend on the provider)."""

    name = "stuck"

    def __init__(self) -> None:
        self.release = threading.Event()

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        self.release.wait(30)
        return SearchResponse(query, (), self.name)


def test_the_searcher_holds_any_provider_to_the_deadline() -> None:
    stuck = _Stuck()
    searcher = Searcher(stuck, Settings(search_timeout=0.5), _tokenize)
    searcher.check()
    t0 = time.monotonic()
    result, body = searcher.run(searcher.budget(), 1, {"query": "q"}, None)
    stuck.release.set()
    assert time.monotonic() - t0 < 1.5
    assert result.error_kind == "timeout" and "within 0.5 s" in _text(body)


def test_cancel_interrupts_a_running_search(isolated_home: Path) -> None:
    with DripServer(interval=0.2, duration=30) as drip:
        settings = Settings(tavily_api_key="tvly-test", tavily_url=drip.url, search_timeout=30)
        engine = ScriptedEngine(["<tool_call>", CALL % "gold", "Never reached.<|im_end|>"])
        agent = Agent(engine, runtime.make_provider(settings), settings, today=date(2026, 1, 1))
        controls = Controls()
        events: list[Event] = []
        reason: list[str] = []
        turn = threading.Thread(
            target=lambda: reason.append(
                runtime.run_turn(agent, "Gold?", events.append, controls=controls)
            )
        )
        turn.start()
        deadline = time.monotonic() + 10
        while drip.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the search is under way, dripping
        t0 = time.monotonic()
        controls.cancel()  # what Ctrl+C and Esc do
        turn.join(5)
        stopped_in = time.monotonic() - t0
    assert not turn.is_alive() and stopped_in < 1.0
    assert reason == ["cancelled"]
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.error_kind == "cancelled"
    assert isinstance(events[-1], Finished) and events[-1].reason == "cancelled"


def test_a_huge_response_is_cut_when_read_and_said(tavily: TavilyServer, tmp_path: Path) -> None:
    big = "word " * 600_000  # 3 MB per result
    tavily.behaviour.results = [
        {"title": f"Big {i}", "url": f"https://example.com/{i}", "content": big, "score": 0.5}
        for i in range(4)
    ]
    cache = SearchCache(tmp_path / "cache.sqlite3")
    inner = TavilyProvider("tvly-test", base_url=tavily.url, max_bytes=100_000)
    provider = CachedProvider(inner, cache)
    response = provider.search("big", max_results=4)
    assert response.cut == 100_000
    assert response.hits and response.hits[0].title == "Big 0"
    assert sum(len(h.content) for h in response.hits) < 100_000
    assert cache.stats().bytes < 250_000  # hits and raw payload, each under the cap
    again = CachedProvider(None, cache, mode="offline").search("big", max_results=4)
    assert again.cut == 100_000  # the cache remembers it was cut

    searcher = Searcher(provider, Settings(), _tokenize)
    searcher.check()
    result, body = searcher.run(searcher.budget(), 1, {"query": "big"}, None)
    assert result.cut == 100_000 and result.error is None
    assert "longer than 100,000 bytes and was cut there" in _text(body)


def test_a_429_says_how_long_to_wait(tavily: TavilyServer) -> None:
    tavily.behaviour.status = 429
    tavily.behaviour.headers = {"Retry-After": "30"}
    provider = TavilyProvider("tvly-test", base_url=tavily.url)
    with pytest.raises(SearchError) as info:
        provider.search("q", max_results=2)
    assert info.value.kind == "rate"
    assert str(info.value) == "Tavily usage limit reached (429); try again in 30 s"
    tavily.behaviour.headers = {}
    with pytest.raises(SearchError, match="wait or raise your plan"):
        provider.search("q", max_results=2)


def test_a_password_in_the_server_url_never_reaches_a_message() -> None:
    provider = TavilyProvider("tvly-test", base_url="http://user:PASS@127.0.0.1:9")
    text: Any = provider._scrub("failed for http://user:PASS@127.0.0.1:9/search (PASS)")
    assert "PASS" not in text and "http://***@127.0.0.1:9/search" in text


def test_a_url_with_nothing_listening_is_named_and_does_not_go_offline(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    url = f"http://user:PASS@127.0.0.1:{port}"
    cache = SearchCache(tmp_path / "cache.sqlite3")
    provider = CachedProvider(TavilyProvider("tvly-test", base_url=url, timeout=5), cache)
    with pytest.raises(SearchError) as info:
        provider.search("q", max_results=2)
    message = str(info.value)
    assert info.value.kind == "server", message
    assert f"nothing answers at http://***@127.0.0.1:{port}" in message, message
    assert "PASS" not in message and "network" not in message and "\n" not in message
    assert provider.mode == "online" and not provider.went_offline
