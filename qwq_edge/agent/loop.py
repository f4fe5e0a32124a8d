"""The search-and-resume loop (DESIGN §3): one generator of events per question.

The context is a token list that only grows (or is cut back to a point the model had not
committed to, when a call is recognized); each engine call evaluates only what the KV
cache lacks. Nothing here renders: front ends consume the events.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from qwq_edge.agent.citations import used_sources
from qwq_edge.agent.formats import CALL_OPEN, THINK_END, Mode, PromptContext, Segment, get_format
from qwq_edge.agent.tools import ToolCallError, ToolRegistry, close_json
from qwq_edge.config import Settings
from qwq_edge.engine.base import Engine, Generation
from qwq_edge.errors import QwqEdgeError, SearchError
from qwq_edge.events import (
    AnswerDelta,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    FinishReason,
    Notice,
    QuestionAsked,
    SearchHit,
    SessionStarted,
    Source,
    Stats,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.search.base import SearchProvider, SearchResponse

CALL_MAX_TOKENS = 256  # a search call is ~30 tokens; the cap only bounds a runaway string
MAX_REFUSED_CALLS = 2  # calls past the budget answered "no searches left" before we stop
_FENCES = ("```json", "```")
# The model writing these is fabricating a result or a new turn: end the answer there.
_OVERREACH = ("<tool_response>", "<|im_start|>")


class Controls:
    """Thread-safe controls for a running turn (Esc, Ctrl+A in the TUI; Ctrl+C in the CLI)."""

    def __init__(self) -> None:
        self.interrupt = threading.Event()  # the engine watches this one event
        self.cancelled = False
        self.answer_now_requested = False

    def cancel(self) -> None:
        self.cancelled = True
        self.interrupt.set()

    def answer_now(self) -> None:
        self.answer_now_requested = True
        self.interrupt.set()


class _Finish(Exception):
    def __init__(self, reason: FinishReason, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass
class _Turn:
    controls: Controls
    seed: int
    mode: Mode
    searches: int = 0
    attempts: int = 0  # tool calls made, whatever became of them
    refused: int = 0
    generated: int = 0
    calls: int = 0  # engine calls so far (each gets its own derived seed)
    answer_now: bool = False
    answer: list[str] = field(default_factory=list)


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class Agent:
    """One conversation with one model; ``ask`` may be called again for follow-ups."""

    def __init__(
        self,
        engine: Engine,
        provider: SearchProvider | None,
        settings: Settings,
        *,
        tools: ToolRegistry | None = None,
        today: date | None = None,
        session_id: str | None = None,
    ) -> None:
        self.engine = engine
        self.provider = provider
        self.settings = settings
        self.tools = tools or ToolRegistry()
        self.format = get_format(settings.prompt_format)
        self.today = today or date.today()
        self.session_id = session_id or new_session_id()
        self.context: list[int] = []
        self.sources: dict[int, Source] = {}
        self._by_url: dict[str, Source] = {}
        self.turn = 0
        self._call_id = 0
        self._turn_open = False
        self._unavailable: str | None = None
        self._offline_noticed = False
        self._queries: dict[str, ToolResult] = {}  # normalized query -> its result, per session
        info = engine.info
        self._im_end = engine.token_id("<|im_end|>")
        self._grammar = self.tools.grammar(self.format.style)
        engine.validate_grammar(self._grammar)
        self._call_markers = (CALL_OPEN, *self.tools.call_markers())
        self._reasoning = info.reasoning

    # -- public ----------------------------------------------------------------------

    def ask(self, question: str, controls: Controls | None = None) -> Iterator[Event]:
        """Run one question to the end, yielding every event as it happens."""
        ctl = controls or Controls()
        question = question.strip()
        self.turn += 1
        s = self.settings
        seed = s.sampling.seed if s.sampling.seed >= 0 else random.getrandbits(31)
        if self.turn == 1:
            self._unavailable = (
                self.provider.unavailable() if self.provider else "web search is turned off"
            )
            yield SessionStarted(
                session_id=self.session_id,
                question=question,
                model=Path(self.engine.info.path).name,
                settings=self._public_settings(),
            )
        yield QuestionAsked(turn=self.turn, question=question, seed=seed)
        if self.turn == 1 and self._unavailable:
            yield Notice(f"{self._unavailable}; answering without search", kind="no_search")
        state = _Turn(ctl, seed, "think" if self._reasoning else "answer")
        reason: FinishReason = "eos"
        try:
            self._start_turn(question)
            yield from self._run(state)
        except _Finish as fin:
            reason = fin.reason
            if fin.message:
                yield ErrorEvent(fin.message, kind=fin.reason)
        except QwqEdgeError as exc:
            reason = "error"
            yield ErrorEvent(str(exc), kind=exc.kind)
        answer = "".join(state.answer).strip()
        yield FinalAnswer(answer, used_sources(answer, self.sources))
        yield Finished(reason, turn=self.turn)

    def resume(self, history: list[tuple[str, str]], started: float | None = None) -> None:
        """Continue a journaled conversation: rebuild the context from its questions and
        answers (thinking and search results are left out, as QwQ's own template does for
        earlier turns); the next ``ask`` is a follow-up. Costs one prefill of the history."""
        if self.turn or not history:
            return
        if started is not None:
            self.today = date.fromtimestamp(started)
        if self.provider is not None:
            self._unavailable = self.provider.unavailable()
        else:
            self._unavailable = "web search is turned off"
        pctx = self._prompt_ctx()
        for i, (question, answer) in enumerate(history):
            if i == 0:
                segments = self.format.first_turn(question, pctx, self.tools)
            else:
                segments = self.format.follow_up(question, pctx)
            if self._reasoning:
                segments.append(("\n</think>\n\n", True))
            segments += [(answer, False), ("<|im_end|>", True)]
            self.context += self._tokens(segments, bos=i == 0)
        self.turn = len(history)
        self._turn_open = False

    # -- the loop --------------------------------------------------------------------

    def _prompt_ctx(self) -> PromptContext:
        return PromptContext(
            today=self.today,
            max_searches=self.settings.max_searches,
            search_available=self._unavailable is None and self.settings.max_searches > 0,
            reasoning=self._reasoning,
        )

    def _start_turn(self, question: str) -> None:
        pctx = self._prompt_ctx()
        first = not self.context  # not the turn number: a first question may have been refused
        tokens: list[int] = []
        if first:
            segments = self.format.first_turn(question, pctx, self.tools)
        else:
            if self._turn_open and self._im_end is not None:
                tokens.append(self._im_end)  # close a turn that was interrupted
            segments = self.format.follow_up(question, pctx)
        tokens += self._tokens(segments, bos=first)
        n_ctx = self.engine.info.n_ctx
        if len(self.context) + len(tokens) + self.settings.answer_reserve > n_ctx:
            raise _Finish(
                "context_full",
                f"this question does not fit: {len(self.context)} of {n_ctx} context tokens are "
                "used; start a new session (Ctrl+N) or raise n_ctx",
            )
        self.context += tokens
        self._turn_open = True

    def _tokens(self, segments: list[Segment], bos: bool = False) -> list[int]:
        out: list[int] = []
        for text, trusted in segments:
            if trusted:
                out += self.engine.tokenize(text, trusted=True, bos=bos and not out)
            else:
                out += self.engine.tokenize(text, trusted=False)
        return out

    def _should_force(self, state: _Turn) -> bool:
        s = self.settings
        # Attempts, not successful searches: an offline miss must not force another call.
        return (
            state.attempts < min(s.min_searches, s.max_searches)
            and not state.answer_now
            and self._unavailable is None
        )

    def _run(self, state: _Turn) -> Iterator[Event]:
        at_answer_start = state.mode == "answer"
        while True:
            if at_answer_start and self._should_force(state):
                self.context += self.engine.tokenize(self.format.call_open(), trusted=True)
                yield from self._tool_call(state, recognized="forced")
                at_answer_start = state.mode == "answer"
                continue
            at_answer_start = False
            gen = yield from self._generate(state)
            if gen.stop == "eog":
                if self._im_end is not None and self.context[-1] != self._im_end:
                    self.context[-1] = self._im_end  # a follow-up expects a closed ChatML turn
                self._turn_open = False
                return
            if gen.stop == "cancelled":
                if state.controls.cancelled:
                    raise _Finish("cancelled")
                self._answer_now(state)
                continue
            if gen.stop == "max_tokens":
                raise _Finish("max_tokens", "stopped at the per-question token limit (max_tokens)")
            if gen.stop == "context_full":
                raise _Finish(
                    "context_full",
                    f"the context is full ({self.engine.info.n_ctx} tokens); start a new session "
                    "or raise n_ctx",
                )
            if gen.marker in _OVERREACH:
                self._rewind(gen, max(0, gen.marker_start))
                if self._im_end is not None:
                    self.context.append(self._im_end)
                self._turn_open = False
                return
            if gen.marker == THINK_END:
                state.mode = "answer"
                if gen.rest.strip():
                    state.answer.append(gen.rest)
                    yield AnswerDelta(gen.rest)
                at_answer_start = True
                continue
            shown = self._rewind_to_call(gen)
            if shown and state.mode == "answer":
                # a code fence before a bare call was streamed already: keep it out of the answer
                text = "".join(state.answer)
                state.answer = [text[: len(text) - shown]]
            yield from self._tool_call(
                state, recognized="tag" if gen.marker == CALL_OPEN else "bare"
            )

    def _answer_now(self, state: _Turn) -> None:
        state.controls.interrupt.clear()
        state.controls.answer_now_requested = False
        state.answer_now = True
        if state.mode == "think":
            self.context += self.engine.tokenize(f"\n{THINK_END}\n\n", trusted=True)
            state.mode = "answer"

    def _generate(self, state: _Turn) -> Generator[Event, None, Generation]:
        s = self.settings
        markers = [*self._call_markers, *_OVERREACH]
        if state.mode == "think":
            markers.append(THINK_END)
        left = s.max_tokens - state.generated if s.max_tokens > 0 else 0
        if s.max_tokens > 0 and left <= 0:
            raise _Finish("max_tokens", "stopped at the per-question token limit (max_tokens)")
        gen = Generation()
        state.calls += 1
        thinking = state.mode == "think"
        for text in self.engine.stream(
            self.context,
            gen,
            sampling=s.sampling,
            seed=state.seed + state.calls,
            max_tokens=left,
            markers=markers,
            cancel=state.controls.interrupt,
        ):
            if thinking:
                yield ThinkingDelta(text)
            else:
                state.answer.append(text)
                yield AnswerDelta(text)
        self.context += gen.tokens
        state.generated += len(gen.tokens)
        yield self._stats("generate", gen)
        return gen

    def _stats(self, phase: str, gen: Generation) -> Stats:
        st = gen.stats
        return Stats(
            phase="tool_call" if phase == "tool_call" else "generate",
            tokens_evaluated=st.tokens_evaluated,
            tokens_reused=st.tokens_reused,
            tokens_generated=st.tokens_generated,
            prompt_seconds=st.prompt_seconds,
            gen_seconds=st.gen_seconds,
            context_used=len(self.context),
            n_ctx=self.engine.info.n_ctx,
            stop=gen.stop,
        )

    def _rewind(self, gen: Generation, start: int) -> None:
        """Cut the tokens of ``gen`` back to text offset ``start`` (re-tokenizing a split token)."""
        keep = gen.tokens_before(start)
        partial_from = gen.ends[keep - 1] if keep else 0
        del self.context[len(self.context) - len(gen.tokens) + keep :]
        self.context += self.engine.tokenize(gen.text[partial_from:start], trusted=False)

    def _rewind_to_call(self, gen: Generation) -> int:
        """Cut the context back to where the call began and open it canonically. Returns how
        many characters of already-shown text were cut (a code fence before the call)."""
        start = max(0, gen.marker_start)
        before = gen.text[:start].rstrip()
        for fence in _FENCES:
            if before.endswith(fence):
                start = len(before) - len(fence)
                break
        self._rewind(gen, start)
        self.context += self.engine.tokenize(self.format.call_open(), trusted=True)
        return max(0, gen.marker_start) - start

    # -- tool calls ------------------------------------------------------------------

    def _tool_call(self, state: _Turn, recognized: str) -> Iterator[Event]:
        s = self.settings
        state.attempts += 1
        gen = Generation()
        state.calls += 1
        for _ in self.engine.stream(
            self.context,
            gen,
            sampling=s.sampling,
            seed=state.seed + state.calls,
            max_tokens=CALL_MAX_TOKENS,
            grammar=self._grammar,
            cancel=state.controls.interrupt,
        ):
            pass  # the JSON is shown as a ToolCall event, not as text
        tokens = gen.tokens[:-1] if gen.stop == "eog" else gen.tokens
        raw = gen.text
        self.context += tokens
        state.generated += len(gen.tokens)
        yield self._stats("tool_call", gen)
        if gen.stop == "cancelled" and state.controls.cancelled:
            raise _Finish("cancelled")
        if gen.stop != "eog":  # cut off (token cap, context, answer-now): close it ourselves
            suffix = close_json(raw)
            raw += suffix
            self.context += self.engine.tokenize(suffix, trusted=True)
        if gen.stop == "cancelled":  # "answer now" while the query was being written
            state.controls.interrupt.clear()
            state.controls.answer_now_requested = False
            state.answer_now = True
        self.context += self.engine.tokenize(self.format.call_close(), trusted=True)
        self._call_id += 1
        call_id = self._call_id
        try:
            parsed = self.tools.parse(raw, self.format.style)
            name, args, error = parsed.name, parsed.arguments, None
        except ToolCallError as exc:
            name, args, error = "web_search", {}, str(exc)
        yield ToolCall(
            call_id=call_id,
            name=name,
            arguments=args,
            raw=raw,
            inside_think=state.mode == "think",
            forced=recognized == "forced",
            recognized=recognized,
        )
        result, body = self._execute(state, call_id, args, error)
        yield result
        if result.error_kind == "went_offline" and not self._offline_noticed:
            self._offline_noticed = True  # say it once: later misses are plain offline misses
            yield Notice(result.error or "", kind="offline")
        yield from self._splice(state, body)

    def _execute(
        self, state: _Turn, call_id: int, args: dict[str, object], error: str | None
    ) -> tuple[ToolResult, list[int]]:
        s = self.settings
        query = str(args.get("query", "")).strip()
        provider_name = self.provider.name if self.provider else "none"

        def refuse(message: str, kind: str) -> tuple[ToolResult, list[int]]:
            result = ToolResult(
                call_id, provider_name, query, error=message, error_kind=kind,
                searches_left=max(0, s.max_searches - state.searches),
            )  # fmt: skip
            return result, self.engine.tokenize(message, trusted=True)

        if error is not None:
            return refuse(f"Error: {error}. Write a valid call, or answer without it.", "invalid")
        if self._unavailable is not None:
            return refuse(
                "web_search is unavailable in this session. Answer from what you know, and say "
                "that you could not check sources.",
                "unavailable",
            )
        key = " ".join(query.casefold().split())
        earlier = self._queries.get(key)
        if earlier is not None:
            # A weak model repeating itself: show the same results again, free, and push it
            # to answer (a bare refusal tends to make small models stop with no answer).
            state.answer_now = True
            state.refused += 1
            if state.refused > MAX_REFUSED_CALLS:
                raise _Finish("budget", "the model kept repeating the same search")
            again = ToolResult(
                call_id, earlier.provider, query, earlier.hits, earlier.sources,
                cached=True, searches_left=0,
            )  # fmt: skip
            return again, self._results_body(earlier.hits, earlier.sources, 0, repeat=True)
        if state.searches >= s.max_searches or state.answer_now:
            state.refused += 1
            if state.refused > MAX_REFUSED_CALLS:
                raise _Finish("budget", "the model kept searching after its search budget ran out")
            return refuse(
                "No searches remain. Write your final answer now from the results you have, "
                "citing them as [n].",
                "budget",
            )
        assert self.provider is not None
        t0 = time.perf_counter()
        try:
            response = self.provider.search(query, max_results=s.max_results)
        except SearchError as exc:
            if exc.kind in ("offline", "went_offline"):  # not a search: nothing was spent
                state.refused += 1
                if state.refused > MAX_REFUSED_CALLS:
                    raise _Finish("budget", "offline, and the model kept searching") from None
                result, _ = refuse(str(exc), exc.kind)
                result = replace(result, offline=True)
                return result, self.engine.tokenize(
                    f"{exc}. Answer from what you know, and say what you could not check.",
                    trusted=True,
                )
            state.searches += 1  # a failed search still spends the budget: no retry loops
            result, _ = refuse(str(exc), exc.kind)
            msg = f"The search failed: {exc}. Try a different query, or answer without it."
            return result, self.engine.tokenize(msg, trusted=False)
        state.searches += 1
        left = s.max_searches - state.searches
        sources = tuple(self._number(h, response) for h in response.hits)
        result = ToolResult(
            call_id=call_id,
            provider=response.provider,
            query=query,
            hits=response.hits,
            sources=sources,
            cached=response.cached,
            offline=response.offline,
            searches_left=left,
            seconds=time.perf_counter() - t0,
        )
        self._queries[key] = result
        return result, self._results_body(response.hits, sources, left)

    def _number(self, hit: SearchHit, response: SearchResponse) -> Source:
        known = self._by_url.get(hit.url) if hit.url else None
        if known is not None:
            return known
        n = len(self.sources) + 1
        source = Source(n, hit.title, hit.url, response.key, response.fetched_at)
        self.sources[source.n] = source
        if hit.url:
            self._by_url[hit.url] = source
        return source

    def _results_body(
        self,
        hits: tuple[SearchHit, ...],
        sources: tuple[Source, ...],
        left: int,
        repeat: bool = False,
    ) -> list[int]:
        """Numbered results, each capped at ``result_tokens``, the whole at ``response_tokens``."""
        s = self.settings
        tok = self.engine.tokenize
        out: list[int] = []
        if not hits:
            out += tok("No results for this query.", trusted=True)
        for hit, src in zip(hits, sources, strict=True):
            piece = tok(f"[{src.n}] ", trusted=True)
            piece += tok(f"{hit.title}\nURL: {hit.url}\n", trusted=False)
            content = tok(" ".join(hit.content.split()), trusted=False)
            piece += content[: s.result_tokens]
            piece += tok(" …\n\n" if len(content) > s.result_tokens else "\n\n", trusted=True)
            if out and len(out) + len(piece) > s.response_tokens:
                break
            out += piece[: s.response_tokens]
        if repeat:
            note = (
                "(The same results as your earlier search for this query. No more searches: "
                "write your final answer now, citing them as [n].)"
            )
        elif left <= 0:
            note = "That was the last search: no searches remain. Write your final answer now."
        else:
            note = (
                f"({left} search{'es' if left != 1 else ''} left. Search again only if these "
                "results are not enough; otherwise write the final answer, citing them as [n].)"
            )
        return out + tok(note, trusted=True)

    def _splice(self, state: _Turn, body: list[int]) -> Iterator[Event]:
        """Append the response block, trimmed so that ``answer_reserve`` stays free."""
        s = self.settings
        n_ctx = self.engine.info.n_ctx
        opening, closing, mode = self.format.response(self._prompt_ctx(), state.mode)
        head = self.engine.tokenize(opening, trusted=True)
        tail = self.engine.tokenize(closing, trusted=True)
        room = n_ctx - len(self.context) - len(head) - len(tail) - s.answer_reserve
        if len(body) > room:
            state.answer_now = True
            note = self.engine.tokenize(
                "… (cut: the context is nearly full). No searches remain; answer now.",
                trusted=True,
            )
            if room < len(note):
                raise _Finish(
                    "context_full",
                    f"the context is full ({n_ctx} tokens) before the answer; start a new "
                    "session or raise n_ctx",
                )
            body = body[: room - len(note)] + note
            yield Notice("search results were trimmed to fit the context", kind="context")
        self.context += head + body + tail
        state.mode = mode

    def _public_settings(self) -> dict[str, object]:
        info = self.engine.info
        data = self.settings.public()
        data.update(
            model_path=info.path,
            n_ctx=info.n_ctx,
            n_gpu_layers=info.n_gpu_layers,
            quant=info.quant,
            architecture=info.architecture,
            reasoning=info.reasoning,
            threads=info.threads,
            kv_type=info.kv_type,
        )
        return data
