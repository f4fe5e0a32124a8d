#!/usr/bin/env python3
"""Measure the headless core against baselines taken in the same process, on the same model.

    .venv/bin/python scripts/measure_core.py [--model PATH] [--runs 5] [--tokens 256]

Prints a Markdown table (medians, min–max, ratios). Search payloads come from a fixture,
so nothing touches the network. The machines are shared and noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.tools import ToolRegistry
from qwq_edge.config import Sampling, Settings
from qwq_edge.engine.base import Generation
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.engine.markers import MarkerScanner
from qwq_edge.events import SearchHit, Stats
from qwq_edge.paths import test_models_dir
from qwq_edge.search.base import SearchResponse

FIXTURE = [
    SearchHit(
        f"Result {i}: the 2022 FIFA World Cup final",
        f"https://example.com/{i}",
        "Argentina won the 2022 FIFA World Cup final against France on penalties after a 3-3 "
        "draw in Lusail, Qatar, on 18 December 2022. Messi scored twice; Mbappe a hat-trick. " * 3,
    )
    for i in range(1, 6)
]


class FixtureSearch:
    name = "fixture"

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        return SearchResponse(query, tuple(FIXTURE[:max_results]), self.name)


def med(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}–{max(values):.2f})"


def decode(engine: LlamaEngine, runs: int, tokens: int) -> list[list[str]]:
    """Agent loop vs a bare Llama.generate loop: same prompt, seed, sampling, process."""
    sampling = Sampling(seed=7)
    question = "Write a long, detailed story about a lighthouse keeper and a storm."
    settings = Settings(max_tokens=tokens, max_searches=0, sampling=sampling)
    llm = engine._llm
    ours, raw = [], []
    for _ in range(runs):
        agent = Agent(engine, None, settings)
        events = list(agent.ask(question))
        gen = [e for e in events if isinstance(e, Stats) and e.phase == "generate"]
        n = sum(e.tokens_generated for e in gen)
        secs = sum(e.gen_seconds for e in gen)
        ours.append((n - len(gen)) / secs)
        prompt = agent.context[: gen[0].tokens_reused + gen[0].tokens_evaluated]
        llm.reset()
        llm.set_seed(sampling.seed + 1)
        count, t_first = 0, 0.0
        for _ in llm.generate(
            prompt,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            temp=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
        ):
            count += 1
            if count == 1:
                t_first = time.perf_counter()
            if count >= n:
                break
        raw.append((count - 1) / (time.perf_counter() - t_first))
        llm.reset()
    ratio = statistics.median(ours) / statistics.median(raw)
    goal = "met" if ratio >= 0.97 else "not met"
    return [
        ["decode tok/s, bare `Llama.generate` loop", med(raw), "1.00", ""],
        ["decode tok/s, qwq-edge agent loop", med(ours), f"{ratio:.3f}", f"≥ 0.97: {goal}"],
    ]


class Recording:
    """Wraps the engine and keeps every call's context and outcome."""

    def __init__(self, engine: LlamaEngine) -> None:
        self.engine = engine
        self.calls: list[tuple[list[int], Generation]] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)

    @property
    def info(self) -> object:
        return self.engine.info

    def stream(self, context: list[int], result: Generation, **kw: object) -> object:
        self.calls.append((list(context), result))
        return self.engine.stream(context, result, **kw)  # type: ignore[arg-type]


def resume(engine: LlamaEngine, runs: int) -> list[list[str]]:
    """At each resume: tokens evaluated ÷ tokens not yet in the KV cache, the latter computed
    here from the token lists (after call i the cache holds its context plus every sampled
    token but the last), and resume time vs re-evaluating the whole context."""
    ratios, ours, scratch, appended_n, ctx_n = [], [], [], [], []
    for seed in range(runs):
        settings = Settings(
            min_searches=2, max_searches=2, max_tokens=64, sampling=Sampling(seed=seed)
        )
        rec = Recording(engine)
        agent = Agent(rec, FixtureSearch(), settings)  # type: ignore[arg-type]
        list(agent.ask("Who won the 2022 FIFA World Cup, and who scored in the final?"))
        timed = False
        for (ctx_a, gen_a), (ctx_b, gen_b) in zip(rec.calls, rec.calls[1:], strict=False):
            cached = ctx_a + gen_a.tokens[:-1]
            keep = 0
            for x, y in zip(cached, ctx_b, strict=False):
                if x != y:
                    break
                keep += 1
            keep = min(keep, len(ctx_b) - 1)
            appended = len(ctx_b) - keep
            ratios.append(gen_b.stats.tokens_evaluated / appended)
            if appended > 100 and not timed:  # a response block: against a full re-prefill
                timed = True
                ours.append(gen_b.stats.prompt_seconds)
                appended_n.append(appended)
                ctx_n.append(len(ctx_b))
                engine._llm.reset()
                t0 = time.perf_counter()
                engine._llm.eval(ctx_b)  # what a loop without KV reuse does at every search
                scratch.append(time.perf_counter() - t0)
                engine._llm.reset()
        engine._llm.reset()
    exact = all(r == 1.0 for r in ratios)
    speedup = statistics.median(scratch) / statistics.median(ours)
    return [
        [
            f"tokens evaluated ÷ tokens not in the KV cache ({len(ratios)} resumes)",
            med(ratios),
            "",
            f"exactly 1.00: {'met' if exact else 'not met'}",
        ],
        [
            f"resume wall s (appends of {min(appended_n)}–{max(appended_n)} tokens)",
            med(ours),
            f"{speedup:.1f}× faster",
            "",
        ],
        [
            f"re-evaluating the whole context from scratch ({min(ctx_n)}–{max(ctx_n)} tokens), s",
            med(scratch),
            "1.00",
            "",
        ],
    ]


def grammar(engine: LlamaEngine, runs: int) -> list[list[str]]:
    tools = ToolRegistry()
    gbnf = tools.grammar("seed")
    prompt = (
        "<|im_start|>system\nYou can search the web with web_search.<|im_end|>\n"
        "<|im_start|>user\nWhat is the population of Lisbon in 2025?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n"
    )
    ctx = engine.tokenize(prompt, trusted=True)
    with_g, without = [], []
    llm = engine._llm
    for seed in range(runs):
        gen = Generation()
        list(engine.stream(ctx, gen, sampling=Sampling(), seed=seed, max_tokens=64, grammar=gbnf))
        with_g.append((gen.stats.tokens_generated - 1) / gen.stats.gen_seconds)
        # the same number of tokens from the same context, sampled without the grammar
        llm.reset()
        llm.set_seed(seed)
        count, t_first = 0, 0.0
        for _ in llm.generate(ctx, top_k=40, top_p=0.95, min_p=0.0, temp=0.6):
            count += 1
            if count == 1:
                t_first = time.perf_counter()
            if count >= gen.stats.tokens_generated:
                break
        without.append((count - 1) / (time.perf_counter() - t_first))
        llm.reset()
    ratio = statistics.median(with_g) / statistics.median(without)
    return [
        ["tool-call JSON tok/s without grammar", med(without), "1.00", ""],
        [
            "tool-call JSON tok/s with grammar",
            med(with_g),
            f"{ratio:.2f}",
            "(only the ~30 JSON tokens)",
        ],
    ]


def stop_detection(engine: LlamaEngine) -> list[list[str]]:
    """µs per token spent finding stop markers, at 1k / 8k / 16k generated tokens."""
    text = (
        "Let me think about this step by step. The question asks about the final, so I "
        "should consider who played, who scored and what the sources say. "
    ) * 1500
    ids = engine.tokenize(text, trusted=False)[:16500]
    pieces = [engine.detokenize([t]) for t in ids]
    markers = [
        "<tool_call>",
        "</think>",
        "<tool_response>",
        "<|im_start|>",
        *ToolRegistry().call_markers(),
    ]
    naive_re = re.compile(r"<tool_call>(.*?)</tool_call>\s*$|</think>\s*$", re.S)
    rows = []
    ours_at: dict[int, float] = {}
    for at in (1000, 8000, 16000):
        scanner = MarkerScanner(markers)
        for p in pieces[:at]:
            scanner.feed(p)
        t0 = time.perf_counter()
        for p in pieces[at : at + 200]:
            scanner.feed(p)
        ours_at[at] = (time.perf_counter() - t0) / 200 * 1e6
        # seed-style: decode everything so far and regex-search it, on every token
        t0 = time.perf_counter()
        for k in range(at, at + 20):
            naive_re.search("".join(pieces[:k]))
        naive = (time.perf_counter() - t0) / 20 * 1e6
        rows.append(
            [
                f"stop detection µs/token at {at // 1000}k tokens",
                f"{ours_at[at]:.1f}",
                "",
                f"naive decode+regex: {naive:.0f}",
            ]
        )
    flat = ours_at[16000] / ours_at[1000]
    rows.append(
        [
            "stop detection 16k ÷ 1k",
            f"{flat:.2f}",
            "",
            f"flat (≤ 1.5): {'met' if flat <= 1.5 else 'not met'}",
        ]
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", type=Path, default=test_models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256)
    args = parser.parse_args()
    log = Path(tempfile.gettempdir()) / "qwq-edge-measure-llama.log"
    engine = LlamaEngine(args.model, n_ctx=4096, log_path=log)
    info = engine.info
    print(
        f"model: {Path(info.path).name} ({info.quant}), threads {info.threads}, "
        f"n_ctx {info.n_ctx}, runs {args.runs}\n"
    )
    rows = []
    for name, step in (
        ("decode", lambda: decode(engine, args.runs, args.tokens)),
        ("resume", lambda: resume(engine, args.runs)),
        ("grammar", lambda: grammar(engine, args.runs)),
        ("stop detection", lambda: stop_detection(engine)),
    ):
        print(f"measuring {name} …", file=sys.stderr)
        rows += step()
    print("| measure | median (min–max) | ratio | goal / note |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
