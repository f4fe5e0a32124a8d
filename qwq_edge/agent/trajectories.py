"""Journaled sessions as training data: one JSON line per session, either a trajectory
(token ids, the loss mask, role segments, the tools' calls and results) or chat messages
with ``tool_calls`` and ``tool`` turns (the shape SFT libraries read).

The mask is read from the context's structure (``agent/trajectory.py``): 1 for tokens the
model sampled, 0 for the system prompt, the questions, spliced tool responses and the
app's template text. A research report has no single context (each section's turn starts
at the plan's end): it gives one line per section, the plan's tokens then the section's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qwq_edge.agent.trajectory import Piece, TrajectoryError, Vocab, mask, pieces
from qwq_edge.events import (
    Event,
    PageOpened,
    QuestionAsked,
    SectionStarted,
    ToolCall,
    ToolResult,
    to_dict,
)
from qwq_edge.store.journal import Journal, JournalError, SessionRow
from qwq_edge.store.tokens import unpack_tokens

FORMAT = "qwq-edge.trajectory/1"


def trajectories(journal: Journal, session_id: str, vocab: Vocab) -> list[dict[str, Any]]:
    """One record per context: the session's, or for a research report one per section
    branch (the plan's tokens, then that section's turn, which started at the plan's end)."""
    row = journal.session(session_id)
    events = list(journal.events(session_id))
    if row.kind != "report":
        tokens = journal.context(session_id)
        if tokens is None:
            raise TrajectoryError(
                f"session {session_id} has no exact journaled context (an older qwq-edge "
                "wrote it, or a turn did not finish), so its tokens cannot be exported"
            )
        return [_record(vocab, row, tokens, events, None)]
    rows = journal.context_rows(session_id)
    if not rows or rows[0][:2] != (1, 0):
        raise TrajectoryError(f"report {session_id} has no journaled plan context to export")
    plan = unpack_tokens(rows[0][2])
    turns, sections = _by_turn(events)
    return [
        _record(vocab, row, plan + unpack_tokens(blob), turns[1] + turns[turn], turn, sections)
        for turn, start, blob in rows[1:]
        if start == len(plan)
    ]


def trajectory(journal: Journal, session_id: str, vocab: Vocab) -> dict[str, Any]:
    """A session that is not a report, as one trajectory record."""
    if journal.session(session_id).kind == "report":
        raise TrajectoryError(f"session {session_id} is a report: one line per section")
    return trajectories(journal, session_id, vocab)[0]


def _by_turn(events: list[Event]) -> tuple[defaultdict[int, list[Event]], dict[int, int]]:
    """Each turn's events (from its question on), and the report section each turn wrote."""
    turns: defaultdict[int, list[Event]] = defaultdict(list)
    sections: dict[int, int] = {}
    turn, section = 0, None
    for e in events:
        if isinstance(e, QuestionAsked):
            turn = e.turn
            if section is not None:
                sections[turn], section = section, None
        elif isinstance(e, SectionStarted):
            section = e.index
        turns[turn].append(e)
    return turns, sections


def _record(
    vocab: Vocab,
    row: SessionRow,
    tokens: list[int],
    events: list[Event],
    turn: int | None,
    sections: dict[int, int] | None = None,
) -> dict[str, Any]:
    calls = [e for e in events if isinstance(e, ToolCall)]
    found = pieces(vocab, tokens, [c.recognized for c in calls])
    record: dict[str, Any] = {"format": FORMAT, "session_id": row.id}
    if turn is not None:  # a report's section branch
        record.update(turn=turn, section=(sections or {}).get(turn))
    record.update(
        model=row.model,
        prompt_format=row.prompt_format,
        tokens=tokens,
        mask=mask(found, len(tokens)),
        segments=[_segment(vocab, tokens, p) for p in found],
        tools=[to_dict(e) for e in events if isinstance(e, ToolCall | ToolResult | PageOpened)],
    )
    return record


def _segment(vocab: Vocab, tokens: Sequence[int], p: Piece) -> dict[str, Any]:
    return {
        "role": p.role,
        "kind": p.kind,
        "start": p.start,
        "end": p.end,
        "trained": p.trained,
        "text": vocab.detokenize(tokens[p.start : p.end]),
    }


def messages(journal: Journal, session_id: str, vocab: Vocab) -> list[dict[str, Any]]:
    """A session that is not a report, as chat messages."""
    return chat(trajectory(journal, session_id, vocab))


def chat(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A trajectory record as chat messages: system, user, assistant (its text, thinking
    kept inside ``<think>``, and ``tool_calls``), tool (the response text)."""
    calls = iter([t for t in record["tools"] if t["type"] == "tool_call"])
    out: list[dict[str, Any]] = []
    for seg in record["segments"]:
        role, kind, text = seg["role"], seg["kind"], seg["text"]
        if role == "system" and kind == "prompt":
            out.append({"role": "system", "content": _strip(text, "system")})
        elif role == "user":
            out.append({"role": "user", "content": _strip(text, "user")})
        elif role == "tool":
            call = out[-1]["tool_calls"][-1] if out and out[-1].get("tool_calls") else None
            tool: dict[str, Any] = {"role": "tool", "content": _response(text)}
            if call is not None:
                tool.update(tool_call_id=call["id"], name=call["function"]["name"])
            out.append(tool)
        elif kind == "call":
            c = next(calls, None)
            if c is not None:
                msg = _assistant(out)
                msg["tool_calls"].append(_tool_call(c))
        elif kind == "text":
            msg = _assistant(out)
            if msg["tool_calls"]:  # text after a call without a response: a new message
                msg = {"role": "assistant", "content": "", "tool_calls": []}
                out.append(msg)
            msg["content"] += text
    for msg in out:
        if msg["role"] == "assistant":
            msg["content"] = _tidy(msg["content"])
            if not msg["tool_calls"]:
                del msg["tool_calls"]
    return out


def _assistant(out: list[dict[str, Any]]) -> dict[str, Any]:
    if not out or out[-1]["role"] != "assistant":
        out.append({"role": "assistant", "content": "", "tool_calls": []})
    return out[-1]


def _tool_call(c: dict[str, Any]) -> dict[str, Any]:
    args = json.dumps(c["arguments"], ensure_ascii=False)
    fn = {"name": c["name"], "arguments": args}
    return {"id": f"call_{c['call_id']}", "type": "function", "function": fn}


def _strip(text: str, role: str) -> str:
    text = text.removeprefix(f"<|im_start|>{role}\n").lstrip("\n")
    text = text.removeprefix(f"<|im_start|>{role}\n")
    return text.split("<|im_end|>")[0]


def _response(text: str) -> str:
    text = text.removeprefix("<|im_start|>user\n")
    text = text.removeprefix("<tool_response>\n")
    return text.split("\n</tool_response>")[0]


def _tidy(text: str) -> str:
    """An assistant message's text: the turn's closing token dropped; a thinking-mode
    message whose ``<think>`` the template opened gets it back."""
    text = text.replace("<|im_end|>", "").replace("<|endoftext|>", "")
    if "</think>" in text and "<think>" not in text:
        text = "<think>\n" + text
    return text.strip("\n")


def write_trajectories(
    journal: Journal,
    session_ids: Iterable[str],
    path: Path,
    extra: dict[str, dict[str, Any]] | None = None,
    *,
    vocab: Vocab,
    to: str = "trajectory",
) -> int:
    """Append each session's lines to ``path`` (``extra[session_id]`` merged into each, a
    grade say); a session that cannot be exported is skipped. Returns the lines written."""
    n = 0
    with path.open("a", encoding="utf-8") as f:
        for sid in session_ids:
            try:
                lines = session_lines(journal, sid, vocab, to=to)
            except (TrajectoryError, JournalError):  # no such session, no context
                continue
            for line in lines:
                line.update((extra or {}).get(sid, {}))
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
                n += 1
    return n


def session_lines(
    journal: Journal, session_id: str, vocab: Vocab, *, to: str
) -> list[dict[str, Any]]:
    """A session's lines (one, or one per section of a report): trajectories, or
    ``{"session_id", "messages"}`` (with ``turn`` and ``section`` for a report's)."""
    records = trajectories(journal, session_id, vocab)
    if to != "messages":
        return records
    keep = ("session_id", "turn", "section")
    return [{**{k: r[k] for k in keep if k in r}, "messages": chat(r)} for r in records]
