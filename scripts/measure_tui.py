#!/usr/bin/env python3
"""Measure the app: decode speed in the TUI vs headless (same model, prompt, seed, process),
time from launch to an interactive prompt, and frame time with a 20-turn session loaded.

    .venv/bin/python scripts/measure_tui.py [--runs 3]
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

from qwq_edge.agent.loop import Agent  # noqa: E402
from qwq_edge.agent.runner import EngineThread  # noqa: E402
from qwq_edge.config import Sampling, Settings  # noqa: E402
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
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.paths import test_models_dir  # noqa: E402
from qwq_edge.store.journal import Journal  # noqa: E402
from qwq_edge.store.recorder import Recorder  # noqa: E402
from qwq_edge.tui.app import QwqEdgeApp  # noqa: E402

QUESTION = "Write a long story about a lighthouse keeper and a storm."


class NoSearch:
    name = "none"

    def unavailable(self) -> str | None:
        return "search off for this measurement"

    def search(self, query: str, *, max_results: int) -> object:
        raise AssertionError


def headless(model: Path, settings: Settings, log: Path) -> float:
    """As `qwq-edge ask` runs it: load and generate on one engine thread. The second of two
    turns is measured (warm), as in the TUI."""
    runner = EngineThread()

    def work() -> float:
        engine = LlamaEngine(model, n_ctx=4096, log_path=log)
        rates = []
        for _ in range(2):
            n = secs = 0.0
            for e in Agent(engine, NoSearch(), settings).ask(QUESTION):  # type: ignore[arg-type]
                if isinstance(e, Stats) and e.phase == "generate":
                    n += e.tokens_generated - 1
                    secs += e.gen_seconds
            engine._llm.reset()
            rates.append(n / secs)
        engine.close()
        return rates[-1]

    try:
        return runner.call(work)
    finally:
        runner.shutdown()


async def in_tui(model: Path, settings: Settings, log: Path) -> float:
    loader = lambda s: LlamaEngine(model, n_ctx=4096, log_path=log)  # noqa: E731
    app = QwqEdgeApp(settings, engine_loader=loader, provider_factory=lambda s: NoSearch())  # type: ignore[arg-type, return-value]
    async with app.run_test(size=(120, 40)) as pilot:
        while app.engine is None:
            await pilot.pause(0.05)
        for _ in range(2):
            app.agent = None  # each question a new session, as in `ask`
            if app.engine is not None:
                app.engine._llm.reset()  # type: ignore[attr-defined]
            await pilot.click("#prompt")
            await pilot.press(*QUESTION, "enter")
            await pilot.pause(0.2)
            while app.running:
                await pilot.pause(0.1)
    n, secs = app._gen
    return n / secs


async def launch(model: Path) -> tuple[float, float]:
    from qwq_edge.agent.factory import load_engine

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--decode-only", action="store_true", help="only TUI vs headless")
    args = parser.parse_args()
    model = test_models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        settings = Settings(max_tokens=256, max_searches=0, sampling=Sampling(seed=5), n_ctx=4096)
        log = tmp / "llama.log"
        head, tui = [], []
        for _ in range(args.runs):
            print("measuring headless vs TUI …", file=sys.stderr)
            head.append(headless(model, settings, log))
            tui.append(asyncio.run(in_tui(model, settings, log)))
            print(f"  headless {head[-1]:.2f} tok/s, TUI {tui[-1]:.2f} tok/s", file=sys.stderr)
        if "--decode-only" in sys.argv:
            print(f"ratio {statistics.median(tui) / statistics.median(head):.3f}")
            return 0
        print("measuring launch …", file=sys.stderr)
        interactive, ready = asyncio.run(launch(model))
        print("measuring frames …", file=sys.stderr)
        load, frame = asyncio.run(frames(tmp))
    ratio = statistics.median(tui) / statistics.median(head)
    goal = "met" if ratio >= 0.95 else "not met"
    rows = [
        ("decode tok/s, headless (`ask`)", spread(head), "1.00"),
        ("decode tok/s, in the TUI", spread(tui), f"{ratio:.3f} (≥ 0.95: {goal})"),
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
