"""A scripted Engine for unit tests of the loop's logic (no model).

Tokens are characters (id = code point + 1000) except the ChatML/tool special strings, which
map to small ids when tokenized as trusted text. ``stream`` replays the next scripted output
one character per token through the real MarkerScanner, so stop-marker handling is exercised.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from qwq_edge.engine.base import Generation, ModelInfo
from qwq_edge.engine.stops import Scanner, StopRules
from qwq_edge.errors import GrammarError
from qwq_edge.settings import Sampling

SPECIALS = {
    "<|endoftext|>": 1,
    "<|im_start|>": 2,
    "<|im_end|>": 3,
    "<tool_call>": 4,
    "</tool_call>": 5,
    "<think>": 6,
    "</think>": 7,
}
EOG = {1, 3}
_SPLIT = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")


class ScriptedEngine:
    def __init__(
        self,
        script: Sequence[str],
        *,
        reasoning: bool = False,
        n_ctx: int = 8192,
        on_token: Callable[[int], None] | None = None,
    ) -> None:
        self.script = list(script)
        self.contexts: list[list[int]] = []
        self.grammars: list[str | None] = []
        self.on_token = on_token
        self._kv: list[int] = []
        self._info = ModelInfo(
            path="/scripted.gguf", name="scripted", architecture="qwen2", quant="Q4_K_M",
            file_size=1, n_ctx=n_ctx, n_ctx_train=n_ctx, n_layers=1, n_gpu_layers=0,
            gpu_offload=False, n_vocab=2000, reasoning=reasoning,
        )  # fmt: skip

    @property
    def info(self) -> ModelInfo:
        return self._info

    def tokenize(self, text: str, *, trusted: bool, bos: bool = False) -> list[int]:
        if not trusted:
            return [ord(c) + 1000 for c in text]
        out: list[int] = []
        for part in _SPLIT.split(text):
            if part in SPECIALS:
                out.append(SPECIALS[part])
            else:
                out += [ord(c) + 1000 for c in part]
        return out

    def token_id(self, text: str) -> int | None:
        return SPECIALS.get(text)

    def special_ids(self) -> frozenset[int]:
        return frozenset(SPECIALS.values())

    def detokenize(self, tokens: Sequence[int]) -> str:
        inv = {v: k for k, v in SPECIALS.items()}
        return "".join(inv.get(t) or chr(t - 1000) for t in tokens)

    def save_state(self, path: Path) -> list[int]:
        path.write_text(json.dumps({"kv": self._kv, "n_ctx": self._info.n_ctx}))
        return list(self._kv)

    def load_state(self, path: Path) -> list[int] | None:
        self._kv = []
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if len(data["kv"]) > self._info.n_ctx:
            return None  # as llama.cpp: a smaller context cannot hold the saved tokens
        self._kv = list(data["kv"])
        return list(self._kv)

    def drop_state(self) -> None:
        self._kv = []

    def validate_grammar(self, gbnf: str) -> None:
        if "root ::=" not in gbnf:
            raise GrammarError("the tool-call grammar is invalid (llama.cpp rejected it)")

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
        self.contexts.append(list(context))
        self.grammars.append(grammar)
        prefix = 0
        for a, b in zip(self._kv, context[:-1], strict=False):
            if a != b:
                break
            prefix += 1
        result.stats.tokens_reused = prefix
        result.stats.tokens_evaluated = len(context) - prefix
        # The real stop rules, as every engine applies them.
        rules = StopRules(
            result,
            n_ctx=self._info.n_ctx,
            context_len=len(context),
            max_tokens=max_tokens,
            eog=frozenset(EOG),
            markers=markers,
            line_start=line_start,
            cancel=cancel,
        )
        if rules.no_room():
            return
        text = self.script.pop(0) if self.script else "<|im_end|>"
        if grammar is not None and not text.endswith("<|im_end|>"):
            text += "<|im_end|>"
        produced = self.tokenize(text, trusted=True)
        self._kv = list(context)
        stopped = False
        for i, tok in enumerate(produced):
            if self.on_token is not None:
                self.on_token(i)
            self._kv.append(tok)
            safe, stopped = rules.step(tok, lambda t: self.detokenize([t]))
            if safe:
                yield safe
            if stopped:
                remainder = self.detokenize(produced[i + 1 :])
                if remainder and (
                    result.stop == "cancelled"  # what the model would have gone on with
                    or (result.stop == "marker" and result.marker == "</think>")
                ):
                    self.script.insert(0, remainder)  # a real model goes on after </think>
                break
        if not stopped:
            result.stop = "max_tokens"  # the script ran out without an end of turn
        tail = rules.finish()
        if tail:
            yield tail
