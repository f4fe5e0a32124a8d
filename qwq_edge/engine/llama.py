"""The Engine on llama-cpp-python: prefix reuse, safe tokenization, grammar, cancellation;
free text on our own decode step with speculation (``speculative.py``).

Facts this relies on (docs/architecture.md, "llama-cpp-python 0.3.36"): ``generate(...,
reset=False)`` evaluates exactly what it is given on top of ``n_tokens``; the last sampled
token is not in the KV cache yet; an invalid grammar segfaults in the sampler, so it is
validated first; llama.cpp matches user-defined tokens even with ``special=False``.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from qwq_edge.engine import kv_state, load_progress, native_log, speculative
from qwq_edge.engine.base import Generation, ModelInfo, untrusted_tokens
from qwq_edge.engine.grammar_sampler import LazyGrammarSampler
from qwq_edge.engine.speculative import PromptLookup
from qwq_edge.engine.stops import Scanner, StopRules
from qwq_edge.errors import ConfigError, GrammarError, ModelLoadError
from qwq_edge.models import ModelFile, Plan
from qwq_edge.models.fit import ModelShape
from qwq_edge.models.hardware import can_offload, cpu_count, default_threads
from qwq_edge.settings import Sampling

_KV_TYPE_IDS = {"f16": 1, "q8_0": 8, "q4_0": 2}  # GGML_TYPE_*
_ATTR_CONTROL = 1 << 3
_ATTR_USER_DEFINED = 1 << 4


class LlamaEngine:
    """A GGUF loaded through llama-cpp-python, with one persistent KV cache.

    It loads the checked ``ModelFile`` exactly as the ``Plan`` says: the header was read and
    the memory planned in ``models/``, once."""

    def __init__(
        self,
        model: ModelFile,
        plan: Plan,
        *,
        threads: int | None = None,
        log_path: Path | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        import llama_cpp
        from llama_cpp._internals import LlamaBatch

        n_threads = threads or default_threads()
        if not 1 <= n_threads <= cpu_count():  # 100000 threads: std::bad_alloc, SIGABRT
            raise ConfigError(
                f"threads must be 1 to {cpu_count()} (this machine's CPUs), not {n_threads}"
            )
        if log_path is not None:
            native_log.route_to(log_path)
        if plan.kv_type != "f16" and not plan.flash_attn:
            raise ModelLoadError(f"kv_type {plan.kv_type} needs flash_attn = true (llama.cpp rule)")
        n_ctx = plan.n_ctx
        kv_id = _KV_TYPE_IDS[plan.kv_type]
        try:
            # verbose=True: with False, llama-cpp-python dup2()s fds 1 and 2 to /dev/null while
            # loading, which would blank a TUI drawing from another thread. Native logs go to
            # our file through llama_log_set; Python-level prints are redirected here.
            with (
                contextlib.redirect_stderr(native_log.stderr_sink()),
                load_progress.reporting(progress),
            ):
                self._llm = llama_cpp.Llama(
                    model_path=str(model.path),
                    n_ctx=n_ctx,
                    n_gpu_layers=plan.llama_gpu_layers,
                    flash_attn=plan.flash_attn,
                    type_k=kv_id,
                    type_v=kv_id,
                    n_threads=n_threads,
                    n_threads_batch=n_threads,
                    verbose=True,
                )
        except ValueError as exc:
            raise _load_error(model, plan, str(exc)) from None
        self._llm.verbose = False
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        self._lib = llama_cpp
        self._vocab = self._llm._model.vocab
        self.speculation = True  # draft from the context (settings: speculation = "off")
        # The batch a draft is verified in: the last token and up to MAX_DRAFT drafted ones.
        self._batch = LlamaBatch(n_tokens=speculative.MAX_DRAFT + 1, embd=0, n_seq_max=1)
        n_vocab = int(llama_cpp.llama_vocab_n_tokens(self._vocab))
        specials = [
            t
            for t in range(n_vocab)
            if llama_cpp.llama_vocab_get_attr(self._vocab, t) & (_ATTR_CONTROL | _ATTR_USER_DEFINED)
        ]
        self._special = frozenset(specials)
        eos = self._llm.token_eos()
        self._eog = frozenset(
            t for t in (*specials, eos) if t >= 0 and llama_cpp.llama_vocab_is_eog(self._vocab, t)
        )
        self._special_text: dict[str, int] = {}
        for t in specials:
            text = self._piece(t).decode("utf-8", errors="replace")
            if len(text) >= 2:
                self._special_text.setdefault(text, t)
        self._special_re = (
            re.compile("|".join(re.escape(s) for s in sorted(self._special_text, key=len)[::-1]))
            if self._special_text
            else None
        )
        self._pieces: dict[int, bytes] = {}
        # (tokens checked against the grammar, tokens re-sampled under it) in the last call
        self.grammar_checks = (0, 0)
        self._cancel: threading.Event | None = None
        self._abort_cb = llama_cpp.ggml_abort_callback(self._should_abort)
        self._no_abort = llama_cpp.ggml_abort_callback()
        template = str(self._llm.metadata.get("tokenizer.chat_template", ""))
        self._info = ModelInfo(
            path=str(model.path),
            name=model.name,
            architecture=model.architecture,
            quant=model.quant,
            file_size=model.file_size,
            # llama.cpp pads the context (600 -> 768) but llama-cpp-python's token buffer
            # keeps the requested size: the smaller one is the real limit.
            n_ctx=min(self._llm.n_ctx(), n_ctx),
            n_ctx_train=model.ctx_train,
            n_layers=model.layers,
            n_gpu_layers=plan.n_gpu_layers,
            gpu_offload=can_offload(),
            n_vocab=n_vocab,
            reasoning="</think>" in self._special_text or "<think>" in template,
            kv_type=plan.kv_type,
            flash_attn=plan.flash_attn,
            threads=n_threads,
            fit=plan.summary() + "".join(f"; {n}" for n in plan.notes),
            build=f"llama-cpp-python {llama_cpp.__version__}",
        )
        if self.token_id("<|im_start|>") is None or self.token_id("<|im_end|>") is None:
            self.close()
            raise ModelLoadError(
                f"{model.path.name} has no ChatML tokens (<|im_start|>, <|im_end|>); "
                "qwq-edge needs a Qwen-family chat model such as QwQ-32B"
            )

    # -- Engine protocol -------------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        return self._info

    def save_state(self, path: Path) -> list[int]:
        """Write the KV cache to ``path``; returns the tokens it holds."""
        return kv_state.save(self._llm, path)

    def load_state(self, path: Path) -> list[int] | None:
        """Restore a KV cache written by ``save_state``; None (cache empty) when refused."""
        return kv_state.load(self._llm, path, self._info.n_ctx)

    def drop_state(self) -> None:
        kv_state.clear(self._llm)

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()

    def _piece(self, token: int) -> bytes:
        piece: bytes = self._llm._model.token_to_piece(token, special=True).rstrip(b"\0")
        return piece

    def token_id(self, text: str) -> int | None:
        return self._special_text.get(text)

    def special_ids(self) -> frozenset[int]:
        return self._special

    def tokenize(self, text: str, *, trusted: bool, bos: bool = False) -> list[int]:
        if trusted:
            return self._tok(text, special=True, bos=bos)
        return untrusted_tokens(
            text, self._special_re, lambda t: self._tok(t, special=False), self._special
        )

    def _tok(self, text: str, *, special: bool, bos: bool = False) -> list[int]:
        if not text:
            return []
        tokens: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=special)
        return tokens

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._piece_cached(t) for t in tokens).decode("utf-8", errors="replace")

    def _piece_cached(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._piece(token)
        return piece

    def validate_grammar(self, gbnf: str) -> None:
        lib = self._lib
        sampler = lib.llama_sampler_init_grammar(self._vocab, gbnf.encode("utf-8"), b"root")
        if not sampler:
            raise GrammarError("the tool-call grammar is invalid (llama.cpp rejected it)")
        lib.llama_sampler_free(sampler)

    def _should_abort(self, _data: Any) -> bool:
        cancel = self._cancel
        return cancel is not None and cancel.is_set()

    def _set_abort(self, on: bool) -> None:
        # Only during prefill: llama.cpp calls the callback once per graph node, and a Python
        # callback on every node of every decoded token would cost a few percent of decode.
        self._lib.llama_set_abort_callback(
            self._llm._ctx.ctx, self._abort_cb if on else self._no_abort, None
        )

    def _cached_prefix(self, context: Sequence[int]) -> int:
        llm = self._llm
        n = min(llm.n_tokens, len(context) - 1)
        if n <= 0:
            return 0
        import numpy as np

        cached = llm.input_ids[:n]
        wanted = np.asarray(context[:n], dtype=cached.dtype)
        diff = np.flatnonzero(cached != wanted)
        return int(diff[0]) if diff.size else n

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
        llm = self._llm
        stats = result.stats
        if not context:
            raise ValueError("stream() needs at least one context token")
        rules = StopRules(
            result,
            n_ctx=self._info.n_ctx,
            context_len=len(context),
            max_tokens=max_tokens,
            eog=self._eog,
            markers=markers,
            line_start=line_start,
            cancel=cancel,
        )
        if rules.no_room():
            return
        lazy: list[LazyGrammarSampler] = []
        if grammar is not None:
            self.validate_grammar(grammar)
            build_chain = llm._init_sampler

            def lazy_sampler(**kw: Any) -> LazyGrammarSampler:
                llm.__dict__.pop("_init_sampler", None)  # this generate() call only
                lazy.append(LazyGrammarSampler(llm, grammar, build_chain(**kw)))
                return lazy[-1]

        prefix = self._cached_prefix(context)
        stats.tokens_reused = prefix
        stats.tokens_evaluated = len(context) - prefix
        llm.n_tokens = prefix
        llm.set_seed(seed & 0xFFFFFFFF)
        self._cancel = cancel
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces = self._pieces

        def decode(token: int) -> str:
            piece = pieces.get(token)
            if piece is None:
                piece = pieces[token] = self._piece(token)
            return decoder.decode(piece)

        t0 = time.perf_counter()
        t_first = t0
        if stats.tokens_evaluated > 1:
            self._set_abort(True)
        if grammar is None:
            yield from self._own(llm, context, prefix, sampling, rules, decode, cancel)
            return
        # Under a grammar (no drafting: mostly rejected there), generate() gets our sampler.
        llm._init_sampler = lazy_sampler  # type: ignore[method-assign,assignment]
        gen = llm.generate(list(context[prefix:]), reset=False, **_chain_args(sampling))
        try:
            for token in gen:
                if not result.tokens:
                    t_first = time.perf_counter()
                    stats.prompt_seconds = t_first - t0
                    self._set_abort(False)
                safe, stop = rules.step(token, decode)
                if safe:
                    yield safe
                if stop:
                    break
        except RuntimeError:
            if not _cancelled(result, cancel, t0, llm.n_tokens - prefix):
                raise
        finally:
            gen.close()
            llm.__dict__.pop("_init_sampler", None)  # the class's method again
            for sampler in lazy:
                self.grammar_checks = (sampler.checked, sampler.resampled)
                sampler.close()
            llm._sampler = None
            self._set_abort(False)
            self._cancel = None
            tail = rules.finish()  # held back as a possible marker prefix, and it was not one
            if result.tokens:
                stats.gen_seconds = time.perf_counter() - t_first
        if tail:
            yield tail

    def _own(
        self,
        llm: Any,
        context: Sequence[int],
        prefix: int,
        sampling: Sampling,
        rules: StopRules,
        decode: Callable[[int], str],
        cancel: threading.Event | None,
    ) -> Iterator[str]:
        """Free text on our own decode step: the prefill, then ``speculative.decode`` with
        llama-cpp-python's own sampler chain (so a seed gives what ``generate`` gave)."""
        result, stats = rules.result, rules.result.stats
        t0 = t_first = time.perf_counter()
        chain = llm._init_sampler(**_chain_args(sampling))
        tail = ""
        try:
            llm.eval(list(context[prefix:]))  # the prefill; the abort callback can stop it
            self._set_abort(False)
            first = int(chain.sample(llm._ctx, -1))
            t_first = time.perf_counter()
            stats.prompt_seconds = t_first - t0
            drafter = PromptLookup(context) if self.speculation else None
            yield from speculative.decode(
                llm, self._batch, chain, first, rules, decode, stats, drafter
            )
        except RuntimeError:
            if not _cancelled(result, cancel, t0, llm.n_tokens - prefix):
                raise
        finally:
            chain.close()
            self._set_abort(False)
            self._cancel = None
            tail = rules.finish()
            if result.tokens:
                stats.gen_seconds = time.perf_counter() - t_first
        if tail:
            yield tail


def _cancelled(result: Generation, cancel: threading.Event | None, t0: float, done: int) -> bool:
    """A llama_decode the abort callback stopped (the KV cache keeps what was decoded): the
    call ends as cancelled; False when nobody cancelled, and the error is real."""
    if cancel is None or not cancel.is_set():
        return False
    result.stop = "cancelled"
    result.stats.prompt_seconds = time.perf_counter() - t0
    result.stats.tokens_evaluated = max(0, done)
    return True


def _chain_args(s: Sampling) -> dict[str, Any]:
    """llama-cpp-python's sampler chain arguments, the same for generate() and our loop."""
    return {
        "top_k": s.top_k, "top_p": s.top_p, "min_p": s.min_p, "temp": s.temperature,
        "repeat_penalty": s.repeat_penalty,
    }  # fmt: skip


def _load_error(model: ModelFile, plan: Plan, message: str) -> ModelLoadError:
    if "context" in message:
        kv = ModelShape.from_gguf(model.header).kv_bytes(plan.n_ctx, plan.kv_type)
        return ModelLoadError(
            f"not enough memory for a {plan.n_ctx}-token context ({kv / 2**30:.1f} GiB of KV "
            f"cache on top of the {model.file_size / 2**30:.1f} GiB model); lower --n-ctx or use "
            "kv_type q8_0"
        )
    return ModelLoadError(
        f"llama.cpp could not load {model.path.name} ({model.architecture}, {model.quant}); "
        "the file may be corrupt (download it again) or need a newer llama-cpp-python"
    )
