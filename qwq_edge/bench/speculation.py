"""The bench's speculation rows: decode with drafts from the context against decode without,
in the same run, on the same model, prompt and seed.

- an answer that quotes its search results (what speculation is for; goal ≥ 1.5×);
- free text that copies nothing (speculation must never cost time; goal ≥ 0.97×).
"""

from __future__ import annotations

from qwq_edge.bench.base import Measures
from qwq_edge.bench.fixtures import SENTENCE, STORY
from qwq_edge.bench.report import Row, spread
from qwq_edge.engine.base import Generation

QUOTE = (
    "<|im_start|>user\nSearch results:\n[1] {doc}\n\n[2] {doc}\n\nQuote result [1] word for "
    "word, then say what it means, citing [1].<|im_end|>\n<|im_start|>assistant\n"
)


class SpeculationMeasures(Measures):
    tokens: int

    def speculation(self) -> None:
        self.progress("speculative decoding: quoting search results, and free text")
        doc = (SENTENCE * 3).strip()
        story = f"<|im_start|>user\n{STORY}<|im_end|>\n<|im_start|>assistant\n"
        cases = (
            ("decode, quoting its results", QUOTE.format(doc=doc), 1.5),
            ("decode, free text", story, 0.97),
        )
        for label, prompt, goal in cases:
            ctx = self.engine.tokenize(prompt, trusted=True)
            rates: dict[bool, list[float]] = {True: [], False: []}
            kept = drafted = 0
            for i in range(self.runs):
                for spec in (False, True):
                    gen = self._run(ctx, spec, self.sampling.seed + i)
                    rates[spec].append((len(gen.tokens) - 1) / max(gen.stats.gen_seconds, 1e-9))
                    if spec:
                        kept, drafted = kept + gen.stats.accepted, drafted + gen.stats.drafted
            plain, _, _ = spread(rates[False])
            med, lo, hi = spread(rates[True])
            self.rows.append(Row(label, "no speculation", plain, unit="tok/s", ratio=1.0))
            note = f"{kept}/{drafted} drafted tokens kept" if drafted else "nothing drafted"
            self.rows.append(
                Row(label, "speculation", med, lo, hi, "tok/s", med / plain,
                    f"≥ {goal} × no speculation", med / plain >= goal, note)
            )  # fmt: skip
        self.engine.speculation = True

    def _run(self, ctx: list[int], spec: bool, seed: int) -> Generation:
        self.engine.speculation = spec
        self.llm.reset()
        gen = Generation()
        for _ in self.engine.stream(
            ctx, gen, sampling=self.sampling, seed=seed, max_tokens=self.tokens
        ):
            pass
        return gen
