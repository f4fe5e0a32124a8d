"""Our own decode step on llama.cpp's low-level API, with exact speculative decoding drafted
from the context (docs/architecture.md, "Decoding and speculation").

A research answer quotes its search results and repeats its own thinking, so the next
tokens are often already in the context. ``PromptLookup`` proposes the continuation of the
longest recent n-gram match; ``decode`` verifies the whole draft in one batch (logits for
the drafted positions only), keeps the longest prefix the sampler agrees with, and drops
the rest from the KV cache.

Exactness: every emitted token is one ``llama_sampler_sample`` on the target's logits at
its position, the same call a plain decode makes, and a draft token is kept only when that
sample equals it. With greedy sampling the output is the plain decode's; with temperature,
a deterministic draft is accepted with exactly the target's probability and a rejection
leaves the target's distribution without the drafted token, renormalized. Random numbers
are consumed once per emitted token, as without speculation, so a seed reproduces a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from qwq_edge.engine.base import CallStats
from qwq_edge.engine.stops import StopRules

MAX_DRAFT = 12  # tokens per draft at most
MIN_NGRAM, MAX_NGRAM = 2, 4
COOL_DOWN = 24  # tokens decoded plainly after drafts that kept failing


class PromptLookup:
    """Drafts from ``tokens`` (the context and what is generated): the continuation of the
    longest n-gram match of the current suffix, the most recent match first. The draft
    length adapts to how much of the last drafts was accepted; drafting pauses when it
    keeps failing, so free text that copies nothing pays almost nothing."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens = list(tokens)
        # n -> {n-gram: where its most recent continuation starts}
        self.index: dict[int, dict[tuple[int, ...], int]] = {
            n: {} for n in range(MIN_NGRAM, MAX_NGRAM + 1)
        }
        for i in range(1, len(self.tokens)):
            self._register(i)
        self.k = 8
        self.misses = 0
        self.cool = 0

    def _register(self, i: int) -> None:
        """Token ``i`` exists: the n-grams that end just before it now have a continuation."""
        toks = self.tokens
        for n, table in self.index.items():
            if i >= n:
                table[tuple(toks[i - n : i])] = i

    def append(self, token: int) -> None:
        self.tokens.append(token)
        self._register(len(self.tokens) - 1)

    def propose(self) -> list[int]:
        if self.cool > 0:
            self.cool -= 1
            return []
        toks = self.tokens
        for n in range(MAX_NGRAM, MIN_NGRAM - 1, -1):
            if len(toks) < n:
                continue
            start = self.index[n].get(tuple(toks[-n:]))
            if start is not None:
                return toks[start : start + self.k]
        return []

    def feedback(self, drafted: int, accepted: int) -> None:
        if accepted == drafted:
            self.k = min(MAX_DRAFT, self.k + 2)
            self.misses = 0
        elif accepted == 0:
            self.k = max(1, self.k // 2)
            self.misses += 1
            if self.misses >= 3:
                self.cool, self.misses = COOL_DOWN, 0
        else:
            self.k = max(2, accepted + 1)
            self.misses = 0


def decode(
    llm: Any,
    batch: Any,
    chain: Any,
    first: int,
    rules: StopRules,
    decode_text: Callable[[int], str],
    stats: CallStats,
    drafter: PromptLookup | None,
) -> Iterator[str]:
    """Emit ``first`` (sampled, not yet in the KV cache) and go on decoding until the stop
    rules end it; yields the text that is safe to show. ``llm`` is the llama_cpp.Llama whose
    ``n_tokens``/``input_ids`` are kept equal to what its KV cache holds."""
    pending = [first]  # to emit: accepted drafts (in the cache), then one token (not yet)
    while True:
        for token in pending:
            safe, stop = rules.step(token, decode_text)
            if safe:
                yield safe
            if stop:
                return
            if drafter is not None:
                drafter.append(token)
        token = pending[-1]
        draft = drafter.propose() if drafter is not None else []
        room = rules.limit - len(rules.result.tokens)  # never verify past the stop limit
        draft = draft[: max(0, room - 1)]
        step = [token, *draft]
        n_past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        batch.set_batch(step, n_past=n_past, logits_all=bool(draft))
        llm._ctx.decode(batch)
        out: list[int] = []
        for i in range(len(step)):
            sampled = int(chain.sample(llm._ctx, i if draft else -1))
            out.append(sampled)
            if i >= len(draft) or sampled != draft[i]:
                break
        kept = len(out)  # the token and the accepted drafts are valid in the cache
        llm.input_ids[n_past : n_past + kept] = step[:kept]
        llm.n_tokens = n_past + kept
        if kept < len(step):
            llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        stats.decode_calls += 1
        if draft:
            stats.drafted += len(draft)
            stats.accepted += kept - 1
            assert drafter is not None
            drafter.feedback(len(draft), kept - 1)
        pending = out
