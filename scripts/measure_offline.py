#!/usr/bin/env python3
"""Measure the offline layer: cache lookups at 100k entries, listing 10k sessions, replaying a
5-search session, and what journaling costs the decode speed (same process, same model).

    .venv/bin/python scripts/measure_offline.py [--runs 5]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qwq_edge.agent.loop import Agent
from qwq_edge.cli.render import TextRenderer
from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    Finished,
    QuestionAsked,
    SearchHit,
    SessionStarted,
    Source,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.paths import test_models_dir
from qwq_edge.runtime import load_engine
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.cache import CachedProvider, SearchCache, _encode, cache_key
from qwq_edge.settings import Sampling, Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Fixed:
    name = "tavily"

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        raise AssertionError("a cache hit was expected")


def cache_lookups(tmp: Path) -> list[list[str]]:
    cache = SearchCache(tmp / "cache.sqlite3")
    hit = SearchHit("A title", "https://example.com/x", "content " * 120, 0.9)
    payload = _encode(SearchResponse("q", (hit,) * 5, "tavily"))
    params = {"search_depth": "basic", "max_results": 5}
    queries = [f"query number {i} about topic {i % 977}" for i in range(100_000)]
    rows = [
        (cache_key("tavily", q, params), "tavily", q, q, "{}", payload, time.time())
        for q in queries
    ]
    conn = cache._conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO entries (key, provider, query, norm_query, params, response, fetched_at)"
        " VALUES (?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    provider = CachedProvider(Fixed(), cache, params={"search_depth": "basic"})
    times = []
    for q in random.Random(1).sample(queries, 2000):
        t0 = time.perf_counter()
        provider.search(q, max_results=5)
        times.append((time.perf_counter() - t0) * 1e6)
    return [
        [
            "cache lookup at 100k entries (hit, decoded), µs",
            f"{statistics.median(times):.0f}",
            f"p99 {pct(times, 0.99):.0f}",
        ]
    ]


def five_search_events(sid: str) -> list:  # type: ignore[type-arg]
    events: list = [  # type: ignore[type-arg]
        SessionStarted(
            sid, "A question that needed five searches", "m.gguf", {"prompt_format": "seed"}
        ),
        QuestionAsked(1, "A question that needed five searches", seed=1),
    ]
    n = 0
    for call in range(1, 6):
        events += [ThinkingDelta(" thought") for _ in range(400)]
        events.append(ToolCall(call, "web_search", {"query": f"q{call}"}, "{}", True))
        hits = tuple(
            SearchHit(f"T{call}.{i}", f"https://e.com/{call}/{i}", "text " * 200) for i in range(5)
        )
        srcs = tuple(Source(n + i + 1, h.title, h.url) for i, h in enumerate(hits))
        n += 5
        events.append(ToolResult(call, "tavily", f"q{call}", hits, srcs, searches_left=5 - call))
        events.append(Stats("generate", 300, 1000, 400, 1.0, 8.0, 3000, 16384))
    events += [AnswerDelta(" word [1]") for _ in range(500)]
    events += [
        FinalAnswer("answer [1]", (Source(1, "T1.0", "https://e.com/1/0"),)),
        Finished("eos"),
    ]
    return events


def journal_scale(tmp: Path) -> list[list[str]]:
    journal = Journal(tmp / "journal.sqlite3")
    conn = journal._conn
    conn.execute("BEGIN")
    now = time.time()
    conn.executemany(
        "INSERT INTO sessions (id, created, updated, title, model, settings, status, searches)"
        " VALUES (?, ?, ?, ?, 'm.gguf', '{}', 'done', 3)",
        [(f"s{i:05d}", now - i, now - i, f"question {i}") for i in range(10_000)],
    )
    conn.execute("COMMIT")
    listing = []
    for _ in range(20):
        t0 = time.perf_counter()
        journal.sessions(limit=50)
        listing.append((time.perf_counter() - t0) * 1e3)
    full = []
    for _ in range(5):
        t0 = time.perf_counter()
        journal.sessions(limit=10_000)
        full.append((time.perf_counter() - t0) * 1e3)
    rec = Recorder(journal)
    events = five_search_events("five-searches")
    t0 = time.perf_counter()
    for e in events:
        rec(e)
    write_us = (time.perf_counter() - t0) / len(events) * 1e6
    replay = []
    for _ in range(5):
        t0 = time.perf_counter()
        render = TextRenderer(out=io.StringIO(), color=False, echo_questions=True)
        for e in journal.events("five-searches"):
            render(e)
        replay.append((time.perf_counter() - t0) * 1e3)
    return [
        [
            "`sessions` listing at 10k sessions (newest 50), ms",
            f"{statistics.median(listing):.2f}",
            "",
        ],
        ["listing all 10k sessions, ms", f"{statistics.median(full):.1f}", ""],
        [
            f"recording replay of a 5-search session ({len(events)} events), ms",
            f"{statistics.median(replay):.0f}",
            "",
        ],
        ["journal write per event (committed), µs", f"{write_us:.0f}", ""],
    ]


def decode_overhead(tmp: Path, runs: int) -> list[list[str]]:
    model = test_models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    engine = load_engine(Settings(n_ctx=4096), path=model, log_path=tmp / "llama.log")
    journal = Journal(tmp / "overhead.sqlite3")
    settings = Settings(max_tokens=256, max_searches=0, sampling=Sampling(seed=5))
    rates: dict[str, list[float]] = {"plain": [], "journaled": []}
    for _ in range(runs):
        for mode in ("plain", "journaled"):
            agent = Agent(engine, None, settings)
            rec = Recorder(journal) if mode == "journaled" else None
            render = TextRenderer(out=io.StringIO(), color=False)
            n = secs = 0.0
            for e in agent.ask("Write a long story about a lighthouse keeper and a storm."):
                if rec is not None:
                    rec(e)
                render(e)
                if isinstance(e, Stats) and e.phase == "generate":
                    n += e.tokens_generated - 1
                    secs += e.gen_seconds
            rates[mode].append(n / secs)
            engine._llm.reset()
    engine.close()
    plain, journaled = statistics.median(rates["plain"]), statistics.median(rates["journaled"])
    ratio = journaled / plain
    return [
        ["decode tok/s, events rendered only", f"{plain:.2f}", "1.00"],
        [
            "decode tok/s, every event journaled",
            f"{journaled:.2f}",
            f"{ratio:.3f} (≥ 0.99: {'met' if ratio >= 0.99 else 'not met'})",
        ],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, step in (
            ("cache", lambda: cache_lookups(tmp)),
            ("journal", lambda: journal_scale(tmp)),
            ("decode overhead", lambda: decode_overhead(tmp, args.runs)),
        ):
            print(f"measuring {name} …", file=sys.stderr)
            with redirect_stdout(io.StringIO()):
                rows += step()
    print(f"machine: {os.cpu_count()} CPUs\n")
    print("| measure | median | note |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
