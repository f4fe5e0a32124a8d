"""``qwq-edge bench``: qwq-edge against llama-bench, a raw loop, the seed-style loop and the
naive create_completion loop, all in one process on the same model, prompt, seed and threads.

Figures are medians of several runs with min–max; goals are stated as met / not met.
Search payloads come from a fixture, so nothing touches the network.
"""

from __future__ import annotations

import asyncio
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qwq_edge import __version__
from qwq_edge.agent.loop import Agent
from qwq_edge.agent.tools import ToolRegistry
from qwq_edge.bench import loops
from qwq_edge.engine.base import Generation
from qwq_edge.engine.stops import MarkerScanner
from qwq_edge.events import AnswerDelta, Event, SearchHit, Stats, ThinkingDelta
from qwq_edge.models.fit import ModelShape
from qwq_edge.models.gguf import read_gguf
from qwq_edge.models.hardware import measure_ram_bandwidth
from qwq_edge.runtime import load_engine, run_turn
from qwq_edge.search.base import SearchResponse
from qwq_edge.settings import Sampling, Settings

STORY = "Write a long, detailed story about a lighthouse keeper and a storm."
RESEARCH = "Who won the 2022 FIFA World Cup, who scored in the final, and where was it played?"
SENTENCE = (
    "Argentina won the 2022 FIFA World Cup final against France on penalties after a 3-3 "
    "draw at Lusail Stadium in Qatar on 18 December 2022; Messi scored twice and Mbappe "
    "scored a hat-trick, and Argentina won the shoot-out 4-2. "
)

RESPONSE_MIN = 100  # appended tokens that mark a tool response (a marker or JSON is fewer)


@dataclass
class Row:
    metric: str
    loop: str
    median: float | None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    ratio: float | None = None  # against the row's baseline, measured in this run
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def cells(self) -> list[str]:
        def num(x: float | None) -> str:
            if x is None:
                return "–"
            return f"{x:.3g}" if abs(x) < 10 else f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.1f}"

        value = num(self.median)
        if self.low is not None and self.high is not None and self.low != self.high:
            value += f" ({num(self.low)}–{num(self.high)})"
        goal = f"{self.goal}: {'met' if self.met else 'not met'}" if self.goal else ""
        note = "; ".join(x for x in (goal, self.note) if x)
        ratio = f"{self.ratio:.2f}×" if self.ratio is not None else ""
        return [self.metric, self.loop, f"{value} {self.unit}".strip(), ratio, note]


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


class FixtureSearch:
    """Answers every query with the same hits, each long enough to fill its token cap."""

    name = "fixture"

    def __init__(self, words: int) -> None:
        text = (SENTENCE * (words // 40 + 1)).strip()
        self.hits = tuple(
            SearchHit(f"Result {i}: the 2022 World Cup final", f"https://example.com/{i}", text)
            for i in range(1, 6)
        )

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        return SearchResponse(query, self.hits[:max_results], self.name)


class NoSearch:
    name = "none"

    def unavailable(self) -> str | None:
        return "search is off for this measurement"

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        raise AssertionError("no search in a decode measurement")


class Recording:
    """The engine, keeping every call's context and outcome (to replay the session)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.calls: list[tuple[list[int], Generation]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    @property
    def info(self) -> Any:
        return self.engine.info

    def stream(self, context: list[int], result: Generation, **kw: Any) -> Any:
        self.calls.append((list(context), result))
        return self.engine.stream(context, result, **kw)


class Bench:
    def __init__(self, model: Path, *, quick: bool, threads: int | None, log: Path) -> None:
        self.quick = quick
        self.model = model
        self.log = log
        self.runs = 2 if quick else 5
        self.tokens = 64 if quick else 256
        self.contexts = (1024,) if quick else (2048, 8192)
        n_ctx = 4096 if quick else 10240
        self.engine = load_engine(Settings(n_ctx=n_ctx, threads=threads), path=model, log_path=log)
        self.llm: Any = self.engine._llm
        self.sampling = Sampling(seed=7)
        self.rows: list[Row] = []
        self.decode: dict[str, float] = {}
        self.rss_after_decode = 0

    def progress(self, what: str) -> None:
        print(f"bench: {what} …", file=sys.stderr, flush=True)

    # -- decode and time to first token ----------------------------------------------------

    def agent_decode(self, tokens: int, seed: int) -> tuple[float, float, int, list[int]]:
        settings = Settings(max_tokens=tokens, max_searches=0, sampling=Sampling(seed=seed))
        agent = Agent(self.engine, NoSearch(), settings)
        t0 = time.perf_counter()
        first = None
        gen: list[Stats] = []

        def consume(e: Event) -> None:
            nonlocal first
            if isinstance(e, Stats) and e.phase == "generate":
                gen.append(e)
            elif first is None and isinstance(e, (ThinkingDelta, AnswerDelta)):
                first = time.perf_counter() - t0

        run_turn(agent, STORY, consume)
        n = sum(s.tokens_generated for s in gen)
        rate = (n - len(gen)) / sum(s.gen_seconds for s in gen)
        prompt = agent.context[: gen[0].tokens_reused + gen[0].tokens_evaluated]
        self.llm.reset()
        return rate, first or 0.0, n, prompt

    def measure_decode(self) -> None:
        self.progress("decode and time to first token")
        rates: dict[str, list[float]] = {k: [] for k in ("raw", "seed", "naive", "ours")}
        ttft: dict[str, list[float]] = {k: [] for k in rates}
        for i in range(self.runs):
            seed = self.sampling.seed + i
            ours, first, n, prompt = self.agent_decode(self.tokens, seed)
            self.llm.reset()
            rates["ours"].append(ours)
            ttft["ours"].append(first)
            raw = loops.raw_generate(self.llm, prompt, n, self.sampling, seed)
            rates["raw"].append((raw.generated - 1) / raw.decode_s)
            ttft["raw"].append(raw.prefill_s)
            text = self.engine.detokenize(prompt)
            seed_r = loops.seed_style_round(self.llm, text, n, self.sampling, seed)
            rates["seed"].append((seed_r.generated - 1) / max(seed_r.decode_s, 1e-9))
            ttft["seed"].append(seed_r.prefill_s)
            self.llm.reset()
            naive = loops.naive_round(self.llm, text, n, self.sampling, seed)
            rates["naive"].append((naive.generated - 1) / max(naive.decode_s, 1e-9))
            ttft["naive"].append(naive.prefill_s)
            self.llm.reset()
        base = statistics.median(rates["raw"])
        names = {"raw": "raw", "seed": "seed-style", "naive": "naive", "ours": "qwq-edge"}
        for key, name in names.items():
            med, lo, hi = spread(rates[key])
            row = Row("decode", name, med, lo, hi, "tok/s", med / base)
            if key == "ours":
                row.goal, row.met = "≥ 1.0 × raw", med / base >= 0.995  # within noise of 1.0
            self.rows.append(row)
            self.decode[name] = med
        for key, name in names.items():
            med, lo, hi = spread([x * 1000 for x in ttft[key]])
            self.rows.append(Row("time to first token", name, med, lo, hi, "ms"))
        self.rss_after_decode = peak_rss()

    def measure_tui(self) -> None:
        self.progress("decode in the TUI (Textual run_test)")
        rates = [asyncio.run(self._tui_once()) for _ in range(1 if self.quick else 3)]
        med, lo, hi = spread(rates)
        head = self.decode["qwq-edge"]
        self.rows.append(
            Row("decode", "qwq-edge TUI", med, lo, hi, "tok/s", med / head, "≥ 0.95 × headless",
                med / head >= 0.95, "ratio to qwq-edge headless")
        )  # fmt: skip
        self.decode["qwq-edge TUI"] = med

    async def _tui_once(self) -> float:
        from qwq_edge.tui.app import QwqEdgeApp

        settings = Settings(max_tokens=self.tokens, max_searches=0, sampling=self.sampling)
        # The same model object as headless: one model in memory, one set of llama threads busy.
        loader = lambda s: self.engine  # noqa: E731
        app = QwqEdgeApp(settings, engine_loader=loader, provider_factory=lambda s: NoSearch())
        async with app.run_test(size=(120, 40)) as pilot:
            while app.engine is None:
                await pilot.pause(0.05)
            for _ in range(2):  # the second, warm turn is measured, as headless
                app.agent = None
                app.engine._llm.reset()  # type: ignore[attr-defined]
                await pilot.click("#prompt")
                await pilot.press(*STORY, "enter")
                await pilot.pause(0.2)
                while app.running:
                    await pilot.pause(0.1)
            n, secs = app._gen
        self.llm.reset()
        return n / secs if secs else 0.0

    # -- a recorded 3-search session, replayed by every loop -------------------------------

    def session(self, target: int) -> None:
        self.progress(f"3-search session at {target // 1024}k context")
        # Result caps sized so the context ends near ``target`` after three responses.
        per_hit = max(40, (target - 700) // 15)
        settings = Settings(
            min_searches=3,
            max_searches=3,
            max_results=5,
            result_tokens=per_hit,
            response_tokens=per_hit * 5 + 200,
            answer_reserve=128,
            max_tokens=160,
            sampling=Sampling(seed=11),
        )
        rec = Recording(self.engine)
        agent = Agent(rec, FixtureSearch(per_hit), settings)  # type: ignore[arg-type]
        self.llm.reset()
        t0 = time.perf_counter()
        stats = [e for e in agent.ask(RESEARCH) if isinstance(e, Stats)]
        ours_wall = time.perf_counter() - t0
        prefill = sum(e.prompt_seconds for e in stats)
        decode = sum(e.gen_seconds for e in stats if e.phase == "generate")
        json_s = sum(e.gen_seconds for e in stats if e.phase == "tool_call")
        final = len(agent.context)
        label = f"{target // 1024}k"
        # tokens evaluated ÷ tokens appended, at each of our resumes
        ratios, resume_s, appended_n = [], [], []
        for (ctx_a, gen_a), (ctx_b, gen_b) in zip(rec.calls, rec.calls[1:], strict=False):
            cached = ctx_a + gen_a.tokens[:-1]
            keep = 0
            for x, y in zip(cached, ctx_b, strict=False):
                if x != y:
                    break
                keep += 1
            appended = len(ctx_b) - min(keep, len(ctx_b) - 1)
            appended_n.append(appended)
            ratios.append(gen_b.stats.tokens_evaluated / appended)
            if appended > RESPONSE_MIN:
                resume_s.append(gen_b.stats.prompt_seconds)
        # The same contexts and token counts through the baselines. A baseline loop has one
        # model call per tool response: the forced marker and the JSON of a call continue the
        # same generation there, so our calls are grouped at each appended response.
        script: list[tuple[str, int]] = []
        for i, (ctx, gen) in enumerate(rec.calls):
            if i == 0 or appended_n[i - 1] > RESPONSE_MIN:
                script.append((self.engine.detokenize(ctx), len(gen.tokens)))
            else:
                text, n = script[-1]
                script[-1] = (text, n + len(gen.tokens))
        responses = [a for a in appended_n if a > RESPONSE_MIN]
        walls: dict[str, float] = {"qwq-edge": ours_wall}
        per_loop: dict[str, list[loops.Round]] = {}
        eog = self.engine._eog
        for name in ("seed-style", "naive"):
            self.llm.reset()
            t0 = time.perf_counter()
            rounds = [
                loops.seed_style_round(self.llm, text, n, self.sampling, 11, exact=True)
                if name == "seed-style"
                else loops.naive_round(self.llm, text, n, self.sampling, 11, exact=True, eog=eog)
                for text, n in script
            ]
            walls[name] = time.perf_counter() - t0
            per_loop[name] = rounds
        self.llm.reset()
        exact = all(r == 1.0 for r in ratios)
        self.rows.append(
            Row(f"evaluated ÷ appended per resume, {label}", "qwq-edge", *spread(ratios),
                ratio=None, goal="exactly 1.00", met=exact, note=f"{len(ratios)} resumes")
        )  # fmt: skip
        for name, rounds in per_loop.items():
            # The same session: the tokens appended at each resume are the same as ours.
            rs = [r.evaluated / a for r, a in zip(rounds[1:], responses, strict=False)]
            self.rows.append(Row(f"evaluated ÷ appended per resume, {label}", name, *spread(rs)))
        if resume_s:
            self.rows.append(
                Row(f"resume wall time, {label}", "qwq-edge", *spread([x * 1000 for x in resume_s]),
                    unit="ms")
            )  # fmt: skip
        for name, rounds in per_loop.items():
            secs = [r.prefill_s * 1000 for r in rounds[1:] if r.evaluated]
            if secs:
                self.rows.append(Row(f"resume wall time, {label}", name, *spread(secs), unit="ms"))
        seed_wall = walls["seed-style"]
        generated = {"qwq-edge": sum(len(g.tokens) for _, g in rec.calls)}
        for name, rounds in per_loop.items():
            generated[name] = sum(r.generated for r in rounds)
        for name, wall in walls.items():
            row = Row(f"end-to-end, 3 searches, {label} ({final:,} tokens)", name, wall,
                      unit="s", ratio=seed_wall / wall)  # fmt: skip
            if name == "qwq-edge" and target >= 8192:
                row.goal, row.met = "≥ 3× faster than seed-style", seed_wall / wall >= 3
            row.note = f"{generated[name]} tokens generated"
            if name == "qwq-edge":
                row.note += (
                    f"; prefill {prefill:.1f} s, decode {decode:.1f} s, call JSON under the "
                    f"grammar {json_s:.1f} s; ratio: seed-style ÷ this"
                )
            self.rows.append(row)

    # -- micro-measures --------------------------------------------------------------------

    def stop_detection(self) -> None:
        self.progress("stop detection at 1k / 8k / 16k tokens")
        text = (
            "Let me think about this step by step. The question asks about the final, so I "
            "should consider who played, who scored and what the sources say. "
        ) * 1500
        ids = self.engine.tokenize(text, trusted=False)[:16500]
        pieces = [self.engine.detokenize([t]) for t in ids]
        markers = ["<tool_call>", "</think>", "<tool_response>", "<|im_start|>"]
        markers += ToolRegistry().call_markers()
        ours: dict[int, float] = {}
        for at in (1000, 8000, 16000):
            scanner = MarkerScanner(markers)
            for p in pieces[:at]:
                scanner.feed(p)
            t0 = time.perf_counter()
            for p in pieces[at : at + 200]:
                scanner.feed(p)
            ours[at] = (time.perf_counter() - t0) / 200 * 1e6
            t0 = time.perf_counter()
            for k in range(at, at + 20):
                loops.SEED_STOP.search("".join(pieces[:k]))
            naive = (time.perf_counter() - t0) / 20 * 1e6
            label = f"stop detection at {at // 1000}k tokens"
            self.rows.append(
                Row(label, "qwq-edge", ours[at], unit="µs/token", ratio=ours[at] / naive)
            )
            self.rows.append(Row(label, "seed-style", naive, unit="µs/token", ratio=1.0))
        flat = ours[16000] / ours[1000]
        self.rows.append(
            Row("stop detection 16k ÷ 1k", "qwq-edge", flat, goal="flat (≤ 1.5)", met=flat <= 1.5)
        )

    def grammar(self) -> None:
        self.progress("grammar on the tool-call JSON")
        gbnf = ToolRegistry().grammar("seed")
        prompt = (
            "<|im_start|>system\nYou can search the web with web_search.<|im_end|>\n"
            "<|im_start|>user\nWhat is the population of Lisbon in 2025?<|im_end|>\n"
            "<|im_start|>assistant\n<tool_call>\n"
        )
        ctx = self.engine.tokenize(prompt, trusted=True)
        with_g, without = [], []
        for seed in range(self.runs + 1):  # the first is a warm-up, not counted
            gen = Generation()
            list(self.engine.stream(ctx, gen, sampling=self.sampling, seed=seed, max_tokens=64,
                                    grammar=gbnf))  # fmt: skip
            with_g.append((gen.stats.tokens_generated - 1) / gen.stats.gen_seconds)
            raw = loops.raw_generate(self.llm, ctx, gen.stats.tokens_generated, self.sampling, seed)
            without.append((raw.generated - 1) / raw.decode_s)
            self.llm.reset()
            if seed == 0:
                with_g.pop()
                without.pop()
        base = statistics.median(without)
        self.rows.append(Row("tool-call JSON decode", "raw (no grammar)", *spread(without),
                             unit="tok/s", ratio=1.0))  # fmt: skip
        self.rows.append(Row("tool-call JSON decode", "qwq-edge (grammar)", *spread(with_g),
                             unit="tok/s", ratio=statistics.median(with_g) / base,
                             note="only the ~30 tokens of each call"))  # fmt: skip

    def memory(self) -> None:
        self.progress("memory and the bandwidth ceiling")
        size = self.model.stat().st_size
        peak = self.rss_after_decode
        self.rows.append(Row("peak RSS, model loaded and decoding", "qwq-edge", peak / 2**20,
                             unit="MiB", ratio=peak / size,
                             note="ratio: ÷ GGUF file size"))  # fmt: skip
        bw = measure_ram_bandwidth(self.engine.info.threads)
        shape = ModelShape.from_gguf(read_gguf(self.model, check_data=False))
        per_token = shape.weight_bytes - shape.other_bytes  # every weight but the embeddings
        ceiling = bw / per_token
        self.rows.append(Row("memory bandwidth (numpy copy)", "this machine", bw / 1e9,
                             unit="GB/s", note=f"{self.engine.info.threads} threads"))  # fmt: skip
        self.rows.append(Row("decode ceiling (bandwidth ÷ bytes per token)", "this machine",
                             ceiling, unit="tok/s",
                             note=f"{per_token / 1e6:.0f} MB read per token"))  # fmt: skip
        if self.engine.info.n_gpu_layers:  # RAM bandwidth says nothing about a GPU's decode
            return
        for name in ("raw", "qwq-edge"):
            self.rows.append(Row("decode as % of the ceiling", name,
                                 100 * self.decode[name] / ceiling, unit="%"))  # fmt: skip

    def llama_bench(self) -> None:
        from qwq_edge.bench import llama_bench

        self.progress("llama-bench (built once from the llama-cpp-python sdist; minutes)")
        try:
            exe = llama_bench.build(self.log)
            ngl = self.engine.info.n_gpu_layers
            res = llama_bench.run(exe, self.model, self.engine.info.threads, ngl=ngl)
        except Exception as exc:  # a missing compiler must not lose the rest of the table
            self.rows.append(Row("llama-bench", "llama-bench", None, note=f"not run: {exc}"))
            return
        tg = res["tg"]["samples"] or [res["tg"]["avg"]]
        pp = res["pp"]["samples"] or [res["pp"]["avg"]]
        self.rows.append(Row("llama-bench tg128", "llama-bench", *spread(tg), unit="tok/s"))
        self.rows.append(Row("llama-bench pp512", "llama-bench", *spread(pp), unit="tok/s"))
        tg_med = statistics.median(tg)
        ours = self.decode["qwq-edge"]
        self.rows.append(Row("decode vs llama-bench tg", "qwq-edge", ours, unit="tok/s",
                             ratio=ours / tg_med, goal="≥ 0.95 × llama-bench tg",
                             met=ours / tg_med >= 0.95))  # fmt: skip
        raw = self.decode["raw"]
        self.rows.append(Row("decode vs llama-bench tg", "raw", raw, unit="tok/s",
                             ratio=raw / tg_med))  # fmt: skip


def peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB here


def markdown(rows: list[Row]) -> str:
    lines = ["| measure | loop | median (min–max) | ratio | goal / note |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return "\n".join(lines)


def run(model: Path, *, quick: bool, threads: int | None, json_path: Path | None) -> int:
    log = Path(tempfile.gettempdir()) / "qwq-edge-bench-llama.log"
    bench = Bench(model, quick=quick, threads=threads, log=log)
    info = bench.engine.info
    steps: list[Callable[[], None]] = [bench.measure_decode, bench.measure_tui]
    steps += [lambda t=t: bench.session(t) for t in bench.contexts]  # type: ignore[misc]
    steps += [bench.stop_detection, bench.grammar, bench.memory]
    if not quick:
        steps.append(bench.llama_bench)
    t0 = time.perf_counter()
    for step in steps:
        step()
    took = time.perf_counter() - t0
    bench.engine.close()
    meta = {
        "qwq_edge": __version__,
        "mode": "quick" if quick else "full",
        "model": model.name,
        "quant": info.quant,
        "threads": info.threads,
        "gpu_layers": info.n_gpu_layers,
        "runs": bench.runs,
        "tokens": bench.tokens,
        "machine": f"{platform.machine()} {platform.system()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "seconds": round(took, 1),
    }
    header = (
        f"qwq-edge bench ({meta['mode']}): {model.name} {info.quant}, {info.threads} threads, "
        f"{'GPU ' + str(info.n_gpu_layers) + ' layers' if info.n_gpu_layers else 'CPU'}, "
        f"{bench.runs} runs, {took:.0f} s"
    )
    print(header + "\n")
    print(markdown(bench.rows))
    goals = [r for r in bench.rows if r.goal]
    print(f"\ngoals met: {sum(bool(r.met) for r in goals)} of {len(goals)}")
    target = json_path or Path(tempfile.gettempdir()) / f"qwq-edge-bench-{meta['mode']}.json"
    target.write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in bench.rows]},
                                 indent=1, ensure_ascii=False))  # fmt: skip
    print(f"JSON: {target}", file=sys.stderr)
    return 0
