"""The search policy, written once: the budget, the forced first searches, refusals (and
when too many end the turn), repeated queries, and the numbering of sources.

It turns one tool call into a ``ToolResult`` event and the tokens of the response body; it
never generates. The loop decides when to call it. The provider runs on a worker thread
while this one waits for it, ``search_timeout`` (the whole search), or ``stop`` (the turn's
interrupt: Ctrl+C, Esc), whichever comes first; a search left behind ends on its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from qwq_edge.agent import prompts
from qwq_edge.errors import ErrorKind, SearchError
from qwq_edge.events import Origin, PageOpened, SearchHit, Source, ToolResult
from qwq_edge.search.base import SearchProvider, SearchResponse, timeout_message
from qwq_edge.settings import Settings

MAX_REFUSED_CALLS = 2  # calls past the budget answered "no searches left" before we stop
Tokenize = Callable[[str, bool], list[int]]  # (text, trusted) -> tokens
EarlyEnd = Literal["budget", "cancelled", "context_full", "max_tokens"]


POLL = 0.05  # seconds between looks at the deadline and the stop event during a search


class Stopped(Exception):
    """The turn's interrupt was set while a tool waited (a search, a page)."""


T = TypeVar("T")


def waited(
    work: Callable[[], T], stop: threading.Event | None, limit: float | None, name: str
) -> T:
    """``work()`` run on a thread of its own and waited for on this one, until it returns
    (or raises), ``limit`` seconds pass (``TimeoutError``) or ``stop`` is set (``Stopped``).
    Work left behind ends on its own: a search or a fetch is bounded by its own deadline."""
    outcome: list[T | BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    deadline = time.monotonic() + limit if limit is not None else None
    while not done.wait(POLL):
        if stop is not None and stop.is_set():
            raise Stopped
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


class TurnOver(Exception):
    """Ends a question early with a reason (and a sentence for the user, if any)."""

    def __init__(self, reason: EarlyEnd, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message


@dataclass
class Budget:
    """One question's searches: what was spent, refused, and whether to answer now."""

    max_searches: int
    min_searches: int
    searches: int = 0  # searches that reached the provider
    attempts: int = 0  # tool calls made, whatever became of them
    refused: int = 0
    answer_now: bool = False
    opens: int = 0  # pages the model opened (``open``), failed ones included

    @property
    def left(self) -> int:
        return max(0, self.max_searches - self.searches)

    def should_force(self, available: bool) -> bool:
        """Open a call for the model (``min_searches``). Attempts, not searches: an offline
        miss must not force another call."""
        wanted = min(self.min_searches, self.max_searches)
        return available and self.attempts < wanted and not self.answer_now

    def refuse(self, why: str) -> None:
        """Count a refused call; past ``MAX_REFUSED_CALLS`` the turn ends with ``why``."""
        self.refused += 1
        if self.refused > MAX_REFUSED_CALLS:
            raise TurnOver("budget", why)


class Searcher:
    """One session's searching: the provider, the sources numbered so far (shared by every
    question, so [n] stays the same source), and the queries already answered."""

    def __init__(
        self, provider: SearchProvider | None, settings: Settings, tokenize: Tokenize
    ) -> None:
        self.provider = provider
        self.settings = settings
        self.tokenize = tokenize
        self.sources: dict[int, Source] = {}
        self._by_url: dict[str, Source] = {}
        self._queries: dict[str, ToolResult] = {}  # normalized query -> its result
        self.unavailable: str | None = None
        self.stop: threading.Event | None = None  # set by the runtime: the turn's interrupt
        self.note: list[int] = []  # the closing note of the last results body (read_top
        # puts the pages it read before it, so the note stays the last thing the model reads)

    def check(self) -> str | None:
        """Why searching cannot work in this session, asked once per session."""
        self.unavailable = (
            self.provider.unavailable() if self.provider else "web search is turned off"
        )
        return self.unavailable

    def remember(self, results: list[ToolResult | PageOpened]) -> None:
        """Take back a journaled session's searches and opens: the same [n] for the same
        page, and no paid search repeated for a query it already made."""
        for result in results:
            found = (result.source,) if isinstance(result, PageOpened) else result.sources
            for source in found:
                if source is None:
                    continue
                self.sources[source.n] = source
                if source.url:
                    self._by_url.setdefault(source.url, source)
            if isinstance(result, ToolResult) and result.error is None:
                self._queries[" ".join(result.query.casefold().split())] = result

    def forget_queries(self) -> None:
        """A new branch (a report's section) has not seen the other branches' results, so
        a query asked there is not a repeat here; sources keep their numbers."""
        self._queries.clear()

    def budget(self) -> Budget:
        return Budget(self.settings.max_searches, self.settings.min_searches)

    @property
    def provider_name(self) -> str:
        return self.provider.name if self.provider else "none"

    def run(
        self, budget: Budget, call_id: int, args: dict[str, object], error: str | None
    ) -> tuple[ToolResult, list[int]]:
        """Answer one call: the event, and the tokens of its response body."""
        s = self.settings
        query = str(args.get("query", "")).strip()

        def refuse(message: str, kind: ErrorKind) -> tuple[ToolResult, list[int]]:
            result = ToolResult(
                call_id, self.provider_name, query, error=message, error_kind=kind,
                searches_left=budget.left,
            )  # fmt: skip
            return result, self.tokenize(message, True)

        if error is not None:
            return refuse(prompts.invalid_call(error), "invalid")
        if self.unavailable is not None:
            return refuse(prompts.UNAVAILABLE, "unavailable")
        key = " ".join(query.casefold().split())
        earlier = self._queries.get(key)
        if earlier is not None:
            # A weak model repeating itself: show the same results again, free, and push it
            # to answer (a bare refusal tends to make small models stop with no answer).
            budget.answer_now = True
            budget.refuse("the model kept repeating the same search")
            again = ToolResult(
                call_id, earlier.provider, query, earlier.hits, earlier.sources,
                cached=True, searches_left=0,
            )  # fmt: skip
            return again, self.results_body(earlier.hits, earlier.sources, prompts.REPEATED)
        if budget.searches >= s.max_searches or budget.answer_now:
            budget.refuse("the model kept searching after its search budget ran out")
            return refuse(prompts.NO_SEARCHES_LEFT, "budget")
        t0 = time.perf_counter()
        try:
            response = self._search(query)
        except Stopped:  # not spent: the turn is being cancelled or told to answer now
            result, _ = refuse(prompts.STOPPED, "cancelled")
            return result, self.tokenize(prompts.STOPPED, True)
        except SearchError as exc:
            if exc.kind in ("offline", "went_offline"):  # not a search: nothing was spent
                budget.refuse("offline, and the model kept searching")
                result, _ = refuse(str(exc), exc.kind)
                return replace(result, offline=True), self.tokenize(prompts.offline(str(exc)), True)
            budget.searches += 1  # a failed search still spends the budget: no retry loops
            result, _ = refuse(str(exc), exc.kind)
            # The provider's message may quote the query back: untrusted.
            return result, self.tokenize(prompts.search_failed(str(exc)), False)
        budget.searches += 1
        sources = tuple(self._number(h, response) for h in response.hits)
        result = ToolResult(
            call_id=call_id,
            provider=response.provider,
            query=query,
            hits=response.hits,
            sources=sources,
            cached=response.cached,
            offline=response.offline,
            searches_left=budget.left,
            seconds=time.perf_counter() - t0,
            cut=response.cut,
            partial=response.partial,
            partial_kind=response.partial_kind,
        )
        self._queries[key] = result
        note = prompts.searches_left(budget.left)
        if response.cut:
            note = prompts.cut(response.cut) + note
        if response.partial:
            note = prompts.partial(response.partial_kind) + note
        return result, self.results_body(response.hits, sources, note)

    def _search(self, query: str) -> SearchResponse:
        """The provider's answer, waited for on this thread until it comes, the deadline
        passes (``SearchError``, kind ``timeout``) or ``stop`` is set (``Stopped``)."""
        provider = self.provider
        assert provider is not None
        limit = self.settings.search_timeout
        try:
            return waited(
                lambda: provider.search(query, max_results=self.settings.max_results),
                self.stop, limit, "qwq-edge-search",
            )  # fmt: skip
        except TimeoutError:
            raise SearchError(timeout_message(limit), "timeout") from None

    def _number(self, hit: SearchHit, response: SearchResponse) -> Source:
        known = self._by_url.get(hit.url) if hit.url else None
        if known is not None:
            return known
        return self.number(hit.url, hit.title, hit.origin, response.fetched_at, response.key)

    def number(
        self, url: str, title: str, origin: Origin, fetched_at: float, key: str = ""
    ) -> Source:
        """The next number, for a page no search returned (``open`` of a new URL)."""
        n = len(self.sources) + 1
        source = Source(n, title, url, key, fetched_at, origin)
        self.sources[source.n] = source
        if url:
            self._by_url.setdefault(url, source)
        return source

    def by_url(self, url: str) -> Source | None:
        return self._by_url.get(url)

    def results_body(
        self, hits: tuple[SearchHit, ...], sources: tuple[Source, ...], note: str
    ) -> list[int]:
        """Numbered results, each capped at ``result_tokens``, the whole at ``response_tokens``;
        result text is untrusted (it can never forge a call or close the block)."""
        s = self.settings
        tok = self.tokenize
        out: list[int] = []
        if not hits:
            out += tok(prompts.NO_RESULTS, True)
        for hit, src in zip(hits, sources, strict=True):
            piece = tok(f"[{src.n}] ({prompts.ORIGIN_LABELS[hit.origin]}) ", True)
            piece += tok(f"{hit.title}\nURL: {hit.url}\n", False)
            content = tok(" ".join(hit.content.split()), False)
            piece += content[: s.result_tokens]
            piece += tok(" …\n\n" if len(content) > s.result_tokens else "\n\n", True)
            if out and len(out) + len(piece) > s.response_tokens:
                break
            out += piece[: s.response_tokens]
        self.note = tok(note, True)
        return out + self.note
