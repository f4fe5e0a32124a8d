"""The Engine seam: what the agent needs from a model backend, as a small Protocol."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from qwq_edge.settings import Sampling

if TYPE_CHECKING:  # stops.py imports this module
    from qwq_edge.engine.stops import Scanner


def untrusted_tokens(
    text: str,
    markers: re.Pattern[str] | None,
    tok: Callable[[str], list[int]],
    special: frozenset[int],
) -> list[int]:
    """Untrusted text as token ids that are never special or user-defined, for every engine
    (docs/architecture.md, "Tokens and injection"): each user-defined marker string in
    ``text`` (``markers``) is split so it can only tokenize as ordinary text, and ``tok``
    (tokenizing with special tokens off) does the rest; a special id that still appears
    sends the text through character by character, with specials dropped."""
    out: list[int] = []
    pos = 0
    if markers is not None:
        for m in markers.finditer(text):
            out += tok(text[pos : m.start()]) + tok(m.group()[:1]) + tok(m.group()[1:])
            pos = m.end()
    out += tok(text[pos:])
    if any(t in special for t in out):
        out = [t for ch in text for t in tok(ch) if t not in special]
    return out


StopReason = Literal["eog", "marker", "max_tokens", "cancelled", "context_full"]


@dataclass(frozen=True)
class ModelInfo:
    path: str
    name: str
    architecture: str
    quant: str
    file_size: int
    n_ctx: int
    n_ctx_train: int
    n_layers: int
    n_gpu_layers: int  # layers offloaded; 0 on CPU
    gpu_offload: bool  # whether this llama.cpp build can offload at all
    n_vocab: int
    reasoning: bool  # a <think> model (QwQ): the generation prompt opens a thought
    kv_type: str = "f16"
    flash_attn: bool = True
    threads: int = 0
    fit: str = ""  # the fit planner's choice, as shown to the user
    build: str = ""  # the llama.cpp build: a KV snapshot from another build does not load
    server: str = ""  # the llama-server running the model (shown redacted); "" when local


@dataclass
class CallStats:
    tokens_evaluated: int = 0  # prompt tokens decoded by this call (the suffix past the KV cache)
    tokens_reused: int = 0  # context tokens already in the KV cache
    tokens_generated: int = 0
    prompt_seconds: float = 0.0  # call start to first sampled token (prefill + one sample)
    decode_calls: int = 0  # llama_decode calls after the prefill (speculation: fewer than tokens)
    drafted: int = 0  # tokens drafted from the context and verified
    accepted: int = 0  # of those, kept
    gen_seconds: float = 0.0  # first token to the end


@dataclass
class Generation:
    """The outcome of one ``Engine.stream`` call, complete once its iterator is exhausted."""

    tokens: list[int] = field(default_factory=list)  # sampled ids, the EOG/marker token included
    ends: list[int] = field(default_factory=list)  # text length after each token (for rollback)
    text: str = ""  # everything decoded, markers included
    stop: StopReason = "max_tokens"
    marker: str | None = None
    marker_start: int = -1  # offset of the marker in ``text`` (-1: at a virtual line start)
    rest: str = ""  # text after the marker within the same token
    stats: CallStats = field(default_factory=CallStats)

    def tokens_before(self, offset: int) -> int:
        """How many sampled tokens end at or before text ``offset``."""
        n = 0
        for end in self.ends:
            if end > offset:
                break
            n += 1
        return n


class Engine(Protocol):
    """A loaded model with a KV cache that persists between calls."""

    @property
    def info(self) -> ModelInfo: ...

    def tokenize(self, text: str, *, trusted: bool, bos: bool = False) -> list[int]:
        """Trusted: template text, special tokens parsed. Untrusted: never yields a special
        or user-defined token, whatever the text contains (docs/architecture.md, "Tokens and
        injection"). ``bos``: prepend the
        model's BOS token if it wants one (start of a conversation)."""
        ...

    def token_id(self, text: str) -> int | None:
        """The id of a single special token such as ``<|im_end|>``, or None."""
        ...

    def special_ids(self) -> frozenset[int]:
        """Control and user-defined token ids: what untrusted text must never produce."""
        ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...

    def validate_grammar(self, gbnf: str) -> None:
        """Raise GrammarError unless llama.cpp accepts ``gbnf``."""
        ...

    def save_state(self, path: Path) -> list[int]:
        """Write the KV cache to ``path``; returns the tokens it holds."""
        ...

    def load_state(self, path: Path) -> list[int] | None:
        """Restore what ``save_state`` wrote: the tokens now cached, or None (and an empty
        cache) when the file cannot be loaded here."""
        ...

    def drop_state(self) -> None:
        """Empty the KV cache (a restored state that turned out not to match)."""
        ...

    def stream(
        self,
        context: Sequence[int],
        result: Generation,
        *,
        sampling: Sampling,
        seed: int,
        max_tokens: int,
        markers: Sequence[str] | Scanner = (),
        line_start: bool = False,
        grammar: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Evaluate what of ``context`` is not cached, then sample; yield displayable text.

        Fills ``result`` as it goes. Stops at an end-of-generation token, the first marker,
        ``max_tokens``, the context limit, or when ``cancel`` is set (also mid-prefill).
        """
        ...
