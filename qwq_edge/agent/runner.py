"""One long-lived thread for all llama.cpp work (loading and every turn).

llama.cpp's CPU backend uses OpenMP, which keeps a warm thread team per *calling* thread.
A new thread per turn starts cold every time: measured here, decode ran at 35–38 tok/s from
fresh threads against 45–48 tok/s from a thread that had run before. Front ends therefore
submit engine work to this runner instead of starting threads of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class EngineThread:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qwq-edge-engine")

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        return self._pool.submit(fn, *args)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the engine thread and wait for its result."""
        return self._pool.submit(fn, *args).result()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
