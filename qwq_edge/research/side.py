"""The model on a context of its own, beside the report's: the verifier's questions and,
when a small model ends a section's turn without a word, the section written from what it
read. The report's own KV is restored from the plan's snapshot afterwards (``run.py``).

Nothing here thinks: a reasoning model gets an empty think block, so a verdict or a
fallback section costs its prompt and its answer only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from qwq_edge.engine.base import Engine, Generation
from qwq_edge.settings import Sampling


class Side:
    """``on_call(gen, context_used)`` is told about every engine call (for ``Stats``)."""

    greedy = False  # a judge's verdict must be the same on every run

    def __init__(
        self,
        engine: Engine,
        sampling: Sampling,
        *,
        reasoning: bool,
        cancel: threading.Event | None = None,
        on_call: Callable[[Generation, int], None] | None = None,
    ) -> None:
        self.engine = engine
        self.sampling = replace(sampling, temperature=0.0, seed=0) if self.greedy else sampling
        self.reasoning = reasoning
        self.cancel = cancel
        self.on_call = on_call

    def context(self, system: str, question: str) -> list[int]:
        """ChatML: the trusted system text, the untrusted question (it quotes pages), and
        the assistant's turn opened."""
        tok = self.engine.tokenize
        head = f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"
        tail = "<|im_end|>\n<|im_start|>assistant\n"
        if self.reasoning:
            tail += "<think>\n\n</think>\n\n"
        return (
            tok(head, trusted=True, bos=True)
            + tok(question, trusted=False)
            + tok(tail, trusted=True)
        )

    def stream(
        self,
        system: str,
        question: str,
        gen: Generation,
        *,
        max_tokens: int,
        grammar: str | None = None,
        seed: int = 0,
    ) -> Iterator[str]:
        context = self.context(system, question)
        yield from self.engine.stream(
            context, gen, sampling=self.sampling, seed=seed, max_tokens=max_tokens,
            grammar=grammar, cancel=self.cancel,
        )  # fmt: skip
        if self.on_call is not None:
            self.on_call(gen, len(context) + len(gen.tokens))

    def ask(self, system: str, question: str, *, grammar: str | None, max_tokens: int) -> str:
        gen = Generation()
        for _ in self.stream(system, question, gen, max_tokens=max_tokens, grammar=grammar):
            pass
        return gen.text
