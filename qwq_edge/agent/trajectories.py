"""Journaled sessions as training data: one JSON line per session, either a trajectory
(token ids, the loss mask, role segments, the tools' calls and results) or chat messages
with ``tool_calls`` and ``tool`` turns (the shape SFT libraries read).

The mask is read from the context's structure (``agent/trajectory.py``): 1 for tokens the
model sampled, 0 for the system prompt, the questions, spliced tool responses and the
app's template text. A research report is refused: its sections branch from the plan's
end, so it has no one linear context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qwq_edge.agent.trajectory import Piece, TrajectoryError, Vocab, mask, pieces
from qwq_edge.events import PageOpened, QuestionAsked, ToolCall, ToolResult, to_dict
from qwq_edge.store.journal import Journal, JournalError

FORMAT = "qwq-edge.trajectory/1"


def _context(journal: Journal, session_id: str) -> list[int]:
    row = journal.session(session_id)
    if row.kind == "report":
        raise TrajectoryError(
            f"session {session_id} is a research report, whose sections branch from its "
            "plan: it has no single context to export as a trajectory"
        )
    tokens = journal.context(session_id)
    if tokens is None:
        raise TrajectoryError(
            f"session {session_id} has no exact journaled context (an older qwq-edge wrote "
            "it, or a turn did not finish), so its tokens cannot be exported"
        )
    return tokens


def trajectory(journal: Journal, session_id: str, vocab: Vocab) -> dict[str, Any]:
    """The session as one trajectory record."""
    tokens = _context(journal, session_id)
    events = list(journal.events(session_id))
    calls = [e for e in events if isinstance(e, ToolCall)]
    found = pieces(vocab, tokens, [c.recognized for c in calls])
    row = journal.session(session_id)
    return {
        "format": FORMAT,
        "session_id": session_id,
        "model": row.model,
        "prompt_format": row.prompt_format,
        "tokens": tokens,
        "mask": mask(found, len(tokens)),
        "segments": [_segment(vocab, tokens, p) for p in found],
        "tools": [to_dict(e) for e in events if isinstance(e, ToolCall | ToolResult | PageOpened)],
    }


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
    """The session as chat messages: system, user, assistant (its text, thinking kept
    inside ``<think>``, and ``tool_calls``), tool (the response text)."""
    record = trajectory(journal, session_id, vocab)
    events = list(journal.events(session_id))
    calls = iter([e for e in events if isinstance(e, ToolCall)])
    questions = iter([e.question for e in events if isinstance(e, QuestionAsked)])
    out: list[dict[str, Any]] = []
    for seg in record["segments"]:
        role, kind, text = seg["role"], seg["kind"], seg["text"]
        if role == "system" and kind == "prompt":
            out.append({"role": "system", "content": _strip(text, "system")})
        elif role == "user":
            out.append({"role": "user", "content": next(questions, _strip(text, "user"))})
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


def _tool_call(c: ToolCall) -> dict[str, Any]:
    args = json.dumps(c.arguments, ensure_ascii=False)
    fn = {"name": c.name, "arguments": args}
    return {"id": f"call_{c.call_id}", "type": "function", "function": fn}


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
    """Append one line per session to ``path`` (``extra[session_id]`` merged into it, a
    grade say); a session that cannot be exported is skipped. Returns the lines written."""
    n = 0
    with path.open("a", encoding="utf-8") as f:
        for sid in session_ids:
            try:
                line = session_line(journal, sid, vocab, to=to)
            except (TrajectoryError, JournalError):  # no such session, a report, no context
                continue
            line.update((extra or {}).get(sid, {}))
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    return n


def session_line(journal: Journal, session_id: str, vocab: Vocab, *, to: str) -> dict[str, Any]:
    """One session's line: a trajectory, or ``{"session_id", "messages"}``."""
    if to == "messages":
        return {"session_id": session_id, "messages": messages(journal, session_id, vocab)}
    return trajectory(journal, session_id, vocab)
