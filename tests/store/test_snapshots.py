"""KV snapshots on disk (issue 28): a model file rewritten in place (same size) is another
model, a write that fails on a full disk leaves no partial file, and partial files left by
a process that died are swept at start."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from qwq_edge.agent.loop import Agent
from qwq_edge.runtime import run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.snapshots import Snapshots
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]


def _engine_on(model: Path) -> ScriptedEngine:
    engine = ScriptedEngine(["Gold is up.<|im_end|>"])
    engine._info = dataclasses.replace(engine.info, path=str(model), file_size=model.stat().st_size)
    return engine


def _saved(tmp_path: Path, model: Path) -> tuple[Snapshots, Agent]:
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    agent = Agent(_engine_on(model), FakeSearch(), Settings(max_searches=0), today=date(2026, 1, 2))
    run_turn(agent, "Gold?", lambda e: None, snapshots=snaps)
    assert (tmp_path / "kv" / f"{agent.session_id}.kv").exists()
    return snaps, agent


def test_a_model_file_rewritten_in_the_middle_is_another_model(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(os.urandom(3 * MiB))
    snaps, agent = _saved(tmp_path, model)
    same = snaps.restore(_engine_on(model), agent.context, [agent.session_id])
    assert same.tokens == len(agent.context) and same.note is None  # the control: a hit
    time.sleep(0.05)  # past the file system's timestamp granularity
    with model.open("r+b") as f:  # the same size, the same first and last MiB
        f.seek(int(1.5 * MiB))
        f.write(b"changed")
    engine = _engine_on(model)
    changed = snaps.restore(engine, agent.context, [agent.session_id])
    assert changed.tokens == 0 and changed.note is not None and "another model" in changed.note
    assert engine._kv == []  # nothing of the old state was loaded


def test_a_model_file_replaced_by_a_copy_is_not_taken_for_the_same(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(os.urandom(3 * MiB))
    snaps, agent = _saved(tmp_path, model)
    copy = tmp_path / "copy.gguf"
    copy.write_bytes(model.read_bytes())
    os.replace(copy, model)  # another inode under the name (a download, a re-quantization)
    restored = snaps.restore(_engine_on(model), agent.context, [agent.session_id])
    assert restored.tokens == 0 and restored.note and "another model" in restored.note


FULL_DISK = """
import resource, signal, sys
from datetime import date
from pathlib import Path
from qwq_edge.agent.loop import Agent
from qwq_edge.runtime import run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.snapshots import Snapshots
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

root = Path(sys.argv[1])
agent = Agent(ScriptedEngine(["Gold is up.<|im_end|>"]), FakeSearch(), Settings(max_searches=0),
              today=date(2026, 1, 2))
run_turn(agent, "Gold?", lambda e: None)
snaps = Snapshots(root, 1 << 30)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
try:
    snaps.save(agent.engine, agent.session_id)
except OSError as exc:
    print("failed:", exc.errno)
else:
    print("saved")
"""


def test_a_snapshot_that_cannot_be_written_leaves_no_partial_file(tmp_path: Path) -> None:
    root = tmp_path / "kv"
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(root), "1024"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.startswith("failed: 27"), proc.stderr  # EFBIG
    left = [p.name for p in root.iterdir() if p.name.endswith(".tmp")]
    assert left == [], left


def test_partial_files_of_dead_writers_are_swept_at_start(tmp_path: Path) -> None:
    root = tmp_path / "kv"
    root.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stale = root / f".s1.kv.{dead_pid}.tmp"
        writing = root / f".s2.kv.{live.pid}.tmp"  # another process is writing it now
        ancient = root / f".s3.json.{live.pid}.tmp"
        other = root / "s4.kv"
        for path in (stale, writing, ancient, other):
            path.write_bytes(b"x" * 100)
        week = time.time() - 7 * 86400
        os.utime(ancient, (week, week))
        Snapshots(root, 1 << 30)
        assert not stale.exists() and not ancient.exists()
        assert writing.exists() and other.exists()
    finally:
        live.kill()
        live.wait()
