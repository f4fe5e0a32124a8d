"""Branching: a new session that shares the first turns of an existing one, so a different
follow-up can be asked without losing the original."""

from __future__ import annotations

import dataclasses
import time

from qwq_edge.events import to_dict
from qwq_edge.store.journal import Journal, JournalError


def branch(journal: Journal, parent_id: str, upto_turn: int, new_id: str) -> None:
    """A new session holding turns 1..``upto_turn`` of ``parent_id`` (its events and its
    exact context); the parent is left as it was."""
    events = [to_dict(e) for e in journal.events(parent_id)]
    asked = finished = 0
    cut = len(events)
    for i, data in enumerate(events):
        asked += data["type"] == "question_asked"
        if asked > upto_turn:
            cut = i
            break
        finished += data["type"] == "finished"
    if asked < upto_turn or finished < upto_turn:
        raise JournalError(f"session {parent_id} has no finished turn {upto_turn}")
    for data in events[:cut]:
        if data["type"] == "session_started":
            data["session_id"] = new_id
    kept = events[:cut]
    answers = [d.get("text", "") for d in kept if d["type"] == "final_answer"]
    searches = sum(1 for d in kept if d["type"] == "tool_result" and d.get("error") is None)
    row = dataclasses.asdict(journal.session(parent_id))
    row.update(
        id=new_id, created=time.time(), parent=parent_id, parent_turn=upto_turn, status="done",
        answer=answers[-1] if answers else "", searches=searches,
    )  # fmt: skip
    journal.insert_recorded(row, kept, journal.context_rows(parent_id, upto_turn))
