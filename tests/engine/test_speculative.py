"""Speculative decoding drafted from the context, on the real Qwen2.5 test model: exact
(greedy and seeded sampling give what plain decoding gives), fewer decode calls on copied
text, nothing drafted under a grammar, past n_batch with no big buffer, and a KV cache that
a rollback leaves consistent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qwq_edge.agent.tools import ToolRegistry
from qwq_edge.bench.fixtures import SENTENCE
from qwq_edge.engine.base import Generation
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.engine.speculative import PromptLookup
from qwq_edge.models.hardware import rss
from qwq_edge.settings import Sampling

DOC = (SENTENCE * 4).strip()
QUOTING = (
    f"<|im_start|>user\nHere is a search result:\n[1] {DOC}\n\nQuote the search result word "
    "for word, then summarise it citing [1].<|im_end|>\n<|im_start|>assistant\n"
)
FREE = "<|im_start|>user\nWrite a short poem about the sea.<|im_end|>\n<|im_start|>assistant\n"
GREEDY = Sampling(temperature=0.0, seed=0)


@pytest.fixture
def spec(engine: LlamaEngine) -> Iterator[LlamaEngine]:
    engine.speculation = True
    yield engine
    engine.speculation = True


def run(
    engine: LlamaEngine, ctx: list[int], on: bool, sampling: Sampling, n: int = 120
) -> Generation:
    engine.speculation = on
    engine._llm.reset()
    gen = Generation()
    for _ in engine.stream(ctx, gen, sampling=sampling, seed=sampling.seed, max_tokens=n):
        pass
    return gen


@pytest.mark.parametrize("prompt", [QUOTING, FREE], ids=["search results", "free text"])
def test_greedy_speculation_is_token_identical(spec: LlamaEngine, prompt: str) -> None:
    ctx = spec.tokenize(prompt, trusted=True)
    plain = run(spec, ctx, False, GREEDY)
    fast = run(spec, ctx, True, GREEDY)
    assert fast.tokens == plain.tokens
    assert plain.stats.drafted == 0 and plain.stats.decode_calls == len(plain.tokens) - 1
    if prompt is QUOTING:  # the copy is drafted, and most of it kept
        assert fast.stats.accepted > len(fast.tokens) // 3
        assert fast.stats.decode_calls < len(fast.tokens) // 2
    print(f"\n{fast.stats.accepted}/{fast.stats.drafted} kept, {fast.stats.decode_calls} decode "
          f"calls for {len(fast.tokens)} tokens")  # fmt: skip


def test_seeded_sampling_is_reproducible_and_the_same_with_or_without(spec: LlamaEngine) -> None:
    ctx = spec.tokenize(QUOTING, trusted=True)
    hot = Sampling(temperature=0.8, seed=11)
    a, b = run(spec, ctx, True, hot), run(spec, ctx, True, hot)
    assert a.tokens == b.tokens and a.stats.drafted > 0
    assert run(spec, ctx, False, hot).tokens == a.tokens  # one random draw per token either way


def test_a_grammar_span_drafts_nothing(spec: LlamaEngine) -> None:
    ctx = spec.tokenize(QUOTING + "<tool_call>\n", trusted=True)
    spec._llm.reset()
    gen = Generation()
    grammar = ToolRegistry().grammar("seed")
    for _ in spec.stream(ctx, gen, sampling=GREEDY, seed=0, max_tokens=256, grammar=grammar):
        pass
    assert gen.stop == "eog" and len(gen.tokens) > 5  # the grammar closed the call
    assert gen.stats.drafted == 0 and gen.stats.decode_calls == 0  # generate(), one by one


def test_past_n_batch_with_no_big_buffer(spec: LlamaEngine) -> None:
    long_doc = " ".join([DOC] * 12)
    prompt = (
        f"<|im_start|>user\n{long_doc}\n\nQuote the first sentence.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    ctx = spec.tokenize(prompt, trusted=True)
    assert len(ctx) > spec._llm.n_batch  # where llama-cpp-python's own prompt lookup crashes
    before = rss()
    gen = run(spec, ctx, True, GREEDY, n=80)
    assert len(gen.tokens) > 10 and gen.stats.drafted > 0
    assert spec._llm.scores.shape[0] <= spec._llm.n_batch  # no n_ctx x n_vocab logits buffer
    assert rss() - before < 64 * 2**20


def test_a_rollback_leaves_the_cache_consistent(spec: LlamaEngine) -> None:
    ctx = spec.tokenize(QUOTING, trusted=True)
    first = run(spec, ctx, True, GREEDY, n=60)
    assert first.stats.drafted > first.stats.accepted  # some drafts were rejected and dropped
    follow = ctx + first.tokens + spec.tokenize("\nNow in one word:", trusted=False)
    resumed = Generation()
    for _ in spec.stream(follow, resumed, sampling=GREEDY, seed=0, max_tokens=20):
        pass
    # Only what the cache lacks is evaluated: the appended text and at most the last token.
    assert resumed.stats.tokens_reused + resumed.stats.tokens_evaluated == len(follow)
    assert resumed.stats.tokens_evaluated <= len(follow) - len(ctx) - len(first.tokens) + 1
    fresh = run(spec, follow, False, GREEDY, n=20)  # the same from an empty cache
    assert resumed.tokens == fresh.tokens


def test_prompt_lookup_prefers_the_longest_most_recent_match() -> None:
    look = PromptLookup([1, 2, 3, 9, 1, 2, 3, 7, 8, 5, 2, 3])
    assert look.propose()[:2] == [7, 8]  # "2 3" last continued with 7, 8 (the most recent)
    look.append(4)
    assert look.propose() == []  # "3 4" never occurred
