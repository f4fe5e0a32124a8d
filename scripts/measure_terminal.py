"""The full-screen app in a real terminal (tmux), measured against headless `ask` in the
same run: decode speed, the app process's CPU per streamed token, launch to a usable
prompt, and idle CPU of the app and its engine worker.

    .venv/bin/python scripts/measure_terminal.py [--runs 3] [--tokens 100 2000]
        [--exe .venv/bin/qwq-edge]

Speeds come from the journal's own `Stats` events (the engine's timings), so both sides are
measured the same way. Needs tmux; touches no network (no searches).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qwq_edge.events import Finished, Stats, from_json
from qwq_edge.store.journal import Journal

QUESTION = "Write the numbers from 1 to 1000 in words, one per line."
TICKS = os.sysconf("SC_CLK_TCK")


def tmux(sock: str, *args: str) -> str:
    cmd = ["tmux", "-L", sock, *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def decode_rate(stats: list[Stats]) -> float:
    gen = [s for s in stats if s.phase == "generate" and s.tokens_generated > 1]
    n = sum(s.tokens_generated - 1 for s in gen)
    return n / max(sum(s.gen_seconds for s in gen), 1e-9)


def headless(exe: str, home: Path, tokens: int, seed: int) -> tuple[float, int]:
    env = {**os.environ, "QWQ_EDGE_HOME": str(home)}
    args = [exe, "ask", QUESTION, "--json", "--max-searches", "0", "--max-tokens", str(tokens)]
    args += ["--seed", str(seed), "--offline"]
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    events = [from_json(line) for line in out.splitlines()]
    stats = [e for e in events if isinstance(e, Stats)]
    return decode_rate(stats), sum(s.tokens_generated for s in stats)


def in_terminal(exe: str, home: Path, tokens: int, seed: int) -> dict[str, float]:
    sock, name = f"qwq-measure-{time.time_ns()}", "m"
    flags = f"--max-searches 0 --max-tokens {tokens} --seed {seed} --offline"
    command = f"exec env -u COLUMNS -u LINES QWQ_EDGE_HOME={home} {exe} {flags}"
    t0 = time.monotonic()
    tmux(sock, "-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
         command)  # fmt: skip
    try:
        app = int(tmux(sock, "list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])
        while "Q4_K_M" not in tmux(sock, "capture-pane", "-p", "-t", name):
            if time.monotonic() - t0 > 120:
                raise SystemExit("the model never loaded")
            time.sleep(0.05)
        ready = time.monotonic() - t0
        time.sleep(1.0)  # settled
        journal = Journal(home / "data" / "journal.sqlite3")
        before = len(journal.sessions())
        cpu0 = cpu_seconds(app)
        tmux(sock, "send-keys", "-t", name, QUESTION)
        tmux(sock, "send-keys", "-t", name, "Enter")
        deadline = time.monotonic() + 600
        while True:
            rows = journal.sessions()
            events = list(journal.events(rows[0].id)) if len(rows) > before else []
            if any(isinstance(e, Finished) for e in events):
                break
            if time.monotonic() > deadline:
                raise SystemExit("the answer never finished")
            time.sleep(0.2)
        cpu_turn = cpu_seconds(app) - cpu0
        stats = [e for e in events if isinstance(e, Stats)]
        generated = sum(s.tokens_generated for s in stats)
        time.sleep(2.0)  # the last draw, then nothing happens
        workers = children(app)
        idle = [cpu_seconds(p) for p in [app, *workers]]
        time.sleep(5.0)
        pids = [app, *workers]
        idle = [(cpu_seconds(p) - c) / 5.0 * 100 for p, c in zip(pids, idle, strict=True)]
        return {
            "ready_s": ready,
            "tps": decode_rate(stats),
            "tokens": generated,
            "ui_ms_per_token": cpu_turn * 1000 / max(generated, 1),
            "app_idle_pct": idle[0],
            "worker_idle_pct": sum(idle[1:]) if workers else float("nan"),
        }
    finally:
        tmux(sock, "kill-server")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--exe", default=str(Path(sys.executable).with_name("qwq-edge")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for tokens in args.tokens:
            head, tui = [], []
            for run in range(args.runs):
                tui.append(in_terminal(args.exe, home, tokens, seed=run))
                head.append(headless(args.exe, home, tokens, seed=run)[0])
            med = {k: statistics.median(r[k] for r in tui) for k in tui[0]}
            h = statistics.median(head)
            print(f"max_tokens {tokens}: generated {med['tokens']:.0f}")
            print(f"  decode headless {h:.1f} tok/s; TUI {med['tps']:.1f} tok/s; "
                  f"TUI ÷ headless {med['tps'] / h:.2f}")  # fmt: skip
            print(f"  UI process CPU {med['ui_ms_per_token']:.2f} ms per streamed token")
            print(f"  launch to usable prompt (model loaded) {med['ready_s']:.2f} s")
            print(f"  idle CPU: app {med['app_idle_pct']:.2f} %, worker "
                  f"{med['worker_idle_pct']:.2f} %")  # fmt: skip
            print(f"  runs: {[round(r['tps'], 1) for r in tui]} vs {[round(x, 1) for x in head]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
