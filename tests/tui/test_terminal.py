"""The app in a real terminal (tmux): start, ask, read the answer back, quit, terminal restored."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.tavily_server import TavilyServer

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="needs tmux (.ci/run installs it)"
)


SOCKET = f"qwq-edge-test-{time.time_ns()}"  # a private server: nothing else's sizes or sessions


def tmux(*args: str) -> str:
    cmd = ["tmux", "-L", SOCKET, *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


def wait_for(name: str, needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = screen(name)
        if needle in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{needle!r} never appeared:\n{screen(name)}")


def test_app_in_tmux(tavily: TavilyServer, isolated_home: Path, tmp_path: Path) -> None:
    name = f"qwq-edge-test-{time.time_ns()}"
    done = tmp_path / "done.txt"
    exe = Path(sys.executable).with_name("qwq-edge")
    command = (
        f"env -u COLUMNS -u LINES QWQ_EDGE_HOME={isolated_home} TAVILY_API_KEY=tvly-test "
        f"QWQ_EDGE_TAVILY_URL={tavily.url} "
        f"{exe} --min-searches 1 --seed 0 --max-tokens 80 --n-ctx 4096; "
        f"echo rc=$? > {done}; stty -a >> {done}; sleep 30"
    )
    tmux("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        wait_for(name, "Q4_K_M", timeout=90)  # the status bar once the model is loaded
        tmux("send-keys", "-t", name, "Who won the 2022 FIFA World Cup?")
        tmux("send-keys", "-t", name, "Enter")
        wait_for(name, "searches 1/5", timeout=120)
        deadline = time.monotonic() + 120
        while "answering" in screen(name) and time.monotonic() < deadline:
            time.sleep(0.5)
        text = screen(name)
        assert "2 results" in text  # the tool card
        assert "› Who won the 2022 FIFA World Cup?" in text
        assert "tok/s" in text and "searches 1/5" in text
        tmux("send-keys", "-t", name, "C-q")
        deadline = time.monotonic() + 30
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        report = done.read_text()
        assert report.startswith("rc=0")
        assert " echo " in f" {report} " and " icanon " in f" {report} "  # cooked mode is back
        assert "Traceback" not in screen(name)
    finally:
        tmux("kill-server")
