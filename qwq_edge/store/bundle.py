"""Portable sessions: a one-file JSON bundle (session, events, search payloads) and Markdown."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import time
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from qwq_edge.events import (
    FROM_MEMORY,
    AnswerDelta,
    AnswerRetracted,
    ErrorEvent,
    Event,
    FinalAnswer,
    PageOpened,
    QuestionAsked,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    from_dict,
    to_dict,
)
from qwq_edge.search.cache import SearchCache
from qwq_edge.store.journal import Journal, JournalError, SessionRow, is_session_id
from qwq_edge.text import printable

FORMAT = "qwq-edge-session"
VERSION = 1


def session_dict(journal: Journal, session_id: str) -> dict[str, Any]:
    row = journal.session(session_id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "session": dataclasses.asdict(row),
        "events": [to_dict(e) for e in journal.events(session_id)],
        # The exact context: a continue on another machine with the same model is exact too.
        "contexts": [
            {"turn": turn, "start": start, "tokens": base64.b64encode(blob).decode()}
            for turn, start, blob in journal.context_rows(session_id)
        ],
    }


def export_bundle(
    journal: Journal, session_id: str, target: Path, cache: SearchCache | None = None
) -> int:
    """Write the session, its events and every cached search payload it used. Returns the
    number of search payloads included."""
    data = session_dict(journal, session_id)
    searches = []
    if cache is not None:
        keys = {
            s["cache_key"]
            for e in data["events"]
            if e["type"] == "tool_result"
            for s in e.get("sources", [])
            if s.get("cache_key")
        }
        for key in sorted(keys):
            row = cache.entry(key)
            if row is not None:
                searches.append(dict(row))
    data["searches"] = searches
    target.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return len(searches)


def import_bundle(journal: Journal, source: Path, cache: SearchCache | None = None) -> str:
    """Make a bundle's session listable and replayable here. Returns its id. Every field
    of a bundle is untrusted: one that is not what qwq-edge writes refuses the whole bundle
    (one sentence), before anything is added."""
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise JournalError(f"cannot read {source} as a session bundle ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise JournalError(f"{source} is not a qwq-edge session bundle")
    version = data.get("version", 0)
    if not _is_int(version):
        raise _bad(source, f"its version is {version!r}")
    if version > VERSION:
        raise JournalError(f"{source} was written by a newer qwq-edge; upgrade to import it")
    row, events, searches = _checked(source, data)
    journal.insert_recorded(row, events, _contexts(data))
    if cache is not None and searches:
        pack = source.with_name(f".{source.name}.{time.time_ns()}.pack")
        try:
            _write_pack(pack, searches)
            cache.import_pack(pack)
        finally:
            pack.unlink(missing_ok=True)
    return str(row["id"])


_TEXT = ("title", "model")
_TEXT_OR_NONE = ("quant", "prompt_format", "model_sha256")
_INT_OR_NONE = ("model_size", "seed", "parent_turn")
_STATUSES = ("running", "done", "cancelled", "failed", "interrupted", "partial")
_KINDS = ("answer", "report")
_SEARCH_TEXT = ("key", "provider", "query", "norm_query", "params", "response")
_INT64 = 1 << 63
_LATEST = 1e11  # seconds since 1970: the year 5138, and a time every platform can show


def _is_int(value: object) -> bool:
    """An int SQLite can hold (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64


def _is_number(value: object, high: float = 1e300) -> bool:
    """A finite number from 0 to ``high`` (a time, a duration)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and 0 <= number <= high


def _bad(source: Path, what: str) -> JournalError:
    return JournalError(f"{source} is not a usable session bundle: {what}; nothing was imported")


def _checked(
    source: Path, data: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The bundle's session row, events and search rows, each checked for what it must be."""
    row = data.get("session")
    if not isinstance(row, dict):
        raise _bad(source, "it has no session")
    if not is_session_id(row.get("id")):
        raise _bad(source, f"its session id {row.get('id')!r} is not a qwq-edge session id")
    if row.get("parent") is not None and not is_session_id(row["parent"]):
        raise _bad(source, f"its parent session id {row['parent']!r} is not a qwq-edge one")
    problems = [
        *(k for k in _TEXT if not isinstance(row.get(k), str)),
        *(k for k in _TEXT_OR_NONE if not isinstance(row.get(k), (str, type(None)))),
        *(k for k in _INT_OR_NONE if row.get(k) is not None and not _is_int(row[k])),
        *(["created"] if not _is_number(row.get("created"), _LATEST) else []),
        *(["status"] if row.get("status") not in _STATUSES else []),
        *(["kind"] if row.get("kind", "answer") not in _KINDS else []),
        *(["answer"] if not isinstance(row.get("answer", ""), str) else []),
        *(["searches"] if not _is_int(row.get("searches", 0)) else []),
        *(["settings"] if not isinstance(row.get("settings", {}), dict) else []),
    ]
    if problems:
        raise _bad(source, f"its session's {problems[0]} is {row.get(problems[0])!r}")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise _bad(source, "its events are not a list")
    for n, event in enumerate(events, 1):
        try:
            ok = isinstance(event, dict) and _well_typed(from_dict(event))
        except Exception:  # whatever a damaged event makes the reader raise
            ok = False
        if not ok:
            raise _bad(source, f"its event {n} is damaged")
    searches = data.get("searches") or []
    if not isinstance(searches, list) or not all(_search_row(r) for r in searches):
        raise _bad(source, "its cached searches are damaged")
    return row, events, searches


_HINTS: dict[type, dict[str, Any]] = {}


def _well_typed(event: Any) -> bool:
    """Every text, number and flag of ``event`` is one (what the renderers rely on), and so
    are those of the objects inside it (hits, sources, passages read)."""
    cls = type(event)
    hints = _HINTS.get(cls) or _HINTS.setdefault(cls, get_type_hints(cls))
    for f in dataclasses.fields(event):
        want, value = hints[f.name], getattr(event, f.name)
        inner = value if isinstance(value, tuple) else (value,)
        if any(dataclasses.is_dataclass(v) and not _well_typed(v) for v in inner):
            return False
        if not _fits(want, value, f.name):
            return False
    return True


def _fits(want: Any, value: object, name: str = "") -> bool:
    """``value`` is of the declared type: a number (a time within the years a platform can
    show), a text, a flag, one of a ``Literal``'s values, an optional one, or a tuple of
    them. Other types (nested events, dicts) are checked elsewhere or taken as they are."""
    origin, args = get_origin(want), get_args(want)
    if want is float:
        return _is_number(value, _LATEST) if name in ("t", "fetched_at") else _is_real(value)
    if want is int:
        return _is_int(value)
    if want in (str, bool):
        return isinstance(value, want)
    if origin is Literal:
        return value in args
    if origin in (Union, UnionType):
        return any(_fits(a, value, name) for a in args)
    if want is type(None):
        return value is None
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return isinstance(value, tuple) and all(_fits(args[0], v) for v in value)
    return True


def _is_real(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _contexts(data: dict[str, Any]) -> list[tuple[int, int, bytes]]:
    """The exact contexts; a damaged token journal is dropped (the session still imports,
    and a continue re-tokenizes it)."""
    out = []
    try:
        for c in data.get("contexts") or []:
            turn, start = c["turn"], c["start"]
            if not (_is_int(turn) and _is_int(start)):
                return []
            out.append((turn, start, base64.b64decode(c["tokens"], validate=True)))
    except (KeyError, TypeError, ValueError):
        return []
    return out


def _search_row(row: object) -> bool:
    return (
        isinstance(row, dict)
        and all(isinstance(row.get(k), str) for k in _SEARCH_TEXT)
        and _is_number(row.get("fetched_at"))
        and _is_int(row.get("hits"))
    )


def _write_pack(path: Path, rows: list[dict[str, Any]]) -> None:
    import sqlite3

    from qwq_edge.search.cache import MIGRATIONS

    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.executemany(
        "INSERT INTO entries (key, provider, query, norm_query, params, response, fetched_at, hits)"
        " VALUES (:key, :provider, :query, :norm_query, :params, :response, :fetched_at, :hits)",
        rows,
    )
    conn.commit()
    conn.close()


def to_markdown(row: SessionRow, events: list[Event]) -> str:
    """A readable record: questions, thinking (folded), searches with results, answers."""
    out = [f"# {row.title}", ""]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created))
    out += [f"*{when} · {row.model} ({row.quant or '?'}) · {row.status}*", ""]
    thinking: list[str] = []
    answer: list[str] = []

    def flush() -> None:
        if thinking:
            out.extend(["<details><summary>Thinking</summary>", "", "".join(thinking).strip()])
            out.extend(["", "</details>", ""])
            thinking.clear()

    for e in events:
        if isinstance(e, QuestionAsked):
            out += [f"## {e.question}", ""]
        elif isinstance(e, ThinkingDelta):
            thinking.append(e.text)
        elif isinstance(e, ToolCall):
            flush()
            if e.name == "open":
                out += [f"**Open:** `{e.arguments.get('source', '')}`", ""]
            else:
                out += [f"**Search:** `{e.arguments.get('query', '')}`", ""]
        elif isinstance(e, PageOpened):
            if e.error:
                out += [f"> could not open {e.url}: {e.error}", ""]
            else:
                n = f"[{e.source.n}] " if e.source else ""
                read = ", ".join(str(p.index + 1) for p in e.passages)
                out += [f"- read {n}[{e.title}]({e.url}): passages {read} of {e.total}", ""]
        elif isinstance(e, ToolResult):
            if e.error:
                out += [f"> search failed: {e.error}", ""]
            for s in e.sources:
                out.append(f"- [{s.n}] [{s.title}]({s.url})")
            out.append("")
        elif isinstance(e, AnswerDelta):
            flush()
            answer.append(e.text)
        elif isinstance(e, AnswerRetracted):
            text = "".join(answer)
            answer[:] = [text[: max(0, len(text) - e.chars)]]
        elif isinstance(e, ErrorEvent):
            out += [f"> error: {e.message}", ""]
        elif isinstance(e, FinalAnswer):
            flush()
            out += [e.text or "".join(answer).strip(), ""]
            answer.clear()
            if e.unmatched:  # cited numbers no source has: the answer is not what it seems
                verb = "matches" if len(e.unmatched) == 1 else "match"
                cited = ", ".join(f"[{n}]" for n in e.unmatched)
                out += [f"> cites {cited}, which {verb} no source", ""]
            if e.from_memory:  # no search behind it: the reader should know
                out += [f"> {FROM_MEMORY}", ""]
            if e.sources:
                out += ["**Sources**", ""]
                out += [f"{s.n}. [{s.title}]({s.url})" for s in e.sources]
                out.append("")
    # A session killed mid-answer: what it had thought and written is kept, marked as cut.
    flush()
    if "".join(answer).strip():
        out += ["".join(answer).strip(), "", "*(the answer was cut off here)*", ""]
    # Untrusted text (results, the model's words): no escape sequences in an exported file.
    return printable("\n".join(out)).rstrip() + "\n"
