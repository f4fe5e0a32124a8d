"""Portable sessions: a one-file JSON bundle (session, events, search payloads) and Markdown."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

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
    to_dict,
)
from qwq_edge.search.cache import SearchCache
from qwq_edge.store.journal import Journal, JournalError, SessionRow
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
    """Make a bundle's session listable and replayable here. Returns its id."""
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JournalError(f"cannot read {source} as a session bundle ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise JournalError(f"{source} is not a qwq-edge session bundle")
    if int(data.get("version", 0)) > VERSION:
        raise JournalError(f"{source} was written by a newer qwq-edge; upgrade to import it")
    row = data["session"]
    try:
        contexts = [
            (int(c["turn"]), int(c["start"]), base64.b64decode(c["tokens"]))
            for c in data.get("contexts", [])
        ]
    except (KeyError, TypeError, ValueError):
        contexts = []  # a damaged token journal: the session still imports, continues lossily
    journal.insert_recorded(row, data.get("events", []), contexts)
    if cache is not None and data.get("searches"):
        pack = source.with_name(f".{source.name}.{time.time_ns()}.pack")
        try:
            _write_pack(pack, data["searches"])
            cache.import_pack(pack)
        finally:
            pack.unlink(missing_ok=True)
    return str(row["id"])


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
