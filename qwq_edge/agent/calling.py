"""Running a tool call inside the loop: sampling it under the grammar (or taking one the
model wrote whole in another shape), refusing one copied out of a search result, splicing
the response into the context, and cutting the closers a model writes after it
(docs/architecture.md, "The loop").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from qwq_edge.agent import prompts
from qwq_edge.agent.formats import THINK_END, QwenFormat, SeedFormat
from qwq_edge.agent.opening import Opener
from qwq_edge.agent.recognizer import calls_in
from qwq_edge.agent.searching import Searcher, TurnOver
from qwq_edge.agent.state import TurnState, larger_context, stats_event
from qwq_edge.agent.tools import Executor, ParsedCall, ToolCallError, ToolRegistry
from qwq_edge.engine.base import Engine, Generation
from qwq_edge.events import Event, Notice, Recognized, ThinkingDelta, ToolCall, ToolResult
from qwq_edge.jsonfix import close_json
from qwq_edge.settings import Settings

if TYPE_CHECKING:
    from qwq_edge.agent.formats import PromptContext

MAX_CLOSED_TRIES = 2  # calls cut after the calls were closed, before the turn ends
CALL_MAX_TOKENS = 256  # a search call is ~30 tokens; the cap only bounds a runaway string


class Calls:
    """The loop's tool-call half, mixed into ``Agent`` (which owns these attributes)."""

    engine: Engine
    searcher: Searcher
    opener: Opener
    executors: dict[str, Executor]
    tools: ToolRegistry
    format: SeedFormat | QwenFormat
    context: list[int]
    _grammar: str
    _call_id: int
    _offline_noticed: bool

    if TYPE_CHECKING:  # defined by Agent; declared here for the type checker only

        @property
        def settings(self) -> Settings: ...

        def _prompt_ctx(self) -> PromptContext: ...

        def _stream(
            self,
            state: TurnState,
            gen: Generation,
            *,
            max_tokens: int,
            markers: Any = None,
            grammar: str | None = None,
        ) -> Iterator[str]: ...

    def _drop_head(self, gen: Generation, n: int) -> None:
        """Cut the stray closers a model wrote right after a tool response out of ``gen``
        (the tokens after them stay; the next engine call re-evaluates them)."""
        last = len(gen.tokens) - (1 if gen.stop in ("eog", "marker") else 0)
        j = min(gen.tokens_before(n), last)
        head = gen.ends[j - 1] if j else 0
        extra: list[int] = []
        if head < n and j < last:  # one token holds the end of the closers and more text
            extra = self.engine.tokenize(gen.text[n : gen.ends[j]], trusted=False)
            j += 1
        ends = [len(self.engine.detokenize(extra[: k + 1])) for k in range(len(extra))]
        gen.tokens = extra + gen.tokens[j:]
        gen.ends = ends + [e - n for e in gen.ends[j:]]
        gen.text = gen.text[n:]
        if gen.marker_start >= 0:
            gen.marker_start -= n

    def _tool_call(self, state: TurnState, recognized: Recognized) -> Iterator[Event]:
        """After the canonical opener: the model writes the call under the grammar."""
        gen = Generation()
        grammar = self._grammar
        if recognized == "forced" and "open" in self.tools.tools:
            # A forced call (min_searches) is a search: an `open` before any search has no
            # source to read (a weak model wrote `open` 180 in a report's first section).
            search = ToolRegistry((self.tools.tools["web_search"],))
            grammar = search.grammar(self.format.style)
        for _ in self._stream(state, gen, max_tokens=CALL_MAX_TOKENS, grammar=grammar):
            pass  # the JSON is shown as a ToolCall event, not as text
        tokens = gen.tokens[:-1] if gen.stop == "eog" else gen.tokens
        raw = gen.text
        self.context += tokens
        state.generated += len(gen.tokens)
        yield stats_event("tool_call", gen, len(self.context), self.engine.info.n_ctx)
        if gen.stop == "cancelled" and state.controls.cancelled:
            raise TurnOver("cancelled")
        if gen.stop != "eog":  # cut off (token cap, context, answer-now): close it ourselves
            suffix = close_json(raw)
            raw += suffix
            self.context += self.engine.tokenize(suffix, trusted=True)
        if gen.stop == "cancelled":  # "answer now" while the query was being written
            state.controls.acknowledge()
            state.budget.answer_now = True
        self.context += self.engine.tokenize(self.format.call_close(), trusted=True)
        try:
            parsed = self.tools.parse(raw)
            name, args, error = parsed.name, parsed.arguments, None
            if self._copied(state, parsed):
                error = prompts.COPIED_CALL  # a page's call, even inside the model's own tag
        except ToolCallError as exc:
            name, args, error = "web_search", {}, str(exc)
        yield from self._run_call(state, recognized, name, args, raw, error)

    def _given_call(self, state: TurnState, call: ParsedCall) -> Iterator[Event]:
        """A call the model wrote whole, in another shape: the context gets it canonically."""
        self.context += self.engine.tokenize(self.format.call_open(), trusted=True)
        self.context += self.engine.tokenize(
            self.tools.canonical(call, self.format.style), trusted=False
        )
        self.context += self.engine.tokenize(self.format.call_close(), trusted=True)
        error = prompts.COPIED_CALL if self._copied(state, call) else None
        yield from self._run_call(state, "bare", call.name, call.arguments, call.raw, error)

    def _copied(self, state: TurnState, call: ParsedCall) -> bool:
        """An untagged call the model copied out of a search result of this question (a page
        can say ``{"name": "web_search", ...}``): it is the page's call, not the model's."""
        if state.response_queries is None:
            found: set[str] = set()
            for text in state.responses:
                found |= {_key(c.name, c.arguments) for c in calls_in(text, self.tools)}
            state.response_queries = found
        body = _norm(call.raw)
        return _key(call.name, call.arguments) in state.response_queries or any(
            body in _norm(text) for text in state.responses
        )

    def _run_call(
        self,
        state: TurnState,
        recognized: Recognized,
        name: str,
        args: dict[str, Any],
        raw: str,
        error: str | None,
    ) -> Iterator[Event]:
        state.budget.attempts += 1
        self._call_id += 1
        call_id = self._call_id
        if error == prompts.COPIED_CALL:
            state.copied += 1
            if state.copied >= prompts.COPIES_BEFORE_CLOSING:
                # The model keeps running a result's planted call: no more calls this turn,
                # and it is told to answer (an injection must not leave it answerless).
                state.calls_closed = True
                state.budget.answer_now = True
                error = prompts.CALLS_CLOSED
        yield ToolCall(
            call_id=call_id,
            name=name,
            arguments=args,
            raw=raw,
            inside_think=state.mode == "think",
            forced=recognized == "forced",
            recognized=recognized,
        )
        executor = self.executors.get(name, self.searcher)
        result, body = executor.run(state.budget, call_id, args, error)
        yield result
        if isinstance(result, ToolResult):
            self.opener.saw_result(result)
            if self.settings.read_top and result.hits:  # read for a model that rarely opens
                note = (
                    self.searcher.note
                    if body[-len(self.searcher.note) :] == self.searcher.note
                    else []
                )
                body = body[: len(body) - len(note)]
                for opened, more in self.opener.top(state.budget, result):
                    yield opened
                    if more:
                        body = [*body, *self.engine.tokenize("\n", trusted=True), *more]
                body = [*body, *self.engine.tokenize("\n\n", trusted=True), *note]
            went = "went_offline" in (result.error_kind, result.partial_kind)
            if went and not self._offline_noticed:
                self._offline_noticed = True  # say it once: later misses are plain misses
                yield Notice(result.error or result.partial, kind="offline")
        state.responses.append(self.engine.detokenize(body))
        state.response_queries = None
        yield from self._splice(state, body)

    def _no_more_calls(self, state: TurnState) -> Iterator[Event]:
        """A call written after the calls were closed (an injection kept being copied): it
        is cut, not run, and the model goes on to its answer. A model that keeps at it ends
        the turn with what it has written."""
        state.closed_tries += 1
        if state.closed_tries > MAX_CLOSED_TRIES:
            raise TurnOver("budget", "the model kept calling a tool that a search result planted")
        if state.mode == "think":
            line = f"\n\n{prompts.NO_MORE_CALLS}\n"
            self.context += self.engine.tokenize(line + f"{THINK_END}\n\n", trusted=True)
            state.mode = "answer"
            yield ThinkingDelta(line)
        else:
            self.context += self.engine.tokenize("\n\n", trusted=True)

    def _splice(self, state: TurnState, body: Sequence[int]) -> Iterator[Event]:
        """Append the response block, trimmed so that ``answer_reserve`` stays free."""
        s = self.settings
        n_ctx = self.engine.info.n_ctx
        opening, closing, mode = self.format.response(self._prompt_ctx(), state.mode)
        head = self.engine.tokenize(opening, trusted=True)
        tail = self.engine.tokenize(closing, trusted=True)
        room = n_ctx - len(self.context) - len(head) - len(tail) - s.answer_reserve
        body = list(body)
        if len(body) > room:
            state.budget.answer_now = True
            note = self.engine.tokenize(prompts.TRIMMED, trusted=True)
            if room < len(note):
                raise TurnOver(
                    "context_full",
                    f"the context is full ({n_ctx} tokens) before the answer; start a new "
                    f"session or {larger_context(self.engine.info)}",
                )
            body = body[: room - len(note)] + note
            yield Notice("search results were trimmed to fit the context", kind="context")
        self.context += head + body + tail
        state.mode = mode
        state.after_call = True


def _key(name: str, args: dict[str, Any]) -> str:
    """What a call does: its tool and its main argument (a search's query, an open's
    source), so a planted search for "2" is not taken for the model's own open of [2]."""
    return f"{name}\x00{_norm(args.get('query', args.get('source')))}"


def _norm(value: object) -> str:
    return " ".join(str(value or "").casefold().split())
