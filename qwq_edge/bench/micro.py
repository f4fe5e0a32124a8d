"""The bench's micro-measures: stop detection against the seed-style regex, grammar-bound
tool-call decoding, memory and the bandwidth ceiling, and llama-bench itself."""

from __future__ import annotations

import statistics
import time

from qwq_edge.agent.recognizer import CallScanner
from qwq_edge.agent.tools import ToolRegistry
from qwq_edge.bench import loops
from qwq_edge.bench.base import Measures
from qwq_edge.bench.report import Row, spread
from qwq_edge.engine.base import Generation
from qwq_edge.models.fit import ModelShape
from qwq_edge.models.gguf import read_gguf
from qwq_edge.models.hardware import measure_ram_bandwidth


class MicroMeasures(Measures):
    """Mixed into ``Bench``: these read its engine, settings and the decode results."""

    def stop_detection(self) -> None:
        self.progress("call + stop detection at 1k / 8k / 16k tokens")
        text = (
            "Let me think about this step by step. The question asks about the final, so I "
            "should consider who played, who scored and what the sources say. "
        ) * 1500
        ids = self.engine.tokenize(text, trusted=False)[:16500]
        pieces = [self.engine.detokenize([t]) for t in ids]
        markers = ["</think>", "<tool_response>", "<|im_start|>"]
        tools = ToolRegistry()
        ours: dict[int, float] = {}
        for at in (1000, 8000, 16000):
            # What the loop runs on every token: the call recognizer and the stop markers.
            scanner = CallScanner(tools, markers)
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
            label = f"call + stop detection at {at // 1000}k tokens"
            self.rows.append(
                Row(label, "qwq-edge", ours[at], unit="µs/token", ratio=ours[at] / naive)
            )
            self.rows.append(Row(label, "seed-style", naive, unit="µs/token", ratio=1.0))
        flat = ours[16000] / ours[1000]
        self.rows.append(
            Row(
                "call + stop detection 16k ÷ 1k",
                "qwq-edge",
                flat,
                goal="flat (≤ 1.5)",
                met=flat <= 1.5,
            )
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
