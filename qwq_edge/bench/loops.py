"""The loops qwq-edge is measured against, on the same llama-cpp-python model object.

- raw: a bare ``Llama.generate`` loop (no stop detection, no decoding).
- seed-style: the mission notebook's loop transcribed onto llama-cpp-python. On every token
  it decodes the whole sequence and regex-searches it for the closing tool tag or the end
  tag; at every search it re-tokenizes the whole text and evaluates it from position 0.
- naive: ``create_completion(prompt_string, stop=[...])``, called again with the grown
  string after each search (llama-cpp-python re-detokenizes the completion every token, and
  reuses the KV cache only as far as the re-tokenized string matches).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from qwq_edge.settings import Sampling

SEED_STOP = re.compile(r"<tool_call>(.*?)</tool_call>\s*$|<\|im_end\|>\s*$", re.S)
NAIVE_STOP = ["</tool_call>", "<|im_end|>"]


@dataclass
class Round:
    """One model call of a loop: prefill, then sampling."""

    evaluated: int = 0  # prompt tokens decoded by this call
    appended: int = 0  # tokens that were new since the previous call
    generated: int = 0
    prefill_s: float = 0.0  # call start to the first token
    decode_s: float = 0.0  # first token to the last


@dataclass
class Run:
    rounds: list[Round] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def decode_tps(self) -> float:
        n = sum(max(r.generated - 1, 0) for r in self.rounds)
        s = sum(r.decode_s for r in self.rounds)
        return n / s if s > 0 else 0.0


def _kw(sampling: Sampling) -> dict[str, Any]:
    return {
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
        "min_p": sampling.min_p,
        "temp": sampling.temperature,
        "repeat_penalty": sampling.repeat_penalty,
    }


def raw_generate(llm: Any, tokens: list[int], n: int, sampling: Sampling, seed: int) -> Round:
    """Exactly ``n`` tokens from ``tokens`` with a cold KV cache."""
    llm.reset()
    llm.set_seed(seed)
    r = Round(evaluated=len(tokens), appended=len(tokens))
    t0 = time.perf_counter()
    t_first = t0
    for _ in llm.generate(tokens, **_kw(sampling)):
        r.generated += 1
        if r.generated == 1:
            t_first = time.perf_counter()
            r.prefill_s = t_first - t0
        if r.generated >= n:
            break
    r.decode_s = time.perf_counter() - t_first
    return r


def seed_style_round(
    llm: Any, text: str, n: int, sampling: Sampling, seed: int, *, exact: bool = False
) -> Round:
    """Re-tokenize ``text``, evaluate it from position 0, then sample up to ``n`` tokens,
    decoding the whole sequence and regex-searching it after every token (``exact``: always
    ``n`` tokens, to replay a recorded session's token counts; the search still runs)."""
    t0 = time.perf_counter()
    tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
    llm.reset()
    llm.set_seed(seed)
    r = Round(evaluated=len(tokens))
    seq = list(tokens)
    t_first = t0
    for tok in llm.generate(tokens, **_kw(sampling)):
        seq.append(tok)
        r.generated += 1
        if r.generated == 1:
            t_first = time.perf_counter()
            r.prefill_s = t_first - t0
        whole = llm.detokenize(seq).decode("utf-8", errors="ignore")
        if (SEED_STOP.search(whole) and not exact) or r.generated >= n:
            break
    r.decode_s = time.perf_counter() - t_first
    return r


def naive_round(
    llm: Any,
    text: str,
    n: int,
    sampling: Sampling,
    seed: int,
    *,
    exact: bool = False,
    eog: frozenset[int] = frozenset(),
) -> Round:
    """One ``create_completion`` call on the whole string; KV reuse is whatever prefix of
    the re-tokenized string matches what llama-cpp-python holds. ``exact`` bans the
    end-of-generation tokens so a replay generates the recorded count (stop strings still
    apply, as in the real loop)."""
    tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
    held = list(llm._input_ids)
    keep = 0
    for a, b in zip(held, tokens, strict=False):
        if a != b:
            break
        keep += 1
    if keep == len(tokens):  # llama-cpp-python re-evaluates the last token on a full match
        keep -= 1
    r = Round(evaluated=len(tokens) - keep)
    t0 = time.perf_counter()
    t_first = t0
    stream = llm.create_completion(
        text,
        max_tokens=n,
        stop=NAIVE_STOP,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        top_k=sampling.top_k,
        min_p=sampling.min_p,
        repeat_penalty=sampling.repeat_penalty,
        seed=seed,
        stream=True,
        logit_bias={t: -1e9 for t in eog} if exact else None,
    )
    chunks = 0
    for _chunk in stream:
        chunks += 1
        if chunks == 1:
            t_first = time.perf_counter()
            r.prefill_s = t_first - t0
    r.decode_s = time.perf_counter() - t_first
    # Chunks can merge tokens (text held back as a possible stop prefix): count from the cache.
    r.generated = max(chunks, llm.n_tokens - len(tokens) + 1)
    return r
