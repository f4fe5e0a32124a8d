#!/usr/bin/env python3
"""Measure the app: time from launch to an interactive prompt, and showing and scrolling a
20-turn session. (Decode speed in the TUI against headless is in `qwq-edge bench`.)

    .venv/bin/python scripts/measure_tui.py
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from qwq_edge.bench.fixtures import NoSearch  # noqa: E402
from qwq_edge.engine.llama import LlamaEngine  # noqa: E402
from qwq_edge.errors import ModelLoadError  # noqa: E402
from qwq_edge.events import (  # noqa: E402
    AnswerDelta,
    FinalAnswer,
    Finished,
    QuestionAsked,
    SearchHit,
    SessionStarted,
    Source,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.paths import test_models_dir  # noqa: E402
from qwq_edge.settings import Settings  # noqa: E402
from qwq_edge.store.journal import Journal  # noqa: E402
from qwq_edge.store.recorder import Recorder  # noqa: E402
from qwq_edge.tui.app import QwqEdgeApp  # noqa: E402

QUESTION = "Write a long story about a lighthouse keeper and a storm."


async def launch(model: Path) -> tuple[float, float]:
    from qwq_edge.runtime import load_engine

    settings = Settings(model=str(model), n_ctx=4096)
    t0 = time.perf_counter()
    app = QwqEdgeApp(settings, engine_loader=load_engine, provider_factory=lambda s: NoSearch())  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        interactive = time.perf_counter() - t0  # mounted, prompt focused, accepting keys
        while app.engine is None:
            await pilot.pause(0.02)
        ready = time.perf_counter() - t0
    return interactive, ready


def twenty_turns(journal: Journal) -> str:
    rec = Recorder(journal)
    sid = "twenty-turns"
    rec(SessionStarted(sid, "question 1", "m.gguf", {"prompt_format": "seed"}))
    n = 0
    for turn in range(1, 21):
        rec(QuestionAsked(turn, f"question {turn}: what happened next?", seed=1))
        for _ in range(200):
            rec(ThinkingDelta(" thinking"))
        for call in (1, 2):
            rec(ToolCall(turn * 10 + call, "web_search", {"query": f"q{turn}.{call}"}, "{}", True))
            hits = tuple(
                SearchHit(f"T{i}", f"https://e.com/{turn}/{i}", "text " * 60) for i in range(5)
            )
            srcs = tuple(Source(n + i + 1, h.title, h.url) for i, h in enumerate(hits))
            n += 5
            rec(ToolResult(turn * 10 + call, "tavily", f"q{turn}.{call}", hits, srcs, cached=True))
        for _ in range(80):
            rec(AnswerDelta(" **word** [1]"))
        rec(FinalAnswer("answer [1]", (Source(1, "T0", "https://e.com/1/0"),)))
        rec(Finished("eos", turn=turn))
    return sid


async def frames(tmp: Path) -> tuple[float, float]:
    journal = Journal(tmp / "frames.sqlite3")
    sid = twenty_turns(journal)

    def no_model(settings: Settings) -> LlamaEngine:
        raise ModelLoadError("no model needed to show a journaled session")

    app = QwqEdgeApp(Settings(), journal=journal, engine_loader=no_model)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        t0 = time.perf_counter()
        await app.show_session(sid)
        await pilot.pause()
        load = time.perf_counter() - t0
        conv = app.query_one("#conversation")
        times = []
        conv.scroll_home(animate=False)
        await pilot.pause()
        for _ in range(30):
            t0 = time.perf_counter()
            conv.scroll_page_down(animate=False)
            await pilot.pause()
            times.append(time.perf_counter() - t0)
        app.exit()
    return load, statistics.median(times)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    model = test_models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    with tempfile.TemporaryDirectory() as d:
        print("measuring launch …", file=sys.stderr)
        interactive, ready = asyncio.run(launch(model))
        print("measuring frames …", file=sys.stderr)
        load, frame = asyncio.run(frames(Path(d)))
    rows = [
        ("launch → interactive prompt, s", f"{interactive:.2f}", f"model ready at {ready:.2f} s"),
        ("showing a 20-turn session from the journal, s", f"{load:.2f}", "40 tool cards"),
        ("frame time scrolling that session, ms", f"{frame * 1000:.1f}", "median, 30 pages"),
    ]
    print("| measure | value | note |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
