"""The session journal, replay, re-run and bundles, with the real test model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qwq_edge import cli
from qwq_edge.agent.replay import no_network
from qwq_edge.events import Event, Source, to_json
from qwq_edge.paths import paths
from qwq_edge.store.journal import MIGRATIONS, Journal
from tests.support.env import cli_env
from tests.support.tavily_server import TavilyServer

KEY = "tvly-JOURNAL-SECRET-42"
ASK = ["--min-searches", "1", "--seed", "0", "--max-tokens", "80", "--n-ctx", "4096"]


def journal() -> Journal:
    return Journal(paths().data_dir / "journal.sqlite3")


def ask(
    tavily: TavilyServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    question: str = "Who won the 2022 FIFA World Cup?",
) -> list[dict]:  # type: ignore[type-arg]
    monkeypatch.setenv("TAVILY_API_KEY", KEY)
    monkeypatch.setenv("QWQ_EDGE_TAVILY_URL", tavily.url)
    assert cli.main(["ask", question, "--json", *ASK]) == 0
    out = capsys.readouterr().out
    monkeypatch.delenv("TAVILY_API_KEY")
    monkeypatch.delenv("QWQ_EDGE_TAVILY_URL")
    return [json.loads(line) for line in out.splitlines()]


def test_ask_is_journaled_event_for_event(
    tavily: TavilyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = ask(tavily, monkeypatch, capsys)
    j = journal()
    [row] = j.sessions()
    assert row.id == printed[0]["session_id"] and row.status == "done" and row.searches == 1
    assert row.title == "Who won the 2022 FIFA World Cup?" and row.quant == "Q4_K_M"
    assert row.settings["prompt_format"] == "seed" and row.seed == 0
    stored = [json.loads(to_json(e)) for e in j.events(row.id)]
    assert stored == printed  # every event, in order, exactly as emitted
    assert row.answer == printed[-2]["text"]


def test_model_sha256_is_recorded_and_remembered(qwen_path: Path, tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    t0 = time.perf_counter()
    digest = j.model_sha256(qwen_path)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert j.model_sha256(qwen_path) == digest
    assert time.perf_counter() - t0 < first / 10
    assert digest == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def test_replay_with_sockets_blocked(
    tavily: TavilyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = ask(tavily, monkeypatch, capsys)
    sid = printed[0]["session_id"]
    with no_network():
        assert cli.main(["replay", sid, "--json"]) == 0
        replayed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert replayed == printed
        assert cli.main(["replay", sid[:10]]) == 0
        text = capsys.readouterr().out
    assert "› Who won the 2022 FIFA World Cup?" in text
    assert "⌕ web_search:" in text


def test_rerun_reproduces_the_answer_offline(
    tavily: TavilyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = ask(tavily, monkeypatch, capsys)
    sid = printed[0]["session_id"]
    requests = len(tavily.requests)
    with no_network():
        assert cli.main(["replay", sid, "--rerun"]) == 0
    out = capsys.readouterr().out
    assert "identical to the recording" in out and "not identical" not in out
    assert len(tavily.requests) == requests


def test_regression_replay_against_another_model(
    tavily: TavilyServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    smollm_path: Path,
) -> None:
    sid = ask(tavily, monkeypatch, capsys)[0]["session_id"]
    with no_network():
        assert cli.main(["replay", sid, "--rerun", "--model", str(smollm_path)]) == 0
    out = capsys.readouterr().out
    assert "recorded (qwen2.5-coder-0.5b-instruct-q4_k_m.gguf)" in out
    assert f"re-run ({smollm_path.name})" in out


def test_bundle_moves_a_session_to_a_fresh_machine(
    tavily: TavilyServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    printed = ask(tavily, monkeypatch, capsys)
    sid = printed[0]["session_id"]
    bundle = tmp_path / "session.json"
    assert cli.main(["sessions", "export", sid, "--to", "bundle", str(bundle)]) == 0
    assert cli.main(["sessions", "export", sid, "--to", "md", str(tmp_path / "s.md")]) == 0
    md = (tmp_path / "s.md").read_text()
    assert md.startswith("# Who won the 2022 FIFA World Cup?") and "**Search:**" in md
    monkeypatch.setenv("QWQ_EDGE_HOME", str(tmp_path / "elsewhere"))
    capsys.readouterr()
    with no_network():
        assert cli.main(["sessions", "import", str(bundle)]) == 0
        assert cli.main(["sessions"]) == 0
        assert sid in capsys.readouterr().out
        assert cli.main(["replay", sid, "--json"]) == 0
        assert [json.loads(x) for x in capsys.readouterr().out.splitlines()] == printed
        assert cli.main(["replay", sid, "--rerun"]) == 0
        assert "identical to the recording" in capsys.readouterr().out
        assert cli.main(["cache", "stats"]) == 0
        assert "1 cached searches" in capsys.readouterr().out
        assert cli.main(["sessions", "import", str(bundle)]) == 1  # already there: clear error
    assert "already in this journal" in capsys.readouterr().err


def test_source_shows_the_exact_snippet_offline(
    tavily: TavilyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    printed = ask(tavily, monkeypatch, capsys)
    result = next(e for e in printed if e["type"] == "tool_result")
    src = Source(**result["sources"][0])
    assert len(src.cache_key) == 64 and src.fetched_at > 0
    assert cli.main(["sessions", "show", printed[0]["session_id"], "--source", "1"]) == 0
    out = capsys.readouterr().out
    assert src.url in out and src.cache_key in out and "beating France on penalties" in out


def test_offline_ask_uses_the_cache_only(
    tavily: TavilyServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = ask(tavily, monkeypatch, capsys)
    query = next(e for e in first if e["type"] == "tool_call")["arguments"]["query"]
    n = len(tavily.requests)
    with no_network():
        assert (
            cli.main(["ask", "Who won the 2022 FIFA World Cup?", "--json", "--offline", *ASK]) == 0
        )
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    result = next(e for e in events if e["type"] == "tool_result")
    if result["query"] == query:
        assert result["cached"] and not result["error"]
    else:
        assert result["error_kind"] == "offline"
    assert len(tavily.requests) == n


def test_kill_9_leaves_an_interrupted_replayable_session(
    tavily: TavilyServer, isolated_home: Path
) -> None:
    env = cli_env(isolated_home, QWQ_EDGE_TAVILY_URL=tavily.url, TAVILY_API_KEY=KEY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwq_edge", "ask", "Write a very long story about the sea.",
         "--json", "--seed", "3", "--max-tokens", "3000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    deltas = 0
    while deltas < 15:
        event = json.loads(proc.stdout.readline())
        deltas += event["type"] == "answer_delta"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    j = journal()
    [row] = j.sessions()
    assert row.status == "interrupted"
    events: list[Event] = list(j.events(row.id))
    assert sum(type(e).__name__ == "AnswerDelta" for e in events) >= 15
    replay = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "replay", row.id],
        capture_output=True,
        text=True,
        env=env,
    )
    assert replay.returncode == 0 and "› Write a very long story" in replay.stdout


def test_a_failed_write_never_leaves_a_transaction_open(tmp_path: Path) -> None:
    from qwq_edge.events import AnswerDelta, SessionStarted

    j = Journal(tmp_path / "j.sqlite3")
    j.start(SessionStarted("s1", "q", "m.gguf", {}), model_size=None, quant=None)
    j.append("s1", AnswerDelta("a"))
    j._seq["s1"] = -1  # the next write collides with seq 0 (as two writers of one session would)
    with pytest.raises(sqlite3.IntegrityError):
        j.append("s1", AnswerDelta("b"))
    j.append("s1", AnswerDelta("c"))  # the connection still works
    assert [e.text for e in j.events("s1")] == ["a", "c"]  # type: ignore[union-attr]
    other = Journal(tmp_path / "j.sqlite3")  # and no write lock was left behind
    other.append("s1", AnswerDelta("d"))


def test_migration_from_the_first_schema(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    old.execute(
        "INSERT INTO sessions (id, created, updated, title, model, settings, status)"
        " VALUES ('old-1', 1.0, 1.0, 'an old question', 'm.gguf', '{}', 'done')"
    )
    old.commit()
    old.close()
    j = Journal(path)
    assert j.notice is None
    [row] = j.sessions()
    assert (row.id, row.title, row.model_sha256) == ("old-1", "an old question", None)
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS)


@pytest.mark.parametrize("kind", ["garbage", "foreign", "newer"])
def test_bad_journal_is_set_aside_never_deleted(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "journal.sqlite3"
    if kind == "garbage":
        path.write_bytes(os.urandom(8192))
    else:
        conn = sqlite3.connect(path)
        if kind == "foreign":
            conn.execute("CREATE TABLE invoices (id INTEGER)")
        else:
            conn.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 99;")
        conn.commit()
        conn.close()
    before = path.read_bytes()
    j = Journal(path)
    assert j.notice and "moved to" in j.notice and "new one" in j.notice
    [aside] = [
        p for p in tmp_path.iterdir() if ".bad-" in p.name and not p.name.endswith(("-wal", "-shm"))
    ]
    assert aside.read_bytes() == before
    assert j.sessions() == []


def test_the_key_never_reaches_disk(
    tavily: TavilyServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
    tmp_path: Path,
) -> None:
    tavily.behaviour.detail = f"echoing {KEY}"
    printed = ask(tavily, monkeypatch, capsys)
    sid = printed[0]["session_id"]
    assert (
        cli.main(["sessions", "export", sid, "--to", "bundle", str(isolated_home / "b.json")]) == 0
    )
    assert cli.main(["sessions", "export", sid, "--to", "md", str(isolated_home / "b.md")]) == 0
    assert cli.main(["cache", "export", str(isolated_home / "pack.sqlite3")]) == 0
    files = [p for p in isolated_home.rglob("*") if p.is_file()]
    assert any(p.name == "journal.sqlite3" for p in files) and any(
        p.name == "llama.log" for p in files
    )
    for p in files:
        assert KEY.encode() not in p.read_bytes(), p
