"""The ``Worker`` in a child process: the app's engine, crash-proof and off the UI's GIL.

- **Start**: ``spawn`` (no fork of a process with threads and a terminal); the child leaves
  the terminal's session, so a key press never signals it and nothing it prints reaches
  the screen: its stdout and stderr (llama.cpp's asserts, Python's fault handler) go to
  ``worker.log``.
- **Wire**: commands go down a pipe (pickled: the settings travel whole, in memory);
  events come back as the JSON lines of ``ask --json``, replies as JSON objects whose
  ``type`` starts with ``worker.``.
- **Ends**: the child exits when the pipe closes, so it never outlives the app, even a
  killed one; on Linux the kernel also kills it with the app (``PR_SET_PDEATHSIG``), which
  reaches a child that is stopped (SIGSTOP, a debugger) and so cannot read its pipe's end.
  When the child dies, the reader says how in one sentence (``Died``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import faulthandler
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from qwq_edge.engine.base import ModelInfo
from qwq_edge.events import ReportPlanned, from_dict, to_dict, to_json
from qwq_edge.paths import paths
from qwq_edge.runtime.worker import (
    COMMANDS,
    AskOpen,
    Item,
    Loaded,
    Loading,
    Reply,
    Said,
    TurnEnded,
    Worker,
)
from qwq_edge.runtime.worker_research import PlanProposed
from qwq_edge.store.journal import Journal

_REPLIES: dict[str, type[Reply]] = {
    "worker.loaded": Loaded,
    "worker.loading": Loading,
    "worker.said": Said,
    "worker.turn_ended": TurnEnded,
    "worker.ask_open": AskOpen,
    "worker.plan_proposed": PlanProposed,
}
_NAMES = {cls: name for name, cls in _REPLIES.items()}
# What a signal usually means, for the sentence the user reads.
_SIGNALS = {
    "SIGKILL": "was killed (often the system running out of memory)",
    "SIGABRT": "was aborted (llama.cpp stops this way on a failed check)",
    "SIGSEGV": "crashed (segmentation fault)",
    "SIGBUS": "crashed (bus error: the model file may have changed on disk)",
    "SIGTERM": "was stopped (SIGTERM)",
}

# A crash log's lines worth quoting (llama.cpp's failed checks, C++ and Python fatal errors),
# and the fault handler's stack lines, which never are.
_TELLING = ("GGML_ASSERT", "error", "Error", "failed", "terminate called", "what()")
_NOISE = ("Extension modules", "File ", "Current thread", "Thread 0x", "Stack (most", "<no Python")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Died:
    """The worker process ended without being asked to: ``message`` says how."""

    message: str


def encode(item: Item) -> bytes:
    if isinstance(item, PlanProposed):  # the plan as the journal writes it
        return json.dumps({"type": _NAMES[PlanProposed], "plan": to_dict(item.plan)}).encode()
    if isinstance(item, (Loaded, Loading, Said, TurnEnded, AskOpen)):
        return json.dumps({"type": _NAMES[type(item)], **dataclasses.asdict(item)}).encode()
    return to_json(item).encode()


def decode(line: bytes) -> Item:
    data = json.loads(line)
    kind = _REPLIES.get(data.get("type", ""))
    if kind is None:
        return from_dict(data)
    fields = {k: v for k, v in data.items() if k != "type"}
    if kind is Loaded and fields.get("info") is not None:
        fields["info"] = ModelInfo(**fields["info"])
    if kind is PlanProposed:
        plan = from_dict(fields["plan"])
        if not isinstance(plan, ReportPlanned):
            raise ValueError("a proposed plan that is not a plan")
        fields["plan"] = plan
    return kind(**fields)


def worker_log() -> Path:
    """Where the worker's stdout and stderr go (what a crash leaves behind)."""
    return paths().log_dir / "worker.log"


class WorkerProcess:
    """The app's side of a worker process: ``send`` commands; everything the worker sends
    back, and then ``Died`` if it ends unasked, goes to ``receive`` on a reader thread."""

    def __init__(self, receive: Callable[[Item | Died], None], *, journal: Path | None) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        self.log = worker_log()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        # The kernel's parent-death signal follows the thread that starts the child: only
        # the main thread lives as long as the app.
        bound = threading.current_thread() is threading.main_thread()
        self.process = ctx.Process(
            target=_child,
            args=(child, str(self.log), str(journal) if journal else None, os.getpid(), bound),
            name="qwq-edge-worker",
            daemon=True,
        )
        with _stderr_to_devnull():  # what the start hands down; a TUI's stderr has no fd
            self.process.start()
        child.close()  # only the child holds it now: its death closes the pipe
        self._receive = receive
        self._closing = False
        self._send_lock = threading.Lock()
        self._reader = threading.Thread(
            target=self._read, name="qwq-edge-worker-reader", daemon=True
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def send(self, command: str, *args: Any) -> None:
        if command not in COMMANDS:
            raise ValueError(f"unknown worker command {command!r}")
        with self._send_lock, contextlib.suppress(OSError, ValueError):  # dead: reader says so
            self._conn.send((command, args))

    def close(self, timeout: float = 5.0) -> None:
        """Ask the worker to stop (its turn is cancelled and journaled), then make sure."""
        self._closing = True
        self.send("close")
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self._conn.close()

    def _read(self) -> None:
        while True:
            try:
                line = self._conn.recv_bytes()
            except (EOFError, OSError):
                break
            try:
                item = decode(line)
            except (ValueError, TypeError, KeyError):
                continue  # a newer worker's reply this app does not know
            self._receive(item)
        if not self._closing:
            self.process.join(5)
            self._receive(Died(self.why()))

    def why(self) -> str:
        """One sentence on how the worker ended, with the last line it wrote if any."""
        code = self.process.exitcode
        if code is None:
            how = "stopped answering"
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            how = _SIGNALS.get(name, f"was ended by signal {name}")
        else:
            how = f"exited with status {code}"
        last = self.last_log_line()
        detail = f" (last words: {last})" if last else ""
        return f"The engine process {how}{detail}; press Ctrl+R to restart it."

    def last_log_line(self) -> str:
        """The last line the worker wrote to its log in this run, cut to 200 characters."""
        try:
            with self.log.open("rb") as f:
                f.seek(max(self._log_start, self.log.stat().st_size - 4096))
                tail = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith(_NOISE)]
        telling = [ln for ln in lines if any(w in ln for w in _TELLING)]
        last = (telling or lines or [""])[-1]
        return last[:200]


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    """multiprocessing's resource tracker is started with ``sys.stderr.fileno()`` as its
    stderr: under Textual that is a capture with no file descriptor (-1, refused), and the
    terminal would be the wrong place anyway."""
    saved = sys.stderr
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def _child(
    conn: Connection, log: str, journal: str | None, parent: int = 0, bound: bool = False
) -> None:
    """The worker process's main: commands on this thread, the engine on its own."""
    if bound:
        _die_with(parent)
    _detach(Path(log))
    lock = threading.Lock()

    def out(item: Item) -> None:
        with lock, contextlib.suppress(OSError, ValueError):
            conn.send_bytes(encode(item))

    worker = Worker(out, journal=Journal(Path(journal)) if journal else None)
    while True:
        try:
            command, args = conn.recv()
        except (EOFError, OSError):  # the app is gone (quit or killed): stop with it
            worker.cancel()
            break
        if command == "close":
            break
        if command in COMMANDS:
            getattr(worker, command)(*args)
    # Let a cancelled turn reach its Finished in the journal, but never hang the exit.
    closer = threading.Thread(target=worker.close, daemon=True)
    closer.start()
    closer.join(10)
    os._exit(0)


def _die_with(parent: int) -> None:
    """Be killed by the kernel when the app (``parent``) dies, even while stopped (Linux;
    elsewhere the pipe's end is the only rule). An app already gone: exit now."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        zero = ctypes.c_ulong(0)
        libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL), zero, zero, zero)
    if os.getppid() != parent:  # it died before the signal was set: reparented already
        os._exit(0)


def _detach(log: Path) -> None:
    """No terminal: a new session (Ctrl+C or Ctrl+Z in the app's terminal never reach this
    process), and stdout/stderr into ``log``, fault handler included."""
    with contextlib.suppress(OSError):
        os.setsid()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)  # noqa: SIM115
    faulthandler.enable(sys.stderr)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
