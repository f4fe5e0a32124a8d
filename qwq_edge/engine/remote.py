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
- Nothing the server says is trusted: every token id is checked against its vocabulary,
  every count and size is bounded (``server_api.check_*``), each failure one sentence.
- A request the server does not answer is said after ``NOTE_AFTER`` seconds (``on_wait``)
  and given up after ``timeout`` (the ``server_timeout`` setting; ``ANSWER_WAIT`` when
  none is given); cancel gives it up at once.
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
from qwq_edge.engine.server_api import (
    CONNECT_TIMEOUT,
    MAX_TOKEN_ID,
    ServerApi,
    ServerError,
    check_count,
    check_ids,
    check_piece,
    check_seconds,
)
from qwq_edge.engine.stops import Scanner, StopRules
from qwq_edge.errors import GrammarError, QwqEdgeError
from qwq_edge.settings import Sampling

FIRST_CHUNK = 8  # tokens: the first words show quickly
CHUNK = 32  # then fewer round trips; a stop marker wastes at most this many server tokens
POLL = 0.05  # seconds between looks at the cancel event while a request runs
NOTE_AFTER = 5.0  # seconds without an answer before the user is told (on_wait)
# The longest one request may go unanswered (the first chunk of a turn includes the prompt's
# prefill, minutes for a long prompt on a slow server); a setting would be `server_timeout`.
ANSWER_WAIT = 300.0
MAX_CTX = 1 << 24  # tokens: larger than any model's context
MAX_SLOTS = 4096
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
        timeout: float | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self._timeout = timeout  # None: ANSWER_WAIT
        self._on_wait = on_wait
        self.api = ServerApi(url, key, timeout or ANSWER_WAIT)
        self.api.wait_ready(on_wait)
        props = self.api.get("/props")
        gen = props.get("default_generation_settings") if isinstance(props, dict) else None
        if not isinstance(props, dict) or not isinstance(gen, dict):
            raise ServerError(f"{self.api.shown} is not a llama-server (no /props)")
        n_ctx = check_count(gen.get("n_ctx"), MAX_CTX)
        if not n_ctx:
            raise ServerError(f"{self.api.shown} did not say a usable context size (n_ctx)")
        self.props = props
        models = self.api.get("/v1/models")
        data = models.get("data") if isinstance(models, dict) else None
        first = data[0] if isinstance(data, list) and data else None
        meta = first.get("meta") if isinstance(first, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        self.n_vocab = check_count(meta.get("n_vocab"), MAX_TOKEN_ID)  # 0: not said
        self.slot = -1
        self.slots = check_count(props.get("total_slots"), MAX_SLOTS) or 1
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
        template = str(props.get("chat_template") or "")
        self._info = ModelInfo(
            path=path,
            name=Path(str(props.get("model_alias") or path)).stem or "model",
            architecture="",
            quant=str(props.get("model_ftype") or ""),
            file_size=check_count(meta.get("size"), 1 << 50),
            n_ctx=n_ctx,
            n_ctx_train=check_count(meta.get("n_ctx_train"), MAX_CTX),
            n_layers=0,
            n_gpu_layers=0,
            gpu_offload=False,
            n_vocab=self.n_vocab,
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
            self._wait_for(
                # One token: the server parses the grammar only when it builds a sampler.
                {"prompt": [next(iter(self._eog), 0)], "n_predict": 1, "grammar": gbnf,
                 "cache_prompt": False},
                None,
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
            timings = data.get("timings")
            timings = timings if isinstance(timings, dict) else {}
            self.last_timings = timings
            if part == 0:
                stats.tokens_evaluated = check_count(timings.get("prompt_n"), len(prompt))
                stats.tokens_reused = check_count(timings.get("cache_n"), len(prompt))
                stats.prompt_seconds = check_seconds(timings.get("prompt_ms"))
            part += 1
            # At most what was asked for, plus the EOS the server may count past it.
            ids = check_ids(data["tokens"] or [], self.n_vocab, self.api.shown,
                            body["n_predict"] + 1)  # fmt: skip
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
        """One chunk's request, given up (None) as soon as ``cancel`` is set; the server
        finishes that chunk on its own, at most ``CHUNK`` tokens."""
        data = self._wait_for(body, cancel)
        if data is None:
            return None
        if not isinstance(data, dict) or "tokens" not in data:
            raise ServerError(f"{self.api.shown} is not a llama-server (no tokens returned)")
        slot = data.get("id_slot")
        if self.slot < 0 and isinstance(slot, int) and 0 <= slot < self.slots:
            self.slot = slot  # pinned: the next request finds this prefix cached
        return data

    def _wait_for(self, body: dict[str, Any], cancel: threading.Event | None) -> Any:
        """``/completion``'s answer (None when ``cancel`` was set). Unanswered after
        ``NOTE_AFTER`` seconds, it is said (``on_wait``); after ``ANSWER_WAIT``, given up."""
        wait = self._timeout or ANSWER_WAIT
        future: Future[Any] = self._pool.submit(self.api.post, "/completion", body, wait)
        t0 = time.monotonic()
        said = False
        while True:
            try:
                data = future.result(timeout=POLL)
                break
            except Waiting:
                if cancel is not None and cancel.is_set():
                    return None
                waited = time.monotonic() - t0
                if not said and waited >= NOTE_AFTER:
                    said = True
                    if self._on_wait is not None:
                        self._on_wait(
                            f"the llama-server at {self.api.shown} has not answered for "
                            f"{NOTE_AFTER:g} s (a long prompt, or a stuck server); waiting up "
                            f"to {wait:g} s"
                        )
                if waited > wait + CONNECT_TIMEOUT + 1:  # its own timeout did not fire
                    raise ServerError(
                        f"the llama-server at {self.api.shown} did not answer within {wait:g} s",
                        "timeout",
                    ) from None
        return data

    def _tokenize_raw(self, text: str, *, special: bool, bos: bool = False) -> list[int]:
        if not text:
            return []
        data = self.api.post(
            "/tokenize", {"content": text, "add_special": bos, "parse_special": special}
        )
        if not isinstance(data, dict):
            raise ServerError(f"{self.api.shown} is not a llama-server (bad /tokenize answer)")
        # A token holds at least one byte of the text, but for what the tokenizer adds
        # (BOS, EOS, SentencePiece's leading space).
        most = len(text.encode("utf-8", "replace")) + 4
        return check_ids(data.get("tokens", []), self.n_vocab, self.api.shown, most)

    def _learn(self, tokens: Sequence[int]) -> None:
        """Fetch the byte pieces of ids not seen yet (``/tokenize`` given the ids themselves)."""
        missing = sorted({t for t in tokens if t not in self._pieces})
        if not missing:
            return
        data = self.api.post("/tokenize", {"content": missing, "with_pieces": True})
        items = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(items, list) or len(items) > len(missing):
            raise ServerError(f"{self.api.shown} is not a llama-server (bad /tokenize pieces)")
        asked = set(missing)
        for item in items:
            tid, raw = check_piece(item, asked, self.api.shown)
            self._pieces[tid] = raw
