"""Route llama.cpp's native log lines to a file: a stray stderr line would corrupt a TUI."""

from __future__ import annotations

import contextlib
import ctypes
import threading
from pathlib import Path
from typing import Any, TextIO

_lock = threading.Lock()
_state: dict[str, Any] = {}  # keeps the ctypes callback and the file alive


def route_to(path: Path) -> Path:
    """Install (once per path) a llama.cpp log callback that appends to ``path``."""
    import llama_cpp  # importing it installs llama-cpp-python's own stderr printer first

    with _lock:
        if _state.get("path") == path:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle: TextIO = path.open("a", encoding="utf-8", buffering=1)

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def _callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            # A full disk must not take generation down.
            with contextlib.suppress(OSError, ValueError):
                handle.write(text.decode("utf-8", errors="replace"))

        llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
        old = _state.get("file")
        _state.update(path=path, file=handle, callback=_callback)
        if old is not None:
            old.close()
    return path


def log_file() -> TextIO | None:
    handle: TextIO | None = _state.get("file")
    return handle
