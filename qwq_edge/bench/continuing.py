"""The bench's continue measures: a session of N tokens picked up in a fresh KV cache, from
its KV snapshot against a re-prefill of the same tokens; the snapshot's size and save time."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from qwq_edge.bench.base import Measures
from qwq_edge.bench.fixtures import SENTENCE
from qwq_edge.bench.report import Row, spread
from qwq_edge.engine.base import Generation
from qwq_edge.store.snapshots import Snapshots

FOLLOW_UP = "<|im_start|>user\nAnd who scored in the final?<|im_end|>\n<|im_start|>assistant\n"


class ContinueMeasures(Measures):
    """Mixed into ``Bench``: reads its engine and settings, appends rows."""

    def _first_token(self, context: list[int]) -> Generation:
        gen = Generation()
        for _ in self.engine.stream(context, gen, sampling=self.sampling, seed=1, max_tokens=1):
            pass
        return gen

    def continuing(self, target: int) -> None:
        self.progress(f"continuing a {target // 1024}k session: KV snapshot vs re-prefill")
        words = " ".join([SENTENCE] * (target // 50))
        prompt = f"<|im_start|>user\n{words}<|im_end|>\n<|im_start|>assistant\nNoted.<|im_end|>\n"
        history = self.engine.tokenize(prompt, trusted=True)[: target - 64]
        new = self.engine.tokenize(FOLLOW_UP, trusted=True)
        with tempfile.TemporaryDirectory() as tmp:
            snaps = Snapshots(Path(tmp), 1 << 40)
            self.engine.drop_state()
            t0 = time.perf_counter()
            self._first_token(history)  # the turn that made the session
            turn_s = time.perf_counter() - t0
            saves: list[float] = []
            size = 0
            for _ in range(self.runs):
                size, seconds = snaps.save(self.engine, "bench")
                saves.append(seconds)
            restored, prefilled, ratios = [], [], []
            misses = 0
            for _ in range(self.runs):
                self.engine.drop_state()  # a fresh process: nothing cached
                t0 = time.perf_counter()
                back = snaps.restore(self.engine, history, ["bench"])
                gen = self._first_token(history + new)
                restored.append(time.perf_counter() - t0)
                ratios.append(gen.stats.tokens_evaluated / len(new))
                misses += back.tokens != len(history)  # a fallback: the row says so
                self.engine.drop_state()
                t0 = time.perf_counter()
                self._first_token(history + new)
                prefilled.append(time.perf_counter() - t0)
        label = f"{target // 1024}k ({len(history):,} tokens)"
        with_s, without_s = statistics.median(restored), statistics.median(prefilled)
        self.rows.append(Row(f"continue, first new token, {label}", "qwq-edge (snapshot)",
                             *spread([x * 1000 for x in restored]), unit="ms",
                             ratio=with_s / without_s, goal="≤ 0.1 × re-prefill",
                             met=with_s / without_s <= 0.1 and not misses,
                             note=f"{misses} restores fell back" if misses else ""))  # fmt: skip
        ms = [x * 1000 for x in prefilled]
        self.rows.append(Row(f"continue, first new token, {label}", "re-prefill", *spread(ms),
                             unit="ms", ratio=1.0))  # fmt: skip
        ratio = statistics.median(ratios)
        self.rows.append(Row("evaluated ÷ new tokens on continue", "qwq-edge", ratio,
                             goal="exactly 1.00", met=ratio == 1.0))  # fmt: skip
        save = statistics.median(saves)
        self.rows.append(Row("KV snapshot size per token", "qwq-edge", size / len(history),
                             unit="bytes", note=f"{self.engine.info.kv_type} KV"))  # fmt: skip
        self.rows.append(Row(f"KV snapshot save, {label}", "qwq-edge",
                             *spread([x * 1000 for x in saves]), unit="ms", ratio=save / turn_s,
                             goal="≤ 5% of the turn", met=save / turn_s <= 0.05,
                             note="ratio: ÷ the time to read the turn"))  # fmt: skip
