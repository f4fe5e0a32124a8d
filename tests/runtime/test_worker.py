"""The engine worker: its commands and replies on a scripted engine (in-process), the wire
format, and the real child process: a bad model said in one sentence, a death said with its
cause, and a worker that never outlives a killed app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import AnswerDelta, Event, FinalAnswer, Finished, Notice, Stats, ThinkingDelta
from qwq_edge.runtime.worker import (
    Coalesced,
    InProcess,
    Item,
    Loaded,
    Loading,
    Said,
    TurnEnded,
    Worker,
)
from qwq_edge.runtime.worker_process import Died, WorkerProcess, decode, encode
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

STATS = Stats("generate", 1, 0, 1, 0.1, 0.1, 10, 100)


class Inbox:
    """What the worker sends, kept in order, from any thread."""

    def __init__(self) -> None:
        self.items: list[Item | Died] = []
        self.arrived = threading.Condition()

    def __call__(self, item: Item | Died) -> None:
        with self.arrived:
            self.items.append(item)
            self.arrived.notify_all()

    def wait_for(self, kind: type, count: int = 1, timeout: float = 60) -> list[Any]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.of(kind)) >= count, timeout=timeout)
        assert ok, f"no {kind.__name__} in {self.items}"
        return self.of(kind)

    def of(self, kind: type) -> list[Any]:
        return [i for i in self.items if isinstance(i, kind)]


def test_coalesced_merges_deltas_within_an_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    out: list[Event] = []
    send = Coalesced(out.append, interval=0.1)
    for piece in ("a", "b", "c"):
        send(ThinkingDelta(piece))
    assert out == []  # held back: the interval has not passed
    send(AnswerDelta("x"))  # another kind: the thinking so far goes first
    now[0] += 0.2
    send(AnswerDelta("y"))  # the interval passed: out it goes
    send(AnswerDelta("z"))
    send(STATS)  # any other event first sends what is held back
    send(Notice("n"))
    send(AnswerDelta("tail"))
    send.flush()
    assert [(type(e).__name__, getattr(e, "text", None)) for e in out] == [
        ("ThinkingDelta", "abc"), ("AnswerDelta", "xy"), ("AnswerDelta", "z"),
        ("Stats", None), ("Notice", None), ("AnswerDelta", "tail"),
    ]  # fmt: skip


def test_the_wire_carries_events_as_ask_json_lines_and_replies_as_typed_objects() -> None:
    info = ModelInfo("/m.gguf", "M", "qwen2", "Q4_K_M", 1, 4096, 32768, 24, 0, False, 151936, True)
    items: list[Item] = [
        Loaded(3, info), Loaded(4, None, "the file is not a GGUF"), Loading(3, 0.5),
        Said("a note", "error"), TurnEnded("Re-run finished.", "information"),
        FinalAnswer("Paris [1].", unmatched=(1,)), Finished("eos", turn=2),
    ]  # fmt: skip
    for item in items:
        line = encode(item)
        assert b"\n" not in line
        assert decode(line) == item
    assert encode(Finished("eos", turn=2)).startswith(b'{"type":"finished"')  # ask --json's


def scripted_worker(
    inbox: Inbox, script: list[str], journal: Journal | None = None, **kw: Any
) -> tuple[Worker, ScriptedEngine]:
    engine = ScriptedEngine(script, **kw)
    worker = Worker(
        inbox, journal=journal,
        engine_loader=lambda s, progress: engine, provider_factory=lambda s: FakeSearch(),
    )  # fmt: skip
    return worker, engine


def test_a_question_before_the_model_is_said_and_ends_the_turn() -> None:
    inbox = Inbox()
    worker, _ = scripted_worker(inbox, [])
    InProcess(worker).send("ask", "q?")
    inbox.wait_for(TurnEnded)
    assert [type(i) for i in inbox.items] == [Said, TurnEnded]
    assert inbox.of(Said)[0].severity == "error"
    worker.runner.shutdown()


def test_load_failures_are_one_sentence_and_loads_close_the_model_before() -> None:
    inbox = Inbox()
    closed: list[int] = []

    class Closable(ScriptedEngine):
        def close(self) -> None:
            closed.append(self.info.n_ctx)

    def loader(settings: Settings, progress: Any) -> Closable:
        if settings.n_ctx == 3:
            raise KeyError("n_ctx")
        progress(0.5)
        return Closable([], n_ctx=settings.n_ctx)

    worker = Worker(inbox, journal=None, engine_loader=loader)
    host = InProcess(worker)
    host.send("load", Settings(n_ctx=1024), 1)
    host.send("load", Settings(n_ctx=2048), 2)  # only one model fits: the first is closed
    host.send("load", Settings(n_ctx=3), 3)
    loaded = inbox.wait_for(Loaded, 3)
    assert [m.info.n_ctx if m.info else None for m in loaded] == [1024, 2048, None]
    assert loaded[2].error == "unexpected KeyError: 'n_ctx'"
    assert closed == [1024, 2048]
    assert Loading(1, 0.5) in inbox.items
    with pytest.raises(ValueError, match="unknown worker command"):
        host.send("format_disk")
    host.close()


def test_turns_are_journaled_by_the_worker_and_a_resume_continues_the_session(
    tmp_path: Path,
) -> None:
    inbox = Inbox()
    journal = Journal(tmp_path / "j.sqlite3")
    script = ["</think>First.<|im_end|>", "</think>Second.<|im_end|>"]
    worker, engine = scripted_worker(inbox, script, journal, reasoning=True)
    host = InProcess(worker)
    host.send("load", Settings(), 1)
    host.send("ask", "One?")
    inbox.wait_for(TurnEnded)
    [row] = journal.sessions()
    host.send("resume", None)  # a new session...
    host.send("resume", row.id)  # ...no: the one in the sidebar
    host.send("ask", "Two?")
    inbox.wait_for(TurnEnded, 2)
    host.close()
    assert [r.id for r in journal.sessions()] == [row.id]
    events = list(journal.events(row.id))
    assert [e.text for e in events if isinstance(e, FinalAnswer)] == ["First.", "Second."]
    assert "First.<|im_end|>\n<|im_start|>user\nTwo?" in engine.detokenize(engine.contexts[-1])
    deltas = [i for i in inbox.items if isinstance(i, AnswerDelta)]
    assert "".join(d.text for d in deltas) == "First.Second."


def test_record_crash_closes_the_turn_a_dead_worker_left_open(tmp_path: Path) -> None:
    inbox = Inbox()
    journal = Journal(tmp_path / "j.sqlite3")
    worker, _ = scripted_worker(inbox, ["</think>Half<|im_end|>"], journal, reasoning=True)
    host = InProcess(worker)
    host.send("load", Settings(), 1)
    host.send("ask", "One?")
    inbox.wait_for(TurnEnded)
    [row] = journal.sessions()
    host.send("record_crash", row.id, 1, "The engine process was killed.")
    worker.runner.call(lambda: None)
    host.close()
    last = list(journal.events(row.id))[-2:]
    assert [type(e).__name__ for e in last] == ["ErrorEvent", "Finished"]


def test_the_real_worker_process_says_a_bad_model_and_its_own_death(tmp_path: Path) -> None:
    inbox = Inbox()
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf at all" * 100)
    worker = WorkerProcess(inbox, journal=None)
    try:
        worker.send("load", Settings(model=str(bad)), 1)
        [loaded] = inbox.wait_for(Loaded)
        assert loaded.info is None and loaded.error and "\n" not in loaded.error
        assert "broken.gguf" in loaded.error
        os.kill(worker.process.pid, signal.SIGSEGV)
        [died] = inbox.wait_for(Died, timeout=20)
        assert "crashed (segmentation fault)" in died.message
        assert "Fatal Python error: Segmentation fault" in died.message  # its last words
        assert "Traceback" not in died.message and "\n" not in died.message
    finally:
        worker.close()


def test_the_worker_never_outlives_a_killed_app(tmp_path: Path) -> None:
    code = (
        "import time\n"
        "from qwq_edge.runtime.worker_process import WorkerProcess\n"
        "if __name__ == '__main__':\n"
        "    w = WorkerProcess(lambda item: None, journal=None)\n"
        "    print(w.process.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    script = tmp_path / "app.py"
    script.write_text(code)
    app = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    try:
        assert app.stdout is not None
        pid = int(app.stdout.readline())
        os.kill(pid, 0)  # alive
        app.kill()  # SIGKILL: no exit handler of the app runs
        app.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not _alive(pid):
                return  # gone with the app
            time.sleep(0.1)
        raise AssertionError("the worker outlived the app")
    finally:
        app.kill()


def test_a_stopped_worker_never_outlives_a_killed_app(tmp_path: Path) -> None:
    """SIGSTOP keeps the worker from reading its pipe's end: the kernel must take it along."""
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf" * 10)
    code = (
        "import threading, time\n"
        "from qwq_edge.runtime.worker_process import WorkerProcess\n"
        "from qwq_edge.settings import Settings\n"
        "if __name__ == '__main__':\n"
        "    replied = threading.Event()\n"
        "    w = WorkerProcess(lambda item: replied.set(), journal=None)\n"
        f"    w.send('load', Settings(model={str(bad)!r}), 1)\n"
        "    replied.wait(60)  # the child is past its start-up, in its command loop\n"
        "    print(w.process.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    script = tmp_path / "app.py"
    script.write_text(code)
    app = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).parents[2],
    )  # fmt: skip
    pid = 0
    try:
        assert app.stdout is not None
        pid = int(app.stdout.readline())
        os.kill(pid, signal.SIGSTOP)
        app.kill()
        app.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not _alive(pid):
                return  # gone with the app, stopped or not
            time.sleep(0.1)
        raise AssertionError("a stopped worker outlived the app")
    finally:
        app.kill()
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)  # ours: never leave it behind


def _alive(pid: int) -> bool:
    """The worker's parent is gone, so it is not ours to wait for: a zombie counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
