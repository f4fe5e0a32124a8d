"""The spine: typed, frozen events the agent yields and every front end consumes.

Each event serializes to one JSON object with a ``type`` field (``to_dict``/``from_dict``);
``ask --json``, the journal and replay use this same encoding.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, get_args, get_type_hints

from qwq_edge.errors import ErrorKind

FinishReason = Literal["eos", "budget", "cancelled", "error", "context_full", "max_tokens"]
NoticeKind = Literal["info", "no_search", "offline", "context", "journal", "thinking"]
Recognized = Literal["tag", "bare", "forced"]  # how a tool call was found in the output
# Where a search result came from: a live web search, the search cache (an earlier web
# result), an imported search pack or bundle, a Kiwix ZIM archive, or a document folder.
# "page": a web page that was opened (`open`) and kept in the library.
Origin = Literal["web", "cache", "pack", "zim", "file", "page"]


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class SearchHit:
    """One search result as the model saw it (content already trimmed is in ToolResult)."""

    title: str
    url: str
    content: str
    score: float | None = None
    origin: Origin = "web"


@dataclass(frozen=True)
class Source:
    """A numbered source the answer can cite as ``[n]``."""

    n: int
    title: str
    url: str
    cache_key: str = ""  # where the exact snippet the model saw is kept (search cache)
    fetched_at: float = 0.0
    origin: Origin = "web"


@dataclass(frozen=True)
class SessionStarted:
    session_id: str
    question: str
    model: str
    settings: dict[str, Any]
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class QuestionAsked:
    """Every question, the first included; ``turn`` counts from 1."""

    turn: int
    question: str
    seed: int = -1  # the sampling seed this question ran with (replay re-runs it)
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ThinkingDelta:
    text: str
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class AnswerDelta:
    text: str
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class AnswerRetracted:
    """The last ``chars`` characters of the streamed answer turned out to be the opening of a
    tool call (a fence or a tag streamed before the call was recognized): drop them. Every
    consumer that joins ``AnswerDelta`` texts applies it, so the stream equals the answer."""

    chars: int
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ToolCall:
    call_id: int
    name: str
    arguments: dict[str, Any]
    raw: str
    inside_think: bool
    forced: bool = False  # the app opened the call (--min-searches), the model wrote the query
    recognized: Recognized = "tag"  # "bare": untagged JSON; "forced": --min-searches
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ToolResult:
    call_id: int
    provider: str
    query: str
    hits: tuple[SearchHit, ...] = ()
    sources: tuple[Source, ...] = ()  # the numbers given to ``hits``, in order
    cached: bool = False
    offline: bool = False
    error: str | None = None
    error_kind: ErrorKind | None = None
    searches_left: int = 0
    seconds: float = 0.0
    t: float = field(default_factory=_now)
    cut: int = 0  # the response was longer than this many bytes and was cut there
    partial: str = ""  # why some sources did not answer while others did
    partial_kind: ErrorKind | None = None


@dataclass(frozen=True)
class ReadPassage:
    """One passage of an opened source, as the model read it."""

    index: int  # where it sits in the document, from 0
    heading: str  # its heading path ("" at the top)
    text: str


@dataclass(frozen=True)
class PageOpened:
    """The ``open`` tool's outcome: the passages of one source read around ``focus``, or why
    it could not be read. ``call_id`` is the call's own, or the search's when ``auto``
    (``read_top`` opened the search's top results for the model)."""

    call_id: int
    url: str
    focus: str = ""
    source: Source | None = None  # the number the page is cited by (the same as its result's)
    title: str = ""
    passages: tuple[ReadPassage, ...] = ()
    total: int = 0  # passages in the whole document
    origin: Origin = "web"
    cached: bool = False  # read from the library's stored copy, not fetched now
    auto: bool = False
    fetch_seconds: float = 0.0  # fetching and extracting (0 for a stored copy)
    seconds: float = 0.0  # the whole open
    tokens: int = 0  # tokens added to the context
    cut: int = 0  # the page was longer than this many bytes and was read that far
    error: str | None = None
    error_kind: ErrorKind | None = None
    t: float = field(default_factory=_now)
    author: str = ""  # as the page states it (its metadata), for a bibliography
    published: str = ""  # the date the page states (ISO, or a year)


@dataclass(frozen=True)
class Stats:
    """One llama.cpp call: what was evaluated (prefill) and generated, and how fast."""

    phase: Literal["generate", "tool_call"]
    tokens_evaluated: int
    tokens_reused: int
    tokens_generated: int
    prompt_seconds: float
    gen_seconds: float
    context_used: int
    n_ctx: int
    # Why the call ended. Not "eog": its last sampled token is not in the KV cache yet, so
    # the next call evaluates it along with whatever was appended.
    stop: str = "eog"
    t: float = field(default_factory=_now)
    # Speculation: decode calls after the prefill, tokens drafted from the context, kept.
    decode_calls: int = 0
    drafted: int = 0
    accepted: int = 0

    @property
    def decode_tps(self) -> float:
        return self.tokens_generated / self.gen_seconds if self.gen_seconds > 0 else 0.0


@dataclass(frozen=True)
class Notice:
    """Something the user should know that does not stop the turn (no key, offline, ...)."""

    message: str
    kind: NoticeKind = "info"
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ErrorEvent:
    message: str
    kind: ErrorKind = "error"
    t: float = field(default_factory=_now)


# What every front end says under an answer with ``from_memory`` set.
FROM_MEMORY = "answered from the model's memory, no search made"


@dataclass(frozen=True)
class FinalAnswer:
    text: str
    sources: tuple[Source, ...] = ()
    unmatched: tuple[int, ...] = ()  # numbers cited as [n] that match no source
    t: float = field(default_factory=_now)
    # Answered from the model's memory: the answer has text, no search of this turn
    # returned a result (no call, refused calls, failed searches and offline misses alike),
    # and it cites no source of the session. False in journals written before the field,
    # so an old answer is never claimed as memory-only.
    from_memory: bool = False


@dataclass(frozen=True)
class Finished:
    reason: FinishReason
    turn: int = 1
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class PlanSection:
    """One section of a report's plan: what it is for and the questions it answers."""

    title: str
    goal: str
    questions: tuple[str, ...] = ()


PlanStatus = Literal["proposed", "approved", "edited", "rejected"]
Verdict = Literal["supported", "partly", "unsupported", "unmatched"]
SectionState = Literal["waiting", "researching", "writing", "verifying", "done", "missing"]


@dataclass(frozen=True)
class ReportPlanned:
    """A research report's plan: as the model wrote it (``proposed``), then as the user
    left it (``approved``, ``edited`` or ``rejected``). The last one is the plan that runs."""

    title: str
    sections: tuple[PlanSection, ...]
    status: PlanStatus = "proposed"
    topic: str = ""
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class SectionStarted:
    """Section ``index`` (from 1) of a report is researched next: its turn follows."""

    index: int
    title: str
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ClaimChecked:
    """One sentence of a report that cites sources, judged against their passages."""

    section: int
    sentence: str
    cited: tuple[int, ...]
    verdict: Verdict
    source: int = 0  # the source whose passage the verdict relied on (0: none)
    passage: str = ""  # that passage's text, as the verifier read it
    fixed: str | None = None  # with --fix: the rewritten sentence ("" when it was dropped)
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class SectionWritten:
    """A report section as it goes into the report: its Markdown (claims marked), a short
    summary (what later sections see), and the sources it cites."""

    index: int
    title: str
    text: str
    summary: str = ""
    sources: tuple[Source, ...] = ()
    unmatched: tuple[int, ...] = ()
    reason: FinishReason = "eos"
    t: float = field(default_factory=_now)


@dataclass(frozen=True)
class ReportWritten:
    """The report's files were written to ``folder``; ``partial`` lists what is missing."""

    folder: str
    partial: bool = False
    missing: tuple[str, ...] = ()  # titles of the sections not written
    files: tuple[str, ...] = ()
    t: float = field(default_factory=_now)


Event = (
    SessionStarted
    | QuestionAsked
    | ThinkingDelta
    | AnswerDelta
    | AnswerRetracted
    | ToolCall
    | ToolResult
    | PageOpened
    | Stats
    | Notice
    | ErrorEvent
    | FinalAnswer
    | Finished
    | ReportPlanned
    | SectionStarted
    | ClaimChecked
    | SectionWritten
    | ReportWritten
)


def assert_never(event: NoReturn) -> NoReturn:
    """The last case of a ``match`` over ``Event``: mypy fails wherever a new event type is
    not handled, and at run time an unknown event is a bug, not something to skip."""
    raise AssertionError(f"unhandled event {event!r}")


def _type_name(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


EVENT_TYPES: dict[str, type] = {_type_name(c): c for c in get_args(Event)}
_NESTED: dict[str, type] = {
    "hits": SearchHit, "sources": Source, "passages": ReadPassage, "sections": PlanSection,
}  # fmt: skip
_SINGLE: dict[str, type] = {"source": Source}  # one nested object (or None)


def _tuples(item: dict[str, Any]) -> dict[str, Any]:
    """A nested object's lists as tuples (a frozen dataclass holds tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in item.items()}


def event_type(event: Event) -> str:
    return _type_name(type(event))


def to_dict(event: Event) -> dict[str, Any]:
    data = dataclasses.asdict(event)
    return {"type": event_type(event), **data}


def from_dict(data: dict[str, Any]) -> Event:
    data = dict(data)
    kind = data.pop("type")
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            continue  # written by a newer version: ignore rather than fail a replay
        nested = _NESTED.get(key)
        if nested is not None and "tuple" in str(hints[key]):
            value = tuple(nested(**_tuples(item)) for item in value)
        elif key in _SINGLE and isinstance(value, dict):
            value = _SINGLE[key](**value)
        elif isinstance(value, list) and "tuple" in str(hints[key]):
            value = tuple(value)
        kwargs[key] = value
    event: Event = cls(**kwargs)
    return event


def to_json(event: Event) -> str:
    return json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":"))


def from_json(line: str) -> Event:
    return from_dict(json.loads(line))
