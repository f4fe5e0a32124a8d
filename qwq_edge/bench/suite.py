"""``qwq-edge bench``: qwq-edge against llama-bench, a raw loop, the seed-style loop and the
naive create_completion loop, all in one process on the same model, prompt, seed and threads.

Figures are medians of several runs with min–max; goals are stated as met / not met.
Search payloads come from a fixture, so nothing touches the network. A second table measures
the local library (``bench.library``), a third how the ``open`` tool reads real pages
(``bench.reading``); ``--library-only`` runs just those two, without a model. A full run
ends with a research report on a made-up corpus (``bench.reports``), left out of ``--quick``.
"""

from __future__ import annotations

import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qwq_edge import __version__
from qwq_edge.agent.loop import Agent
from qwq_edge.bench import library, loops, meaning, reading, reports
from qwq_edge.bench.base import timed_turn
from qwq_edge.bench.continuing import ContinueMeasures
from qwq_edge.bench.fixtures import RESEARCH, STORY, FixtureSearch, Recording
from qwq_edge.bench.micro import MicroMeasures
from qwq_edge.bench.remote import RemoteMeasures
from qwq_edge.bench.report import Row, markdown, peak_rss, spread
from qwq_edge.bench.speculation import SpeculationMeasures
from qwq_edge.bench.ui import measure_ui_cost
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.events import Stats
from qwq_edge.runtime import load_engine, run_turn
from qwq_edge.settings import Sampling, Settings

RESPONSE_MIN = 100  # appended tokens that mark a tool response (a marker or JSON is fewer)


class Bench(MicroMeasures, ContinueMeasures, RemoteMeasures, SpeculationMeasures):
    """One model loaded once; each measure appends rows."""

    def __init__(self, model: Path, *, quick: bool, threads: int | None, log: Path) -> None:
        self.quick = quick
        self.model = model
        self.log = log
        self.runs = 2 if quick else 5
        self.tokens = 64 if quick else 256
        self.contexts = (1024,) if quick else (2048, 8192)
        n_ctx = 4096 if quick else 10240
        engine = load_engine(Settings(n_ctx=n_ctx, threads=threads), path=model, log_path=log)
        assert isinstance(engine, LlamaEngine)  # a file path: always the local engine
        self.engine = engine
        self.llm: Any = self.engine._llm
        self.sampling = Sampling(seed=7)
        self.rows: list[Row] = []
        self.decode: dict[str, float] = {}
        self.rss_after_decode = 0

    # -- decode and time to first token ----------------------------------------------------

    def agent_decode(self, tokens: int, seed: int) -> tuple[float, float, int, list[int]]:
        measured = timed_turn(self.engine, tokens, seed)
        self.llm.reset()
        return measured

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
        """The app as users run it, headless: its engine in a worker process that loads its
        own copy of the model (so this runs after the bench's copy is closed), against the
        headless decode measured earlier in the same run."""
        self.progress("decode in the TUI (the app headless, its engine in a worker process)")
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

        info = self.engine.info
        settings = Settings(
            model=str(self.model), n_ctx=info.n_ctx, threads=info.threads,
            max_tokens=self.tokens, max_searches=0, offline=True, sampling=self.sampling,
        )  # fmt: skip
        app = QwqEdgeApp(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model is None and app.link.dead is None and app.load_error is None:
                await pilot.pause(0.05)
            for _ in range(2):  # the second, warm turn is measured, as headless
                await app.action_new_session()
                await pilot.click("#prompt")
                await pilot.press(*STORY, "enter")
                await pilot.pause(0.2)
                while app.running:
                    await pilot.pause(0.1)
            n, secs = app.meter.gen
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
        stats: list[Stats] = []
        run_turn(agent, RESEARCH, lambda e: stats.append(e) if isinstance(e, Stats) else None)
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


def _library_table(rows: list[Row], results: dict[str, Any]) -> None:
    print("\nLibrary\n")
    print(markdown(rows))
    missed = library.misses(results)
    if missed:
        print("\nretrieval, answers not ranked first:")
        print("\n".join(f"  {line}" for line in missed))
    if "quality" in results.get("meaning", {}):
        print("\nsearch by meaning, paraphrase questions not ranked first:")
        print("\n".join(f"  {line}" for line in meaning.misses(results["meaning"])))


def _reading_table(rows: list[Row], results: dict[str, Any]) -> None:
    print("\nReading real pages\n")
    print(markdown(rows))
    missed = reading.misses(results)
    if missed:
        print("\nfocus, answers not read:")
        print("\n".join(f"  {line}" for line in missed))


def _finish(rows: list[Row], target: Path, data: dict[str, Any]) -> int:
    goals = [r for r in rows if r.goal]
    print(f"\ngoals met: {sum(bool(r.met) for r in goals)} of {len(goals)}")
    target.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    print(f"JSON: {target}", file=sys.stderr)
    return 0


def run(model: Path, *, quick: bool, threads: int | None, json_path: Path | None) -> int:
    log = Path(tempfile.gettempdir()) / "qwq-edge-bench-llama.log"
    bench = Bench(model, quick=quick, threads=threads, log=log)
    info = bench.engine.info
    steps: list[Callable[[], None]] = [bench.measure_decode, bench.speculation]
    steps += [lambda t=t: bench.session(t) for t in bench.contexts]  # type: ignore[misc]
    steps += [lambda t=t: bench.continuing(t) for t in bench.contexts[-1:]]  # type: ignore[misc]
    steps += [bench.stop_detection, bench.grammar, bench.memory]
    if not quick:
        steps.append(bench.llama_bench)
    t0 = time.perf_counter()
    for step in steps:
        step()
    bench.engine.close()
    # After the local model is closed: one copy of the weights in memory.
    bench.measure_tui()
    bench.progress("the UI's CPU per streamed token, and at rest")
    bench.rows += measure_ui_cost(quick)
    if not quick:
        bench.measure_server()
    # A report on its own copy of the model, after the bench's is closed (minutes: full only).
    rep_rows, rep_results = reports.section(model, threads) if not quick else ([], {})
    took = time.perf_counter() - t0
    lib_rows, lib_results = library.section(quick)
    read_rows, read_results = reading.section(quick)
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
        "library_seconds": round(lib_results["seconds"], 1),
    }
    header = (
        f"qwq-edge bench ({meta['mode']}): {model.name} {info.quant}, {info.threads} threads, "
        f"{'GPU ' + str(info.n_gpu_layers) + ' layers' if info.n_gpu_layers else 'CPU'}, "
        f"{bench.runs} runs, {took:.0f} s"
    )
    print(header + "\n")
    print(markdown(bench.rows))
    _library_table(lib_rows, lib_results)
    _reading_table(read_rows, read_results)
    if rep_rows:
        print(f"\nResearch report ({rep_results['seconds']:.0f} s)\n")
        print(markdown(rep_rows))
    target = json_path or Path(tempfile.gettempdir()) / f"qwq-edge-bench-{meta['mode']}.json"
    data = {"meta": meta, "rows": [asdict(r) for r in bench.rows],
            "library": [asdict(r) for r in lib_rows], "library_results": lib_results,
            "reading": [asdict(r) for r in read_rows], "reading_results": read_results,
            "report": [asdict(r) for r in rep_rows], "report_results": rep_results}  # fmt: skip
    return _finish(bench.rows + lib_rows + read_rows + rep_rows, target, data)


def library_only(quick: bool, json_path: Path | None, sizes: library.Sizes | None = None) -> int:
    """``bench --library-only``: the library and reading sections, no model loaded."""
    mode = "quick" if quick else "full"
    rows, results = library.section(quick, sizes)
    read_rows, read_results = reading.section(quick)
    meta = {
        "qwq_edge": __version__,
        "mode": f"library-only {mode}",
        "machine": f"{platform.machine()} {platform.system()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "library_seconds": round(results["seconds"], 1),
    }
    print(f"qwq-edge bench --library-only ({mode}): {results['seconds']:.0f} s")
    _library_table(rows, results)
    _reading_table(read_rows, read_results)
    target = json_path or Path(tempfile.gettempdir()) / f"qwq-edge-bench-library-{mode}.json"
    data = {"meta": meta, "library": [asdict(r) for r in rows], "library_results": results,
            "reading": [asdict(r) for r in read_rows], "reading_results": read_results}  # fmt: skip
    return _finish(rows + read_rows, target, data)
