"""One long-lived thread for all llama.cpp work (loading and every turn).

llama.cpp's CPU backend uses OpenMP, which keeps a warm thread team per *calling* thread.
A new thread per turn starts cold every time: measured here, decode ran at 35–38 tok/s from
fresh threads against 45–48 tok/s from a thread that had run before. Front ends therefore
submit engine work to this runner instead of starting threads of their own.

The thread is a daemon: quitting must not wait for a model load or a search to finish.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class EngineThread:
    def __init__(self) -> None:
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="qwq-edge-engine", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        call = functools.partial(fn, **kwargs) if kwargs else fn
        self._jobs.put((call, args, future))
        return future

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the engine thread and wait for its result."""
        return self.submit(fn, *args).result()

    def shutdown(self) -> None:
        self._jobs.put(None)
