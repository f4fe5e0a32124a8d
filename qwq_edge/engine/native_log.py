"""Route llama.cpp's native log lines to a file: a stray stderr line would corrupt a TUI.

A log that cannot be written (a full disk, a read-only home) never takes a load or an
answer down: the lines are dropped, and ``problem()`` says so once, in one sentence."""

from __future__ import annotations

import contextlib
import ctypes
import io
import threading
from pathlib import Path
from typing import Any, TextIO, cast

_lock = threading.Lock()
_state: dict[str, Any] = {}  # keeps the ctypes callback and the file alive


class _Sink(io.TextIOBase):
    """What ``sys.stderr`` becomes while a model loads: llama-cpp-python's own prints (the
    system info) go to the log; a write the disk refuses is dropped and remembered."""

    def __init__(self, target: TextIO | None) -> None:
        self._target = target

    def write(self, text: str) -> int:
        if self._target is not None:
            try:
                self._target.write(text)
            except (OSError, ValueError) as exc:
                _failed(exc)
        return len(text)

    def flush(self) -> None:
        if self._target is not None:
            try:
                self._target.flush()
            except (OSError, ValueError) as exc:
                _failed(exc)


def _failed(exc: BaseException) -> None:
    """Remember the first failure to write the log (what ``problem()`` says)."""
    if "problem" not in _state:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = _state.get("path", "the log file")
        _state["problem"] = f"llama.cpp's log {where} cannot be written ({reason}); it is skipped"


def route_to(path: Path) -> Path:
    """Install (once per path) a llama.cpp log callback that appends to ``path``; a file that
    cannot be opened leaves the lines dropped (``problem()`` says why)."""
    import llama_cpp  # importing it installs llama-cpp-python's own stderr printer first

    with _lock:
        if _state.get("path") == path:
            return path
        handle: TextIO | None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("a", encoding="utf-8", buffering=1)
        except OSError as exc:
            handle = None
            _state["path"] = path
            _failed(exc)

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            # A full disk must not take generation down.
            if handle is None:
                return
            try:
                handle.write(text.decode("utf-8", errors="replace"))
            except (OSError, ValueError) as exc:
                with contextlib.suppress(Exception):
                    _failed(exc)

        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        old = _state.get("file")
        _state.update(path=path, file=handle, callback=_callback)
        if old is not None:
            with contextlib.suppress(OSError):
                old.close()
    return path


def log_file() -> TextIO | None:
    handle: TextIO | None = _state.get("file")
    return handle


def stderr_sink() -> TextIO:
    """Where Python-level prints go while a model loads: the log, or nowhere when there is
    none; a write the disk refuses is dropped, never raised."""
    return cast(TextIO, _Sink(log_file()))


def problem() -> str | None:
    """One sentence when the log could not be written, once (then None)."""
    message: str | None = _state.pop("problem", None)
    return message
