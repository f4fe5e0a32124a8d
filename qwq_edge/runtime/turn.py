"""The one place a turn runs: on the engine thread, every event journaled, then handed to a
consumer; a failure becomes an ``ErrorEvent`` and a ``Finished``, never a traceback.

The CLI waits for the turn in the foreground (Ctrl+C cancels it); the TUI submits it and
receives the events as messages. Both call ``run_turn``; so does the bench.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import date
from typing import Any

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.replay import TurnComparison, rerun
from qwq_edge.agent.state import Controls
from qwq_edge.engine.base import Engine
from qwq_edge.engine.thread import EngineThread
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import ErrorEvent, Event, Finished, FinishReason, Notice, PageOpened
from qwq_edge.reading.reader import Reader
from qwq_edge.runtime.library import embed_in_background
from qwq_edge.runtime.sources import make_reader, open_library
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots

Consumer = Callable[[Event], None]


class Journaled:
    """Journal, then consume. A journal that cannot be written (disk full) is said once and
    then skipped: the answer goes on, and what was written stays."""

    def __init__(self, consumer: Consumer, recorder: Recorder | None) -> None:
        self.consumer = consumer
        self.recorder = recorder

    def __call__(self, event: Event) -> None:
        if self.recorder is not None:
            try:
                self.recorder(event)
            except (sqlite3.Error, OSError) as exc:
                self.recorder = None
                self.consumer(Notice(f"the journal stopped recording: {exc}", kind="journal"))
        self.consumer(event)


def run_turn(
    agent: Agent,
    question: str,
    consumer: Consumer,
    *,
    controls: Controls | None = None,
    recorder: Recorder | None = None,
    snapshots: Snapshots | None = None,
) -> FinishReason:
    """Run one question on the calling thread (the engine thread); returns why it finished.
    Afterwards the turn's exact tokens are journaled and the KV cache is snapshotted, so
    the session can be continued later, in another process, without a re-prefill."""
    emit = Journaled(consumer, recorder)
    reason: FinishReason = "error"
    fetched = False  # a page was fetched: the library has new passages to embed
    # Ctrl+C / Esc must also stop a search in flight, not only the engine.
    agent.searcher.stop = controls.interrupt if controls is not None else None
    try:
        for event in agent.ask(question, controls):
            emit(event)
            if isinstance(event, Finished):
                reason = event.reason
            elif isinstance(event, PageOpened):
                fetched = fetched or (event.error is None and not event.cached)
    except Exception as exc:  # one line for the user; the journal keeps every event so far
        detail = str(exc) if isinstance(exc, QwqEdgeError) else f"{type(exc).__name__}: {exc}"
        emit(ErrorEvent(f"the answer stopped: {detail}", kind="error"))
        emit(Finished("error", turn=agent.turn))
        reason = "error"
    _keep(agent, emit, snapshots)
    if fetched:
        _embed_pages(agent)
    return reason


def _embed_pages(agent: Agent) -> None:
    """Pages the turn fetched are searchable by words already; a detached `library embed`
    gives them vectors (it holds a lock, so at most one runs)."""
    reader = agent.opener.reader
    index = reader.library.library if isinstance(reader, Reader) and reader.library else None
    if index is not None:
        with contextlib.suppress(OSError, QwqEdgeError):
            embed_in_background(index, agent.settings)


def _keep(agent: Agent, emit: Journaled, snapshots: Snapshots | None) -> None:
    try:
        if emit.recorder is not None:
            emit.recorder.record_context(
                agent.turn, agent.turn_start, agent.context[agent.turn_start :]
            )
        if snapshots is not None and agent.context:
            snapshots.save(agent.engine, agent.session_id)
    except (sqlite3.Error, OSError, QwqEdgeError) as exc:  # the answer is safe; only the
        # fast path is lost
        emit.consumer(Notice(f"the session could not be saved for continuing: {exc}", "journal"))


def submit_turn(
    runner: EngineThread,
    agent: Agent,
    question: str,
    consumer: Consumer,
    *,
    controls: Controls,
    recorder: Recorder | None = None,
    snapshots: Snapshots | None = None,
) -> Future[FinishReason]:
    """Run the turn on the engine thread; ``consumer`` is called there (post to a UI)."""
    return runner.submit(
        run_turn, agent, question, consumer,
        controls=controls, recorder=recorder, snapshots=snapshots,
    )  # fmt: skip


def run_in_foreground(
    runner: EngineThread,
    agent: Agent,
    question: str,
    consumer: Consumer,
    *,
    recorder: Recorder | None = None,
    snapshots: Snapshots | None = None,
) -> FinishReason:
    """Run the turn on the engine thread and consume its events on this one, where Ctrl+C
    lands: it cancels the turn cleanly (between tokens, mid-prefill, or mid-search) and the
    events keep coming until the turn has ended and been journaled."""

    def job(controls: Controls, emit: Consumer) -> FinishReason:
        return run_turn(
            agent, question, emit, controls=controls, recorder=recorder, snapshots=snapshots
        )

    return foreground(runner, job, consumer)


Job = Callable[[Controls, Consumer], FinishReason]


def foreground(runner: EngineThread, job: Job, consumer: Consumer) -> FinishReason:
    """Run ``job`` on the engine thread, its events consumed on this one.

    Ctrl+C is handled as a signal that only sets the cancel flag: a KeyboardInterrupt
    raised between two statements of this loop would otherwise leave the process exiting
    while llama.cpp still decodes on the engine thread (seen: a process that ignored Ctrl+C
    and spun for minutes)."""
    controls = Controls()
    events: queue.Queue[Event | None] = queue.Queue()
    future = runner.submit(job, controls, events.put)
    future.add_done_callback(lambda _: events.put(None))
    previous = _cancel_on_sigint(controls)
    try:
        while (item := events.get()) is not None:
            try:
                consumer(item)
            except KeyboardInterrupt:  # raised by the consumer itself
                controls.cancel()
    except BaseException:  # the consumer failed (a closed pipe): stop the turn, then say so
        controls.cancel()
        with contextlib.suppress(Exception):
            future.result(timeout=60)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return future.result()


def _cancel_on_sigint(controls: Controls) -> Any:
    """Make Ctrl+C set ``controls.cancel()``; returns the handler to restore (None off the
    main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, lambda signum, frame: controls.cancel())


def rerun_session(
    events: Sequence[Event],
    engine: Engine,
    fallback: SearchProvider | None,
    on_event: Consumer | None = None,
) -> list[TurnComparison]:
    """Run a recorded session's questions again on ``engine``: recorded settings, seeds and
    date; searches from its own results, then ``fallback`` (the offline cache)."""

    library = open_library()  # opens read the pages kept when they were first opened

    def factory(settings: Settings, today: date, provider: SearchProvider) -> Agent:
        reader = make_reader(settings, library, offline=True)
        return Agent(engine, provider, settings, today=today, reader=reader)

    try:
        return rerun(list(events), factory, fallback, on_event=on_event)
    finally:
        library.close()
