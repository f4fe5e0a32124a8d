"""The ``open`` tool: reading a source whole, around what the question needs.

It turns one call into a ``PageOpened`` event and the tokens of its response body, like
``Searcher.run`` for a search. The policy is written here once:

- ``source`` is a number of this session (``3`` or ``[3]``) or a URL; a URL that a search
  already returned keeps its number, any other gets the next one;
- a web URL may be opened only when it appeared verbatim in a search result, a page the
  model opened, or the user's own messages (``open_any`` lifts this): a model must not be
  able to carry text from its context out in a URL it made up;
- ``file://`` and ``zim://`` URIs open only what the library holds (the reader checks);
- a budget of opens per question (``max_opens``), refusals counted with the searches';
- ``read_top`` opens the top results of a search for the model, focused on the question.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from qwq_edge.agent import prompts
from qwq_edge.agent.searching import Budget, Searcher, Stopped, Tokenize, waited
from qwq_edge.errors import ErrorKind, ReadError
from qwq_edge.events import PageOpened, ReadPassage, Source, ToolResult
from qwq_edge.reading.focus import select
from qwq_edge.reading.reader import Page, PageReader, not_a_source
from qwq_edge.settings import Settings

_URL = re.compile(r"""https?://[^\s<>"'`\]\[)(]+""")
_NUMBER = re.compile(r"^\[?\s*(\d{1,4})\s*\]?$")


def urls_in(text: str) -> set[str]:
    """Every http(s) URL written in ``text`` (a trailing full stop or comma is not part)."""
    return {m.group(0).rstrip(".,;:!?") for m in _URL.finditer(text)}


def opened_event(
    call_id: int,
    url: str,
    focus: str,
    source: Source | None,
    page: Page,
    indices: tuple[int, ...],
    *,
    auto: bool = False,
) -> PageOpened:
    """What was read of ``page``: the event every front end, the journal and replay show."""
    read = tuple(ReadPassage(i, page.passages[i].heading, page.passages[i].text) for i in indices)
    return PageOpened(
        call_id, url, focus, source, page.title, read, len(page.passages), page.origin,
        cached=page.cached, auto=auto, fetch_seconds=page.fetch_seconds, cut=page.cut,
        author=page.author, published=page.published,
    )  # fmt: skip


def _scheme(url: str) -> str:
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:
        return ""  # refused below as "a URL without a scheme"


class Opener:
    """One session's opening: the reader, and the URLs the model has been given."""

    def __init__(
        self, reader: PageReader | None, searcher: Searcher, settings: Settings, tokenize: Tokenize
    ) -> None:
        self.reader = reader
        self.searcher = searcher
        self.settings = settings
        self.tokenize = tokenize
        self.allowed: set[str] = set()  # URLs seen in results, opened pages, the user's words
        self.question = ""  # the focus when the model gives none
        self.read_urls: set[str] = set()  # read this question (read_top skips them)
        # Asks the user about a URL nobody gave (the app's confirmation); None: refuse it.
        self.confirm: Callable[[str], bool] | None = None

    # -- what the model has been given -------------------------------------------------

    def start(self, question: str) -> None:
        """A new question: its words are the default focus, its URLs may be opened."""
        self.question = question
        self.read_urls.clear()
        self.saw_text(question)

    def saw_text(self, text: str) -> None:
        self.allowed |= urls_in(text)

    def saw_result(self, result: ToolResult) -> None:
        for hit in result.hits:
            self.allowed.add(hit.url)
            self.allowed |= urls_in(hit.content)

    def saw_page(self, page: Page) -> None:
        self.allowed.update(page.links)
        for p in page.passages:
            self.allowed |= urls_in(p.text)

    # -- one call ----------------------------------------------------------------------

    def run(
        self, budget: Budget, call_id: int, args: dict[str, Any], error: str | None
    ) -> tuple[PageOpened, list[int]]:
        """Answer one ``open`` call: the event, and the tokens of its response body."""
        asked = str(args.get("source", "")).strip()
        focus = " ".join(str(args.get("focus") or "").split())

        def refuse(message: str, kind: ErrorKind) -> tuple[PageOpened, list[int]]:
            event = PageOpened(call_id, asked, focus, error=message, error_kind=kind)
            return event, self.tokenize(prompts.open_failed(message), False)

        if error is not None:
            return refuse(error, "invalid")
        if self.reader is None:
            return refuse("opening sources is not available in this session", "unavailable")
        if budget.opens >= self.settings.max_opens or budget.answer_now:
            budget.refuse("the model kept opening pages after its budget ran out")
            event, _ = refuse("no opens remain", "budget")
            return event, self.tokenize(prompts.NO_OPENS_LEFT, True)
        try:
            url, known = self._resolve(asked)
        except ReadError as exc:
            budget.refuse("the model kept opening sources it may not open")
            return refuse(str(exc), exc.kind)
        return self.read(budget, call_id, url, known, focus)

    def read(
        self,
        budget: Budget,
        call_id: int,
        url: str,
        known: Source | None,
        focus: str,
        *,
        auto: bool = False,
    ) -> tuple[PageOpened, list[int]]:
        """Read ``url`` (a checked one) around ``focus`` (the question when empty)."""
        assert self.reader is not None
        t0 = time.perf_counter()
        try:
            page = self._read(url)
        except ReadError as exc:
            if exc.kind not in ("offline", "cancelled"):
                budget.opens += 1  # a failed open is spent: no retry loops
            event = PageOpened(
                call_id, url, focus, known, auto=auto, error=str(exc), error_kind=exc.kind,
                seconds=time.perf_counter() - t0,
            )  # fmt: skip
            return event, self.tokenize(prompts.open_failed(str(exc)), False)
        budget.opens += 1
        self.saw_page(page)
        self.read_urls.add(url)
        source = known or self.searcher.number(url, page.title, page.origin, page.fetched_at)
        chosen = select(
            page.passages, focus or self.question, max_tokens=self.settings.open_max_tokens,
            measure=lambda s: len(self.tokenize(s, False)),
        )  # fmt: skip
        event = opened_event(call_id, url, focus, source, page, chosen.indices, auto=auto)
        left = None if auto else max(0, self.settings.max_opens - budget.opens)
        body = self._body(source, page, chosen.where(), event.passages, left)
        return replace(event, seconds=time.perf_counter() - t0, tokens=len(body)), body

    def top(self, budget: Budget, result: ToolResult) -> Iterator[tuple[PageOpened, list[int]]]:
        """``read_top``: the search's first K results that are web pages, read for the model
        with the question as the focus (the model's own opens are not spent on them)."""
        if self.reader is None or result.error is not None or budget.answer_now:
            return
        wanted = self.settings.read_top
        for source in result.sources:
            if wanted <= 0:
                break
            if _scheme(source.url) not in ("http", "https", "file", "zim"):
                continue
            if source.url in self.read_urls:  # read already this turn (a repeated search)
                wanted -= 1
                continue
            wanted -= 1
            spare = Budget(budget.max_searches, budget.min_searches)  # not the model's opens
            event, body = self.read(spare, result.call_id, source.url, source, "", auto=True)
            # A page the model did not ask for and that could not be read: the front ends
            # say so; the model's context is left as the search left it.
            yield event, [] if event.error else body

    def _read(self, url: str) -> Page:
        """``reader.read``, given up when the turn is interrupted (Ctrl+C, Esc, answer
        now): a page that drips must not hold the turn (the fetch has its own deadline)."""
        reader = self.reader
        assert reader is not None
        try:
            return waited(lambda: reader.read(url), self.searcher.stop, None, "qwq-edge-open")
        except Stopped:
            raise ReadError("the open was stopped before the page arrived", "cancelled") from None

    def _resolve(self, asked: str) -> tuple[str, Source | None]:
        """The URL to read and its number if it has one; ``ReadError`` when refused."""
        m = _NUMBER.match(asked)
        if m:
            n = int(m.group(1))
            source = self.searcher.sources.get(n)
            if source is None or not source.url:
                raise ReadError(f"there is no source [{n}] in this session", "invalid")
            return source.url, source
        url = asked.strip("<>[]() ")
        known = self.searcher.by_url(url)
        if known is not None:
            return url, known
        scheme = _scheme(url)
        if scheme in ("file", "zim"):
            return url, None  # the reader opens only what the library holds
        if scheme not in ("http", "https"):
            raise ReadError(not_a_source(scheme), "refused")
        if not self.settings.open_any and url not in self.allowed:
            if self.confirm is not None and self.confirm(url):
                self.allowed.add(url)
                return url, None
            raise ReadError(
                "this URL did not appear in a search result, an opened page or the user's "
                "message, so it is not opened (open_any allows it)",
                "refused",
            )
        return url, None

    def _body(
        self,
        source: Source,
        page: Page,
        where: str,
        read: tuple[ReadPassage, ...],
        left: int | None,
    ) -> list[int]:
        """The source's header, then each passage under its heading: page text untrusted."""
        tok = self.tokenize
        label = prompts.ORIGIN_LABELS[page.origin]
        out = tok(f"[{source.n}] ", True) + tok(page.title, False)
        out += tok(f" — {where} ({label})\nURL: ", True) + tok(page.url, False) + tok("\n", True)
        if page.cut:
            out += tok(prompts.page_cut(page.cut), True)
        limit = self.settings.open_max_tokens
        heading = None
        for p in read:
            piece: list[int] = []
            if p.heading and p.heading != heading:
                piece += tok("\n§ ", True) + tok(p.heading, False) + tok("\n", True)
                heading = p.heading
            piece += tok(" ".join(p.text.split()), False) + tok("\n", True)
            if len(out) + len(piece) > limit:
                out += piece[: max(0, limit - len(out))] + tok(" …\n", True)
                break
            out += piece
        return out + tok(prompts.opens_left(left, source.n), True)
