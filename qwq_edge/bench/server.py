"""A real llama-server on 127.0.0.1 for the bench and the remote-engine tests: the binary
that ``scripts/build_llama_server.py`` built (``make test`` runs it first), started on a
model, stopped (or killed, as a test wishes) afterwards."""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import requests

from qwq_edge.bench import llama_bench


def server_binary() -> Path:
    exe = llama_bench.binary(target="llama-server")
    if not exe.is_file():
        raise RuntimeError(f"no llama-server at {exe}: run `python scripts/build_llama_server.py`")
    return exe


class LlamaServer:
    def __init__(
        self,
        model: Path,
        *,
        n_ctx: int = 4096,
        parallel: int = 1,
        threads: int = 2,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.model, self.n_ctx, self.parallel, self.extra = model, n_ctx, parallel, extra
        self.threads = threads
        self.log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LlamaServer:
        cmd = [
            str(server_binary()), "-m", str(self.model), "--host", "127.0.0.1",
            "--port", str(self.port), "-c", str(self.n_ctx * self.parallel),
            "--parallel", str(self.parallel), "-t", str(self.threads), "--no-webui", *self.extra,
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("llama-server did not become ready in 120 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
