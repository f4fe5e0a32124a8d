"""``qwq-edge library`` end to end (real SQLite FTS5, real pypdf, real libzim), and the
offline promise with the real model: a fact only a local document holds is found and cited
by ``ask --offline`` with the network blocked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qwq_edge import cli
from tests.support.env import cli_env
from tests.support.tavily_server import TavilyServer
from tests.support.zim import build_zim

FIXTURES = Path(__file__).parent.parent / "library" / "fixtures"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.py"))
    return folder


def test_add_list_search_and_remove_a_folder(
    isolated_home: Path, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "library", "add", str(docs), "--name", "notes")
    assert code == 0, err
    assert "notes: indexed — 3 new" in out and "passages written" in out
    code, out, _ = _run(capsys, "library", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("notes"))
    assert row.split()[1:3] == ["folder", "3"]
    code, out, _ = _run(capsys, "library", "search", "who first lit the Varnholt light?", "--json")
    hits = [json.loads(line) for line in out.splitlines()]
    assert hits[0]["origin"] == "file"
    assert hits[0]["url"] == (docs / "lighthouses.pdf").resolve().as_uri() + "#page=2"
    code, out, _ = _run(capsys, "library", "rm", "notes")
    assert code == 0 and "removed 'notes'" in out
    code, out, _ = _run(capsys, "library", "search", "Varnholt")
    assert "no passages match" in out


def test_reindex_picks_up_changes_and_configured_folders(
    isolated_home: Path, docs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "library", "add", str(docs), "--name", "notes")[0] == 0
    (docs / "marsh-notes.txt").unlink()
    (docs / "new.md").write_text("# Quillon\n\nThe Quillon ferry crosses at dawn.\n")
    other = tmp_path / "papers"
    other.mkdir()
    (other / "a.txt").write_text("Brisk ostler tables are made of pale birch.\n")
    config = isolated_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"library_folders = [{json.dumps(str(other))}]\n")
    code, out, err = _run(capsys, "library", "reindex")
    assert code == 0, err
    assert "notes: indexed — 1 new, 0 changed, 2 unchanged, 1 removed" in out
    assert "papers: indexed — 1 new" in out
    _, out, _ = _run(capsys, "library", "search", "what are ostler tables made from", "--json")
    assert json.loads(out.splitlines()[0])["url"].endswith("/papers/a.txt")


def test_a_zim_archive_is_added_and_searched(
    isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = build_zim(
        tmp_path / "wiki.zim",
        [
            ("A/Teasel", "Teasel", "<h1>Teasel</h1><h2>Uses</h2><p>Teasel heads were used "
             "to raise the nap on woollen cloth.</p>"),
            ("A/Loom", "Loom", "<h1>Loom</h1><p>A loom weaves warp and weft.</p>"),
        ],
    )  # fmt: skip
    code, out, err = _run(capsys, "library", "add", str(archive))
    assert code == 0, err
    assert "added 'wiki': 2 articles, searched with its full-text index" in out
    _, out, _ = _run(capsys, "library", "search", "what were teasel heads used for", "--json")
    hit = json.loads(out.splitlines()[0])
    assert hit["url"] == "zim://wiki/A/Teasel" and hit["origin"] == "zim"
    _, out, _ = _run(capsys, "library", "list")
    assert any(line.startswith("wiki") and " zim " in line for line in out.splitlines())


@pytest.mark.parametrize("damage", ["truncated", "not a zim"])
def test_a_bad_zim_is_one_sentence(
    isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    bad = tmp_path / "bad.zim"
    if damage == "truncated":
        good = build_zim(tmp_path / "good.zim", [("A/X", "X", "<p>x marks the spot</p>")])
        data = good.read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    else:
        bad.write_bytes(b"PK\x03\x04 this is a zip file, not a ZIM" * 50)
    code, out, err = _run(capsys, "library", "add", str(bad))
    assert code == 1
    assert err.startswith("qwq-edge: ") and "bad.zim" in err and err.count("\n") == 1
    assert "Traceback" not in err
    _, out, _ = _run(capsys, "library", "list")
    assert "bad" not in out  # nothing half-registered


def test_adding_a_missing_path_or_a_plain_file_is_one_sentence(
    isolated_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "library", "add", str(tmp_path / "nowhere"))
    assert code == 1 and "does not exist" in err and err.count("\n") == 1
    (tmp_path / "x.txt").write_text("hi")
    code, _, err = _run(capsys, "library", "add", str(tmp_path / "x.txt"))
    assert code == 1 and "add a folder of documents or a .zim archive" in err


BLOCK_NETWORK = """
import socket
_connect = socket.socket.connect
def _refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network blocked by the test")
    return _connect(self, address, *args)
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


@pytest.mark.model
def test_offline_ask_finds_and_cites_a_local_document(
    isolated_home: Path, docs: Path, tmp_path: Path, tavily: TavilyServer
) -> None:
    """The fact exists only in the PDF; the network is blocked in the child process and a
    Tavily key and server are set, so any web request would fail or be counted."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_NETWORK)
    env = cli_env(
        isolated_home, PYTHONPATH=str(site), TAVILY_API_KEY="tvly-TEST-KEY",
        QWQ_EDGE_TAVILY_URL=tavily.url,
    )  # fmt: skip

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qwq_edge", *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip

    added = run("library", "add", str(docs), "--name", "notes")
    assert added.returncode == 0, added.stderr
    proc = run(
        "ask", "--json", "--offline", "--min-searches", "1",
        "--seed", "0", "--temperature", "0", "--max-tokens", "200", "--n-ctx", "4096",
        "Who first lit the Varnholt lighthouse, and in which year?",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    events: list[dict[str, Any]] = [json.loads(line) for line in proc.stdout.splitlines()]
    result = next(e for e in events if e["type"] == "tool_result")
    page = (docs / "lighthouses.pdf").resolve().as_uri() + "#page=2"
    assert result["error"] is None
    assert page in [h["url"] for h in result["hits"]]
    hit = next(h for h in result["hits"] if h["url"] == page)
    assert hit["origin"] == "file" and "Ilse Brandvik" in hit["content"]
    final = next(e for e in events if e["type"] == "final_answer")
    assert page in [s["url"] for s in final["sources"]], final["text"]
    assert tavily.queries == []  # offline: not one request, even with a key set


def test_ctrl_c_stops_indexing_and_the_next_run_resumes(
    isolated_home: Path, tmp_path: Path
) -> None:
    import signal
    import sqlite3
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12000):
        (folder / f"n{i:05}.txt").write_text(f"note {i} about the ferry timetable {i}\n")
    env = cli_env(isolated_home)
    cmd = [sys.executable, "-m", "qwq_edge", "library", "add", str(folder), "--name", "many"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    db = isolated_home / "data" / "library.sqlite3"

    def documents() -> int:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
            finally:
                conn.close()
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 120
    while documents() == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "stopped; run `qwq-edge library reindex` to go on" in out
    assert "Traceback" not in err
    kept = documents()
    assert 0 < kept < 12000
    again = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "library", "reindex", "many"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"many: indexed — {12000 - kept} new, 0 changed, {kept} unchanged" in again.stdout
    assert documents() == 12000


@pytest.mark.model
def test_an_online_answer_is_found_offline_by_a_differently_worded_question(
    isolated_home: Path, tavily: TavilyServer
) -> None:
    env = cli_env(isolated_home, TAVILY_API_KEY="tvly-TEST-KEY", QWQ_EDGE_TAVILY_URL=tavily.url)
    common = ["--json", "--min-searches", "1", "--seed", "0", "--temperature", "0",
              "--max-tokens", "120", "--n-ctx", "4096"]  # fmt: skip

    def ask(*args: str) -> list[dict[str, Any]]:
        proc = subprocess.run(
            [sys.executable, "-m", "qwq_edge", "ask", *common, *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return [json.loads(line) for line in proc.stdout.splitlines()]

    online = ask("Who won the 2022 FIFA World Cup?")
    first = next(e for e in online if e["type"] == "tool_result")
    assert first["hits"] and {h["origin"] for h in first["hits"]} == {"web"}
    served = len(tavily.queries)
    offline = ask("--offline", "Which country beat France on penalties in Lusail?")
    result = next(e for e in offline if e["type"] == "tool_result")
    assert len(tavily.queries) == served  # offline: the server heard nothing more
    assert result["query"] != first["query"]  # another query: the cache alone would miss
    urls = {h["url"]: h["origin"] for h in result["hits"]}
    assert urls.get("https://example.com/world-cup-2022") == "cache"
