"""The search-and-resume loop (docs/architecture.md, "The loop"): one generator of events
per question.

The context is a token list that only grows (or is cut back to a point the model had not
committed to, when a call is recognized); each engine call evaluates only what the KV
cache lacks. Nothing here renders: front ends consume the events.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Iterator, Sequence
from datetime import date
from pathlib import Path

from qwq_edge.agent.calling import Calls
from qwq_edge.agent.citations import unmatched, used_sources
from qwq_edge.agent.formats import THINK_END, PromptContext, Segment, get_format
from qwq_edge.agent.opening import Opener
from qwq_edge.agent.prompts import WRAP_UP
from qwq_edge.agent.recognizer import CallScanner, close_fences, dangling
from qwq_edge.agent.searching import Searcher, TurnOver
from qwq_edge.agent.shapes import CallMatch
from qwq_edge.agent.state import (
    Controls,
    TurnState,
    larger_context,
    new_session_id,
    recorded_settings,
    stats_event,
)
from qwq_edge.agent.tools import OPEN, WEB_SEARCH, Executor, ToolRegistry
from qwq_edge.engine.base import Engine, Generation
from qwq_edge.engine.stops import Scanner
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import (
    AnswerDelta,
    AnswerRetracted,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    FinishReason,
    Notice,
    QuestionAsked,
    SessionStarted,
    Source,
    ThinkingDelta,
)
from qwq_edge.reading.reader import PageReader
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings

# The model writing these is fabricating a result or a new turn: end the answer there.
_OVERREACH = ("<tool_response>", "<|im_start|>")


class Agent(Calls):
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
        reader: PageReader | None = None,
    ) -> None:
        self.engine = engine
        self.searcher = Searcher(provider, settings, self._tokenize)
        self.opener = Opener(reader, self.searcher, settings, self._tokenize)
        self._settings = settings
        can_open = reader is not None and settings.max_opens > 0
        self.tools = tools or ToolRegistry((WEB_SEARCH, OPEN) if can_open else (WEB_SEARCH,))
        self.executors: dict[str, Executor] = {"web_search": self.searcher, "open": self.opener}
        self.format = get_format(settings.prompt_format)
        self.today = today or date.today()
        self.session_id = session_id or new_session_id()
        self.context: list[int] = []
        self.turn_start = 0  # where the current turn's tokens begin in the context
        self.turn = 0
        self._call_id = 0
        self._turn_open = False
        self._offline_noticed = False
        info = engine.info
        self._im_end = engine.token_id("<|im_end|>")
        self._grammar = self.tools.grammar(self.format.style)
        engine.validate_grammar(self._grammar)
        self._reasoning = info.reasoning

    # -- public ----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = self.searcher.settings = self.opener.settings = value

    @property
    def provider(self) -> SearchProvider | None:
        return self.searcher.provider

    @property
    def sources(self) -> dict[int, Source]:
        return self.searcher.sources

    def ask(self, question: str, controls: Controls | None = None) -> Iterator[Event]:
        """Run one question to the end, yielding every event as it happens."""
        ctl = controls or Controls()
        question = question.strip()
        self.turn += 1
        s = self.settings
        seed = s.sampling.seed if s.sampling.seed >= 0 else random.getrandbits(31)
        if self.turn == 1:
            self.searcher.check()
            yield SessionStarted(
                session_id=self.session_id,
                question=question,
                model=Path(self.engine.info.path).name,
                settings=recorded_settings(self.settings, self.engine.info),
            )
        yield QuestionAsked(turn=self.turn, question=question, seed=seed)
        if self.turn == 1 and self.searcher.unavailable:
            yield Notice(f"{self.searcher.unavailable}; answering without search", kind="no_search")
        state = TurnState(
            ctl, seed, "think" if self._reasoning else "answer", self.searcher.budget()
        )
        reason: FinishReason = "eos"
        self.turn_start = len(self.context)
        found = False  # a search of this turn returned results, or a source was read
        self.opener.start(question)  # the default focus; a URL the user gave may be opened
        try:
            self._start_turn(question)
            for event in self._run(state):
                # ToolResult.hits, PageOpened.passages: something found, or read
                found = found or bool(getattr(event, "hits", 0) or getattr(event, "passages", 0))
                yield event
        except TurnOver as fin:
            reason = fin.reason
            if fin.message:
                yield ErrorEvent(fin.message, kind=fin.reason)
        except QwqEdgeError as exc:
            reason = "error"
            yield ErrorEvent(str(exc), kind=exc.kind)
        raw = "".join(state.answer)
        close = close_fences(raw)
        if close:  # never an answer left inside an open code block
            raw += close
            yield AnswerDelta(close)
        closed = raw.strip()
        used = used_sources(closed, self.sources)
        memory = bool(closed) and not found and not used  # the rule: FinalAnswer.from_memory
        yield FinalAnswer(closed, used, unmatched(closed, self.sources), from_memory=memory)
        yield Finished(reason, turn=self.turn)

    # -- the loop --------------------------------------------------------------------

    def _prompt_ctx(self) -> PromptContext:
        return PromptContext(
            today=self.today,
            max_searches=self.settings.max_searches,
            search_available=self.searcher.unavailable is None and self.settings.max_searches > 0,
            reasoning=self._reasoning,
            can_open="open" in self.tools.tools,
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
        reserve = self.settings.answer_reserve
        fix = larger_context(self.engine.info)
        if len(self.context) + len(tokens) + reserve > n_ctx:
            raise TurnOver(
                "context_full",
                _no_room(first, len(self.context), len(tokens), reserve, n_ctx, fix),
            )
        self.context += tokens
        self._turn_open = True

    def _tokenize(self, text: str, trusted: bool) -> list[int]:
        return self.engine.tokenize(text, trusted=trusted)

    def _tokens(self, segments: list[Segment], bos: bool = False) -> list[int]:
        out: list[int] = []
        for text, trusted in segments:
            if trusted:
                out += self.engine.tokenize(text, trusted=True, bos=bos and not out)
            else:
                out += self.engine.tokenize(text, trusted=False)
        return out

    def _run(self, state: TurnState) -> Iterator[Event]:
        at_answer_start = state.mode == "answer"
        while True:
            if at_answer_start and state.budget.should_force(self.searcher.unavailable is None):
                self.context += self.engine.tokenize(self.format.call_open(), trusted=True)
                yield from self._tool_call(state, recognized="forced")
                at_answer_start = state.mode == "answer"
                continue
            at_answer_start = False
            gen, scan = yield from self._generate(state)
            match = scan.match
            if match is not None and gen.stop in ("marker", "eog"):
                yield from self._recognized(state, gen, match, match.start - scan.head_dropped)
                continue
            cut = match.start if match is not None else scan.tail_dropped
            if cut is not None:
                # A call cut off by the token limit or a cancel, or openers with nothing after
                # them: out of the context too (an end of generation stays the last token).
                self._rewind(gen, cut - scan.head_dropped)
                if gen.stop == "eog":
                    self.context.append(gen.tokens[-1])
            if gen.stop == "eog":
                if self._im_end is not None and self.context[-1] != self._im_end:
                    self.context[-1] = self._im_end  # a follow-up expects a closed ChatML turn
                self._turn_open = False
                return
            if gen.stop == "cancelled":
                if state.controls.cancelled:
                    raise TurnOver("cancelled")
                self._answer_now(state)
                continue
            spent = self._think_left(state)
            if gen.stop == "max_tokens" and spent is not None and spent <= 0:
                yield from self._end_thinking(state)
                at_answer_start = True
                continue
            if gen.stop == "max_tokens":
                raise TurnOver("max_tokens", "stopped at the per-question token limit (max_tokens)")
            if gen.stop == "context_full":
                raise TurnOver(
                    "context_full",
                    f"the context is full ({self.engine.info.n_ctx} tokens); start a new session "
                    f"or {larger_context(self.engine.info)}",
                )
            if gen.marker in _OVERREACH:
                self._rewind(gen, max(0, gen.marker_start))
                if self._im_end is not None:
                    self.context.append(self._im_end)
                self._turn_open = False
                return
            # </think>
            state.mode = "answer"
            if gen.rest.strip():
                state.answer.append(gen.rest)
                yield AnswerDelta(gen.rest)
            at_answer_start = True

    def _recognized(
        self, state: TurnState, gen: Generation, match: CallMatch, start: int
    ) -> Iterator[Event]:
        """Replace what the model wrote for a call (wrappers and all) by the canonical call,
        in the context and on screen, and run it."""
        kept = self._rewind(gen, start)
        yield from self._retract(state, gen, start, kept)
        if state.calls_closed:
            yield from self._no_more_calls(state)
            return
        if match.kind == "body":
            for call in match.calls:
                yield from self._given_call(state, call)
            return
        self.context += self.engine.tokenize(self.format.call_open(), trusted=True)
        yield from self._tool_call(state, recognized="tag" if match.kind == "tag" else "bare")

    def _retract(self, state: TurnState, gen: Generation, start: int, kept: int) -> Iterator[Event]:
        """Openers of this call already streamed in an earlier piece of the answer (text
        that came with ``</think>``): take them back on screen and out of the context."""
        if state.mode != "answer" or gen.text[:start].strip():
            return
        text = "".join(state.answer)
        n = dangling(text)
        if not n:
            return
        state.answer = [text[:-n]]
        yield AnswerRetracted(n)
        prev = state.prev_gen
        if prev is not None and state.prev_end + kept == len(self.context):
            del self.context[len(self.context) - kept :]
            self._rewind(prev, max(0, len(prev.text) - (n - start)))

    def _answer_now(self, state: TurnState) -> None:
        state.controls.acknowledge()
        state.budget.answer_now = True
        if state.mode == "think":
            self.context += self.engine.tokenize(f"\n{THINK_END}\n\n", trusted=True)
            state.mode = "answer"

    def _think_left(self, state: TurnState) -> int | None:
        """Thinking tokens left in the budget (None: no budget, or not thinking)."""
        budget = self.settings.max_thinking_tokens
        if state.mode != "think" or budget <= 0:
            return None
        return budget - state.thought

    def _end_thinking(self, state: TurnState) -> Iterator[Event]:
        """The thinking budget is spent: a wrap-up line and ``</think>``, then the answer."""
        wrap = f"\n\n{WRAP_UP}\n"
        self.context += self.engine.tokenize(wrap + f"{THINK_END}\n\n", trusted=True)
        state.mode = "answer"
        yield ThinkingDelta(wrap)
        budget = self.settings.max_thinking_tokens
        yield Notice(f"the thinking budget ({budget} tokens) ended the thinking", kind="thinking")

    def _generate(self, state: TurnState) -> Generator[Event, None, tuple[Generation, CallScanner]]:
        s = self.settings
        markers = list(_OVERREACH)
        if state.mode == "think":
            markers.append(THINK_END)
        left = s.max_tokens - state.generated if s.max_tokens > 0 else 0
        if s.max_tokens > 0 and left <= 0:
            raise TurnOver("max_tokens", "stopped at the per-question token limit (max_tokens)")
        think_left = self._think_left(state)
        if think_left is not None:  # > 0 here: the loop ends a spent budget before this
            left = min(left, think_left) if left else think_left
        gen = Generation()
        scan = CallScanner(self.tools, markers, after_call=state.after_call)
        state.after_call = False
        state.prev_gen, state.prev_end = state.gen, state.gen_end
        thinking = state.mode == "think"
        for text in self._stream(state, gen, max_tokens=left, markers=scan):
            if thinking:
                yield ThinkingDelta(text)
            else:
                state.answer.append(text)
                yield AnswerDelta(text)
        if scan.head_dropped:
            self._drop_head(gen, scan.head_dropped)
        self.context += gen.tokens
        state.gen, state.gen_end = gen, len(self.context)
        state.generated += len(gen.tokens)
        if thinking:
            state.thought += len(gen.tokens)
        yield stats_event("generate", gen, len(self.context), self.engine.info.n_ctx)
        return gen, scan

    def _stream(
        self,
        state: TurnState,
        gen: Generation,
        *,
        max_tokens: int,
        markers: Scanner | Sequence[str] = (),
        grammar: str | None = None,
    ) -> Iterator[str]:
        """One engine call on the context; each call gets its own seed derived from the
        question's, so a re-run with the same seed samples the same tokens."""
        state.calls += 1
        return self.engine.stream(
            self.context,
            gen,
            sampling=self.settings.sampling,
            seed=state.seed + state.calls,
            max_tokens=max_tokens,
            markers=markers,
            grammar=grammar,
            cancel=state.controls.interrupt,
        )

    def _rewind(self, gen: Generation, start: int) -> int:
        """Cut the tokens of ``gen`` back to text offset ``start`` (re-tokenizing a split
        token); returns how many tokens now stand for ``gen``'s text before ``start``."""
        keep = gen.tokens_before(start)
        partial_from = gen.ends[keep - 1] if keep else 0
        del self.context[len(self.context) - len(gen.tokens) + keep :]
        partial = self.engine.tokenize(gen.text[partial_from:start], trusted=False)
        self.context += partial
        return keep + len(partial)


def _no_room(first: bool, used: int, needed: int, reserve: int, n_ctx: int, fix: str) -> str:
    """What does not fit and the flag that fixes it (words for every front end: the CLI has
    no Ctrl+N, and a new session cannot help a first question)."""
    if first:
        return (
            f"this question does not fit in the context: the prompt takes {needed} tokens "
            f"and {reserve} are kept for the answer (answer_reserve), more than n_ctx "
            f"{n_ctx}; {fix}"
        )
    return (
        f"this follow-up does not fit in the context: the session uses {used} of {n_ctx} "
        f"tokens, the question needs {needed} and {reserve} are kept for the answer; start "
        f"a new session, or {fix} and continue it"
    )
