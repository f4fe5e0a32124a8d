"""The engine side of the full-screen app: one object that owns the model, the session's
agent, its KV snapshots and the journal writer. It takes commands (load, ask, cancel,
answer now, offline, settings, resume, rerun, library changed, research reports) and
sends back the spine's events and a few replies of its own (``Reply``).

The app runs it in a child process (``worker_process.py``), so the UI never shares a GIL
with llama.cpp and survives it crashing; tests on scripted engines run the same object on a
thread of their own process (``InProcess``). Either way, every command but cancel,
answer-now and offline runs on the one engine thread, in the order sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import Controls
from qwq_edge.engine.base import Engine, ModelInfo
from qwq_edge.engine.thread import EngineThread
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import AnswerDelta, ErrorEvent, Event, Finished, ThinkingDelta
from qwq_edge.runtime.build import build_agent, load_engine, recorder_for
from qwq_edge.runtime.continuing import continue_session, open_snapshots
from qwq_edge.runtime.library import refresh_archives
from qwq_edge.runtime.sources import make_provider, offline_provider, provider_notices, web_part
from qwq_edge.runtime.turn import rerun_session, run_turn
from qwq_edge.runtime.worker_research import PlanProposed, ReportCommands
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots

Severity = Literal["information", "warning", "error"]
# Streamed text is sent at most this often, and the app draws each message as it arrives:
# a drawing (a layout and a frame) is the UI's main cost. Measured in tmux on 2 cores, UI
# CPU per token: 17.5 ms sending every 0.1 s and drawing every 0.2 s; 7.3 ms at 0.3 s.
# The journal still gets every token.
SEND_SECONDS = 0.3


@dataclass(frozen=True)
class Loaded:
    """Load number ``seq`` ended: the model's ``info``, or why not (one sentence)."""

    seq: int
    info: ModelInfo | None
    error: str | None = None


@dataclass(frozen=True)
class Loading:
    """How far load ``seq`` got, 0 to 1 (llama.cpp's own progress)."""

    seq: int
    fraction: float


@dataclass(frozen=True)
class Said:
    """A sentence for the user that does not belong to a turn's events."""

    text: str
    severity: Severity = "warning"


@dataclass(frozen=True)
class TurnEnded:
    """A turn or a re-run ended; every event of it was sent before this. ``note``: how it
    went, when there is something to say (a re-run says how it compares)."""

    note: str = ""
    severity: Severity = "information"


@dataclass(frozen=True)
class AskOpen:
    """The model wants to open ``url``, which no result, page or message gave it: the app
    asks the user, and answers with ``allow_open(nonce, decision)``."""

    nonce: int
    url: str


Reply = Loaded | Loading | Said | TurnEnded | AskOpen | PlanProposed
Item = Event | Reply
Out = Callable[[Item], None]
EngineLoader = Callable[[Settings], Engine]
ProviderFactory = Callable[[Settings], SearchProvider]
Progress = Callable[[float], None]
# The commands a front end may send, by name: every one is a method of ``Worker``.
COMMANDS = frozenset(
    {"load", "ask", "cancel", "answer_now", "set_offline", "use_settings", "resume", "rerun"}
    | {"library_changed", "record_crash", "allow_open", "close"}
    | {"research", "research_decide", "research_continue"}  # worker_research.py
)
Decision = Literal["once", "always", "deny"]
CONFIRM_SECONDS = 300.0  # an unanswered confirmation is a refusal after this long


class Host(Protocol):
    """Where a ``Worker`` runs, as the app sees it: send it commands, stop it."""

    def send(self, command: str, *args: Any) -> None: ...

    def close(self) -> None: ...


class Coalesced:
    """A consumer that merges runs of text deltas and passes them on at most every
    ``interval`` seconds (and before any other event)."""

    def __init__(self, out: Out, interval: float = SEND_SECONDS) -> None:
        self.out = out
        self.interval = interval
        self.pending: ThinkingDelta | AnswerDelta | None = None
        self.last = time.monotonic()

    def __call__(self, event: Event) -> None:
        if isinstance(event, (ThinkingDelta, AnswerDelta)):
            if self.pending is not None and type(self.pending) is type(event):
                self.pending = replace(self.pending, text=self.pending.text + event.text)
            else:
                self.flush()
                self.pending = event
            now = time.monotonic()
            if now - self.last >= self.interval:
                self.last = now
                self.flush()
            return
        self.flush()
        self.out(event)

    def flush(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.out(pending)


class Worker(ReportCommands):
    """The model, the session and the journal writer, driven by commands (a report's
    in ``ReportCommands``)."""

    def __init__(
        self,
        out: Out,
        *,
        journal: Journal | None,
        engine_loader: Callable[[Settings, Progress], Engine] | None = None,
        provider_factory: ProviderFactory | None = None,
    ) -> None:
        self.out = out
        self.journal = journal
        self.engine_loader = engine_loader or self._load_engine
        self.provider_factory = provider_factory or make_provider
        self.runner = EngineThread()
        self.settings = Settings()
        self.engine: Engine | None = None
        self.agent: Agent | None = None  # None: the next question builds one
        self.recorder: Recorder | None = None
        self.snapshots: Snapshots | None = None
        self.controls: Controls | None = None  # the running turn's
        self.resume_id: str | None = None  # the journaled session the next question continues
        self.library_dirty = False
        self._asked: dict[int, tuple[threading.Event, list[Decision]]] = {}
        self._always: set[str] = set()  # hosts the user let the model open for the session

    # -- commands that act at once (any thread) ------------------------------------------

    def cancel(self) -> None:
        if self.controls is not None:
            self.controls.cancel()

    def answer_now(self) -> None:
        if self.controls is not None:
            self.controls.answer_now()

    def set_offline(self, offline: bool) -> None:
        """At once, even mid-turn: the next search of the running turn follows (an
        attribute set, safe from any thread)."""
        self._set_offline(offline)

    def allow_open(self, nonce: int, decision: Decision) -> None:
        """The user's answer to ``AskOpen`` (at once: the engine thread is waiting on it)."""
        asked = self._asked.get(nonce)
        if asked is not None:
            asked[1].append(decision)
            asked[0].set()

    def close(self) -> None:
        """Stop the running turn, let it be journaled, close the model, stop the thread."""
        self.cancel()
        self.runner.submit(self._close_engine).result(timeout=30)
        self.runner.shutdown()

    # -- commands that run on the engine thread, in order --------------------------------

    def load(self, settings: Settings, seq: int) -> None:
        self.settings = settings
        self.runner.submit(self._load, settings, seq)

    def ask(self, question: str) -> None:
        self.controls = Controls()
        self.runner.submit(self._turn, question, self.controls)

    def use_settings(self, settings: Settings) -> None:
        """New settings for the next question (a new model comes with a ``load``)."""
        self.runner.submit(self._use_settings, settings)

    def resume(self, session_id: str | None) -> None:
        """The next question continues ``session_id`` (None: starts a new session)."""
        self.runner.submit(self._resume, session_id)

    def library_changed(self) -> None:
        self.runner.submit(setattr, self, "library_dirty", True)

    def rerun(self, session_id: str) -> None:
        self.runner.submit(self._rerun, session_id)

    def record_crash(self, session_id: str, turn: int, message: str) -> None:
        """Close the turn a crashed worker left open: its journal gets the reason."""
        self.runner.submit(self._record_crash, session_id, turn, message)

    # -- on the engine thread ------------------------------------------------------------

    def _close_engine(self) -> None:
        self.agent = None
        close = getattr(self.engine, "close", None)  # not in the Engine protocol
        self.engine = None
        if close is not None:
            close()

    def _load(self, settings: Settings, seq: int) -> None:
        self._close_engine()  # only one model fits in memory
        try:
            self.engine = self.engine_loader(settings, lambda f: self.out(Loading(seq, f)))
        except QwqEdgeError as exc:
            self.out(Loaded(seq, None, str(exc)))
            return
        except Exception as exc:  # never a traceback: the status would stay "loading"
            self.out(Loaded(seq, None, f"unexpected {type(exc).__name__}: {exc}"))
            return
        self.out(Loaded(seq, self.engine.info))

    def _load_engine(self, settings: Settings, progress: Progress) -> Engine:
        """The real engine; a llama-server's notes (still loading, not answering) are said."""
        return load_engine(
            settings, on_progress=progress, on_wait=lambda note: self.out(Said(note))
        )

    def _use_settings(self, settings: Settings) -> None:
        self.settings = settings
        self.agent = None  # a new key, budget or format takes effect with the next question

    def _resume(self, session_id: str | None) -> None:
        self.agent, self.recorder, self.resume_id = None, None, session_id

    def _set_offline(self, offline: bool) -> None:
        self.settings = self.settings.replace(offline=offline)
        web = web_part(self.agent.provider if self.agent is not None else None)
        if web is not None:  # the live session follows at once
            web.mode = "offline" if offline else "online"

    def _start(self, engine: Engine) -> Agent:
        """The agent for the next question: a new session, or the one to continue."""
        settings, journal = self.settings, self.journal
        self.snapshots = open_snapshots(settings) if journal is not None else None
        provider = self.provider_factory(settings)
        notes = provider_notices(provider)
        if journal is None or self.resume_id is None:
            agent = build_agent(settings, engine, provider)
            self.recorder = recorder_for(journal, engine) if journal is not None else None
        else:
            done = continue_session(
                settings, engine, journal, self.resume_id,
                provider=provider, snapshots=self.snapshots,
            )  # fmt: skip
            agent, notes = done.agent, notes + done.notes
            self.recorder = recorder_for(journal, engine, self.resume_id)
        for note in notes:
            self.out(Said(note))
        agent.opener.confirm = self._confirm_open
        return agent

    def _confirm_open(self, url: str) -> bool:
        """Ask the app whether the model may open ``url``; waits (on the engine thread) for
        the answer, the turn's cancel, or ``CONFIRM_SECONDS``."""
        host = urlsplit(url).hostname or ""
        if host in self._always:
            return True
        nonce = len(self._asked) + 1
        done: threading.Event = threading.Event()
        self._asked[nonce] = (done, [])
        self.out(AskOpen(nonce, url))
        controls, deadline = self.controls, time.monotonic() + CONFIRM_SECONDS
        while not done.wait(0.05):
            stopped = controls is not None and controls.interrupt.is_set()
            if stopped or time.monotonic() > deadline:
                return False
        decision = self._asked[nonce][1][0]
        if decision == "always":
            self._always.add(host)
        return decision != "deny"

    def _turn(self, question: str, controls: Controls) -> None:
        emit = Coalesced(self.out)
        try:
            if self.engine is None:
                self.out(Said("The model is not loaded yet.", "error"))
                return
            if self.agent is None:
                self.agent = self._start(self.engine)
                self.library_dirty = False
            elif self.library_dirty:  # archives added or removed in the settings
                self.library_dirty = False
                for note in refresh_archives(self.agent.provider):
                    self.out(Said(note))
            self.resume_id = self.agent.session_id
            run_turn(
                self.agent, question, emit,
                controls=controls, recorder=self.recorder, snapshots=self.snapshots,
            )  # fmt: skip
        except QwqEdgeError as exc:  # the session could not be started or continued
            self.out(Said(str(exc), "error"))
        finally:
            emit.flush()
            self.controls = None
            self.out(TurnEnded())

    def _rerun(self, session_id: str) -> None:
        """Run the model again on a journaled session, searches from disk, never the net.
        Not journaled: a re-run is there to be compared with the recording."""
        note, severity = "", "information"
        try:
            if self.engine is None or self.journal is None:
                raise QwqEdgeError("the model is not loaded yet")
            events = list(self.journal.events(session_id))
            results = rerun_session(events, self.engine, offline_provider(), on_event=self.out)
            same = all(r.identical for r in results)
            note = "identical to" if same else "different from"
            note = f"Re-run finished: {note} the recording."
        except QwqEdgeError as exc:
            note, severity = str(exc), "error"
        finally:
            self.out(TurnEnded(note, "error" if severity == "error" else "information"))

    def _record_crash(self, session_id: str, turn: int, message: str) -> None:
        if self.journal is None:
            return
        recorder = Recorder(self.journal, session_id=session_id)
        recorder(ErrorEvent(message, kind="error"))
        recorder(Finished("error", turn=turn))


class InProcess:
    """A ``Worker`` in this process: commands are method calls, replies come on the engine
    thread. For scripted engines (tests) and the bench's baseline; the app's is a child
    process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def send(self, command: str, *args: Any) -> None:
        if command not in COMMANDS:
            raise ValueError(f"unknown worker command {command!r}")
        getattr(self.worker, command)(*args)

    def close(self) -> None:
        self.worker.cancel()
        self.worker.runner.shutdown()
