"""The model on a llama-server: the ``Engine`` protocol over llama-server's native API
(docs/architecture.md, "A model on a server"), so grammar-sampled calls, the exact-append
resume and token-level injection defense all stay ours.

- Prompts go as token ids; the server's ``cache_prompt`` on a pinned slot evaluates only
  the unseen suffix, as the local engine does.
- Generation runs in short non-streamed chunks, because a streamed response drops the ids
  of tokens that end inside a UTF-8 sequence (docs/architecture.md, "Facts"): every chunk's
  ``tokens`` are exact, and pieces come from ``/tokenize`` given those very ids. The stop
  rules run on them token by token, as for every engine. A call under the grammar is one
  request (the grammar cannot be resumed mid-way).
- Untrusted text is tokenized with ``parse_special: false`` after splitting the model's
  user-defined marker strings, the same rule as the local engine, so both give the same ids.
"""

from __future__ import annotations

import codecs
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Waiting
from pathlib import Path
from typing import Any

from qwq_edge.engine.base import Generation, ModelInfo, untrusted_tokens
from qwq_edge.engine.server_api import ServerApi, ServerError
from qwq_edge.engine.stops import Scanner, StopRules
from qwq_edge.errors import GrammarError, QwqEdgeError
from qwq_edge.settings import Sampling

FIRST_CHUNK = 8  # tokens: the first words show quickly
CHUNK = 32  # then fewer round trips; a stop marker wastes at most this many server tokens
POLL = 0.05  # seconds between looks at the cancel event while a request runs
# Added tokens of the Qwen family (control and user-defined): which of them this model has,
# and which are user-defined (matched even with parse_special off), is asked of the server.
CANDIDATES = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>",
    "<tool_response>", "</tool_response>", "<think>", "</think>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
    "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>", "<|box_end|>",
    "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip
EOG_TEXTS = ("<|im_end|>", "<|endoftext|>")


class RemoteEngine:
    """A model served by llama-server at ``url``; ``slot`` is pinned on the first request."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = 600.0,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.api = ServerApi(url, key, timeout)
        self.api.wait_ready(on_wait)
        props = self.api.get("/props")
        if not isinstance(props, dict) or "default_generation_settings" not in props:
            raise ServerError(f"{self.api.shown} is not a llama-server (no /props)")
        self.props = props
        models = self.api.get("/v1/models")
        data = models.get("data") if isinstance(models, dict) else None
        meta: dict[str, Any] = (data[0].get("meta") or {}) if data else {}
        self.slot = -1
        self.slots = int(props.get("total_slots") or 1)
        self.last_timings: dict[str, Any] = {}
        self._pieces: dict[int, bytes] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="qwq-edge-server")
        self._special_text: dict[str, int] = {}
        user_defined: list[str] = []
        for text in CANDIDATES:
            ids = self._tokenize_raw(text, special=True)
            if len(ids) == 1:
                self._special_text[text] = ids[0]
                if self._tokenize_raw(text, special=False) == ids:
                    user_defined.append(text)
        self._special = frozenset(self._special_text.values())
        self._special_re = (
            re.compile("|".join(re.escape(t) for t in user_defined)) if user_defined else None
        )
        eos = self._tokenize_raw(str(props.get("eos_token") or ""), special=True)
        self._eog = frozenset(
            [self._special_text[t] for t in EOG_TEXTS if t in self._special_text]
            + (eos if len(eos) == 1 else [])
        )
        path = str(props.get("model_path") or "")
        gen = props["default_generation_settings"]
        template = str(props.get("chat_template") or "")
        self._info = ModelInfo(
            path=path,
            name=Path(str(props.get("model_alias") or path)).stem or "model",
            architecture="",
            quant=str(props.get("model_ftype") or ""),
            file_size=int(meta.get("size") or 0),
            n_ctx=int(gen.get("n_ctx") or 0),
            n_ctx_train=int(meta.get("n_ctx_train") or 0),
            n_layers=0,
            n_gpu_layers=0,
            gpu_offload=False,
            n_vocab=int(meta.get("n_vocab") or 0),
            reasoning="</think>" in self._special_text or "<think>" in template,
            fit=f"model on {self.api.shown}",
            build=str(props.get("build_info") or ""),
            server=self.api.shown,
        )

    # -- the Engine protocol ---------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return self._info

    def token_id(self, text: str) -> int | None:
        return self._special_text.get(text)

    def special_ids(self) -> frozenset[int]:
        return self._special

    def tokenize(self, text: str, *, trusted: bool, bos: bool = False) -> list[int]:
        if trusted:
            return self._tokenize_raw(text, special=True, bos=bos)
        return untrusted_tokens(
            text, self._special_re, lambda t: self._tokenize_raw(t, special=False), self._special
        )

    def detokenize(self, tokens: Sequence[int]) -> str:
        self._learn(tokens)
        return b"".join(self._pieces.get(t, b"") for t in tokens).decode("utf-8", "replace")

    def validate_grammar(self, gbnf: str) -> None:
        try:
            self.api.post(
                "/completion",
                # One token: the server parses the grammar only when it builds a sampler.
                {"prompt": [next(iter(self._eog), 0)], "n_predict": 1, "grammar": gbnf,
                 "cache_prompt": False},
            )  # fmt: skip
        except ServerError as exc:
            if exc.kind == "grammar":
                raise GrammarError(str(exc)) from None
            raise

    def save_state(self, path: Path) -> list[int]:
        raise QwqEdgeError("a llama-server keeps its own KV cache: no local snapshot of it")

    def load_state(self, path: Path) -> list[int] | None:
        return None  # nothing local to restore: the server's slot cache serves the prefix

    def drop_state(self) -> None:
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

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
        if not context:
            raise ValueError("stream() needs at least one context token")
        rules = StopRules(
            result, n_ctx=self._info.n_ctx, context_len=len(context), max_tokens=max_tokens,
            eog=self._eog, markers=markers, line_start=line_start, cancel=cancel,
        )  # fmt: skip
        if rules.no_room():
            return
        stats = result.stats
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def decode(token: int) -> str:
            return decoder.decode(self._pieces.get(token, b""))

        prompt = list(context)
        chunk = rules.limit if grammar is not None else FIRST_CHUNK
        t0 = time.perf_counter()
        stopped = False
        part = 0
        while not stopped:
            body = self._body(prompt, sampling, seed + 7919 * part, grammar)
            body["n_predict"] = max(1, min(chunk, rules.limit - len(result.tokens)))
            data = self._complete(body, cancel)
            if data is None:
                result.stop = "cancelled"
                break
            timings = data.get("timings") or {}
            self.last_timings = timings
            if part == 0:
                stats.tokens_evaluated = int(timings.get("prompt_n") or 0)
                stats.tokens_reused = int(timings.get("cache_n") or 0)
                stats.prompt_seconds = float(timings.get("prompt_ms") or 0.0) / 1000
            part += 1
            ids = [int(t) for t in data.get("tokens") or []]
            if data.get("stop_type") == "eos" and (not ids or ids[-1] not in self._eog):
                ids.append(next(iter(self._eog)))  # ended by EOS: the loop needs to see it
            self._learn(ids)
            for token in ids:
                safe, stopped = rules.step(token, decode)
                if safe:
                    yield safe
                if stopped:
                    break
            if not ids:  # nothing more will come (a limit on the server's side)
                result.stop = "max_tokens"
                break
            prompt += ids
            chunk = CHUNK
        stats.gen_seconds = max(0.0, time.perf_counter() - t0 - stats.prompt_seconds)
        tail = rules.finish()
        if tail:
            yield tail

    # -- helpers ---------------------------------------------------------------------

    def _body(
        self, prompt: list[int], sampling: Sampling, seed: int, grammar: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": prompt,
            "cache_prompt": True,
            "id_slot": self.slot,
            "return_tokens": True,
            "stream": False,
            "temperature": sampling.temperature,
            "top_k": sampling.top_k,
            "top_p": sampling.top_p,
            "min_p": sampling.min_p,
            "repeat_penalty": sampling.repeat_penalty,
            "seed": seed & 0xFFFFFFFF,
        }
        if grammar is not None:
            body["grammar"] = grammar
        return body

    def _complete(
        self, body: dict[str, Any], cancel: threading.Event | None
    ) -> dict[str, Any] | None:
        """One request, given up (None) as soon as ``cancel`` is set; the server finishes
        that chunk on its own, at most ``CHUNK`` tokens."""
        future: Future[Any] = self._pool.submit(self.api.post, "/completion", body)
        while True:
            try:
                data = future.result(timeout=POLL)
                break
            except Waiting:
                if cancel is not None and cancel.is_set():
                    return None
        if not isinstance(data, dict) or "tokens" not in data:
            raise ServerError(f"{self.api.shown} is not a llama-server (no tokens returned)")
        if self.slot < 0 and isinstance(data.get("id_slot"), int):
            self.slot = data["id_slot"]  # pinned: the next request finds this prefix cached
        return data

    def _tokenize_raw(self, text: str, *, special: bool, bos: bool = False) -> list[int]:
        if not text:
            return []
        data = self.api.post(
            "/tokenize", {"content": text, "add_special": bos, "parse_special": special}
        )
        return [int(t) for t in data.get("tokens", [])]

    def _learn(self, tokens: Sequence[int]) -> None:
        """Fetch the byte pieces of ids not seen yet (``/tokenize`` given the ids themselves)."""
        missing = sorted({t for t in tokens if t not in self._pieces})
        if not missing:
            return
        data = self.api.post("/tokenize", {"content": missing, "with_pieces": True})
        for item in data.get("tokens", []):
            piece = item.get("piece", "")
            raw = piece.encode() if isinstance(piece, str) else bytes(piece)
            self._pieces[int(item["id"])] = raw
