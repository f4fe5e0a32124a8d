"""llama.cpp's model-load progress, reported to a callback.

llama-cpp-python's ``Llama()`` takes no progress callback, but it builds its model params
from ``llama_model_default_params()`` at the start of loading; for the length of one load
that function hands out params with our callback set. The callback also means llama.cpp
no longer prints its row of dots to stderr.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from collections.abc import Callable, Iterator
from typing import Any

_lock = threading.Lock()  # one load at a time patches the module


@contextlib.contextmanager
def reporting(progress: Callable[[float], None] | None) -> Iterator[None]:
    """While in this block, a ``Llama()`` load calls ``progress`` with 0..1 (at most once
    per whole percent). An exception raised by ``progress`` is swallowed: it must never
    unwind through C."""
    if progress is None:
        yield
        return
    from llama_cpp import llama_cpp as lib

    last = [-1]

    def report(fraction: float, user_data: Any) -> bool:
        percent = int(fraction * 100)
        if percent != last[0]:
            last[0] = percent
            with contextlib.suppress(Exception):
                progress(min(1.0, max(0.0, fraction)))
        return True  # go on loading

    callback = lib.llama_progress_callback(report)  # kept alive by this frame
    default = lib.llama_model_default_params

    def params() -> Any:
        p = default()
        p.progress_callback = callback
        p.progress_callback_user_data = ctypes.c_void_p(0)
        return p

    with _lock:
        lib.llama_model_default_params = params
        try:
            yield
        finally:
            lib.llama_model_default_params = default
