"""``qwq-edge library`` under the fault probe of issue 28, end to end: names with escape
codes, a ZIM damaged after it was added, two ``library add`` runs at once (real processes),
and Ctrl+C in the middle of a long PDF (a real SIGINT)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qwq_edge import cli
from tests.library.pdfs import text_stream_pdf
from tests.support.env import cli_env
from tests.support.zim import build_zim


def _run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "qwq_edge", *args]


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    pipe = subprocess.PIPE
    return subprocess.Popen(_cli(*args), stdout=pipe, stderr=pipe, text=True, env=env)


def _documents(home: Path, source: str) -> int:
    try:
        conn = sqlite3.connect(f"file:{home / 'data' / 'library.sqlite3'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT COUNT(*) FROM documents WHERE source = ?", (source,))
            return int(row.fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return -1


def _registered(home: Path, source: str) -> bool:
    try:
        conn = sqlite3.connect(f"file:{home / 'data' / 'library.sqlite3'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT 1 FROM sources WHERE name = ?", (source,))
            return row.fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def test_names_with_escape_codes_are_printed_safely(
    isolated_home: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notes-\x1b]0;pwned\x07-\x1b[2J-and-more"
    folder.mkdir()
    (folder / "ok.md").write_text("# Ok\n\nA readable zzokay note.\n")
    (folder / "bad-\x1b[31mred.pdf").write_bytes(b"%PDF-1.7\n not really a PDF")
    code, out, err = _run(capfd, "library", "add", str(folder))
    assert code == 0, err
    assert "notes-]0;pwned-[2J-and-more: indexed — 1 new" in out
    assert "  bad-[31mred.pdf: the PDF could not be read" in out
    assert "\x1b" not in out + err and "\x07" not in out + err
    code, out, err = _run(capfd, "library", "list")
    assert code == 0
    assert "notes-]0;pwned-[2J-" in out  # cut at 20 after the escapes went, not inside one
    assert "\x1b" not in out + err and "\x07" not in out + err


def test_a_damaged_zim_is_a_note_from_qwq_edge_not_libzim(
    isolated_home: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    body = " ".join(f"word{j}" for j in range(200))
    articles = [(f"A/T{i}", f"Teasel {i}", f"<p>Teasel {i} grows. {body}</p>") for i in range(50)]
    path = build_zim(tmp_path / "wiki.zim", articles, name="wiki")
    assert _run(capfd, "library", "add", str(path))[0] == 0
    data = bytearray(path.read_bytes())
    a, b = len(data) // 4, 3 * len(data) // 4
    data[a:b] = bytes(b - a)  # damaged after it was added: same size, the middle zeroed
    path.write_bytes(bytes(data))
    code, out, err = _run(capfd, "library", "search", "teasel")
    assert "Something went wrong" not in out + err and "dbOffest" not in out + err  # libzim's
    notes = [line for line in err.splitlines() if line.startswith("qwq-edge: note: ")]
    assert any(str(path) in line for line in notes), err
    assert "Traceback" not in err and code == 0


def test_two_library_adds_at_once_both_finish(isolated_home: Path, tmp_path: Path) -> None:
    env = cli_env(isolated_home)
    folders = []
    for name in ("left", "right"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(1500):
            (folder / f"{name}-{i:04}.txt").write_text(f"{name} note {i} about zz{name}{i}\n")
        folders.append(folder)
    # The library exists before the race (creating it at once is another test's matter).
    subprocess.run(_cli("library", "list"), env=env, capture_output=True, timeout=120, check=True)
    procs = [_start(env, "library", "add", str(folder)) for folder in folders]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0, (out, err)
        assert "Error" not in err and "locked" not in err
    assert [_documents(isolated_home, name) for name in ("left", "right")] == [1500, 1500]


def test_ctrl_c_stops_library_add_inside_a_long_pdf(isolated_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    text_stream_pdf(folder / "long.pdf", 40, 1, shared=False)  # 40 slow pages, 200 KB
    env = cli_env(isolated_home)
    proc = _start(env, "library", "add", str(folder))
    deadline = time.monotonic() + 120
    while not _registered(isolated_home, "pdfs") and proc.poll() is None:
        assert time.monotonic() < deadline, "the source was never registered"
        time.sleep(0.05)  # registered, so the Ctrl+C handler is in place and reading began
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("Ctrl+C waited for the whole PDF")
    assert time.monotonic() - started < 30
    assert proc.returncode == 130, (out, err)
    assert "pdfs: stopped; run `qwq-edge library reindex` to go on" in out
    assert "Traceback" not in err
    assert _documents(isolated_home, "pdfs") == 0  # the PDF in hand is read next run
