"""Picking a session up again: ``--continue``, ``--from-turn`` and the TUI's sidebar.

A session journaled with its exact context is restored token for token; its KV snapshot,
when one matches, makes the first new token arrive without re-reading the history. Anything
less (no snapshot, an old journal, another model) is said in one line, never an error.

Another model under the file name a session was recorded with (a re-download, a file
replaced) would be handed ids of another vocabulary: those past its vocabulary make
llama.cpp's decode fail, the others mean other words. So the journaled ids are checked
against the vocabulary and must read back as the session's questions; if not, it continues
from its questions and answers, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qwq_edge.agent.continuing import restore, resume
from qwq_edge.agent.loop import Agent
from qwq_edge.agent.replay import recorded_turns
from qwq_edge.agent.state import new_session_id
from qwq_edge.engine.base import Engine
from qwq_edge.events import PageOpened, SessionStarted, ToolResult
from qwq_edge.paths import Paths, paths
from qwq_edge.runtime.build import build_agent
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.branch import branch
from qwq_edge.store.journal import Journal, JournalError
from qwq_edge.store.snapshots import GiB, Restored, Snapshots


@dataclass
class Continued:
    agent: Agent
    notes: list[str] = field(default_factory=list)  # one line each, for the user
    restored: Restored | None = None


def open_snapshots(settings: Settings, where: Paths | None = None) -> Snapshots | None:
    if not settings.kv_snapshots or settings.server:
        return None  # a llama-server keeps its KV cache in its own slots
    root = (where or paths()).cache_dir / "kv"
    return Snapshots(root, int(settings.kv_snapshot_max_gb * GiB))


def session_ref(journal: Journal, ref: str | None) -> str:
    """A session id from an id, a unique prefix, or nothing / "last" (the newest)."""
    if ref in (None, "", "last"):
        rows = journal.sessions(limit=1)
        if not rows:
            raise JournalError('there is no session to continue yet: `qwq-edge ask "..."`')
        return rows[0].id
    return journal.resolve(ref)


def continue_session(
    settings: Settings,
    engine: Engine,
    journal: Journal,
    session_id: str,
    *,
    provider: SearchProvider | None = None,
    snapshots: Snapshots | None = None,
    from_turn: int | None = None,
) -> Continued:
    """An agent whose next question is a follow-up in ``session_id`` (or, with
    ``from_turn``, in a new session branched after that turn). Run on the engine thread."""
    lineage = [session_id]
    if from_turn is not None:
        new = new_session_id()
        branch(journal, session_id, from_turn, new)
        lineage.insert(0, new)
        session_id = new
    events = list(journal.events(session_id))
    start = next((e for e in events if isinstance(e, SessionStarted)), None)
    if start is None:
        raise JournalError(f"session {session_id} has no start event; it cannot be continued")
    turns = recorded_turns(events)
    agent = build_agent(settings, engine, provider, session_id=session_id)
    done = Continued(agent)
    context = journal.context(session_id)
    here = Path(engine.info.path).name
    foreign = None
    if context is not None and start.model == here:
        foreign = _foreign(engine, context, [q.question for q, _ in turns])
    if context is None or start.model != here or foreign:
        if foreign:
            why = f"another model is under the name {here} it was recorded with: {foreign}"
        elif context is not None:
            why = f"it was recorded with {start.model}, not {here}"
        elif turns and turns[-1][1] is None:  # the process answering it died mid-turn
            why = "its last turn did not finish"
        else:
            why = "it was journaled before exact contexts were kept"
        done.notes.append(
            f"continuing from its questions and answers only ({why}); its thinking and "
            "search results are left out"
        )
        resume(agent, [(q.question, f.text if f else "") for q, f in turns], start.t)
        return done
    results = [e for e in events if isinstance(e, (ToolResult, PageOpened))]
    restore(agent, context, len(turns), start.t, results)
    if snapshots is not None:
        done.restored = snapshots.restore(engine, context, lineage)
        if done.restored.note:
            done.notes.append(f"{done.restored.note}: re-reading its {len(context):,} tokens")
    return done


def _foreign(engine: Engine, context: Sequence[int], questions: Sequence[str]) -> str | None:
    """Why ``context`` (journaled ids) cannot be this model's, or None when it can be."""
    n_vocab = engine.info.n_vocab
    if n_vocab > 0:
        bad = next((t for t in context if not 0 <= t < n_vocab), None)
        if bad is not None:
            return f"its token id {bad:,} is past this model's vocabulary of {n_vocab:,}"
    asked = [q for q in questions if q]
    if asked and context:
        text = engine.detokenize(context)
        if not any(q in text for q in asked):
            return "its tokens do not read back as its questions in this model's vocabulary"
    return None
