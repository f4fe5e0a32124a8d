"""A journal written before the redesign (tests/store/fixtures/journal-v1.sqlite3, made by
make_journal_v1.py against commit bd4af96) still lists, shows and replays."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qwq_edge import cli
from qwq_edge.events import FinalAnswer, Finished, QuestionAsked, ToolCall, ToolResult, from_json
from qwq_edge.store.journal import Journal

FIXTURE = Path(__file__).parent / "fixtures" / "journal-v1.sqlite3"


@pytest.fixture
def old_home(isolated_home: Path) -> Path:
    data = isolated_home / "data"
    data.mkdir(parents=True)
    shutil.copy(FIXTURE, data / "journal.sqlite3")
    return isolated_home


def test_old_sessions_list_with_their_status(old_home: Path) -> None:
    rows = Journal(old_home / "data" / "journal.sqlite3").sessions()
    assert [(r.title, r.status, r.searches) for r in rows] == [
        ("How do tides work?", "cancelled", 0),
        ("What is the tallest lighthouse?", "done", 2),
    ]


def test_an_old_session_replays_as_current_events(
    old_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = Journal(old_home / "data" / "journal.sqlite3").sessions()[1].id
    assert cli.main(["replay", sid, "--json"]) == 0
    events = [from_json(line) for line in capsys.readouterr().out.splitlines()]
    questions = [e.question for e in events if isinstance(e, QuestionAsked)]
    assert questions == ["What is the tallest lighthouse?", "When was it built?"]
    calls = [e.arguments["query"] for e in events if isinstance(e, ToolCall)]
    assert calls == ["tallest lighthouse", "Jeddah light height"]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [s.n for r in results for s in r.sources] == [1, 2, 3, 4]
    finals = [e for e in events if isinstance(e, FinalAnswer)]
    assert finals[0].text == "The Jeddah Light is the tallest [1], at 133 m [3]."
    assert [s.n for s in finals[0].sources] == [1, 3]
    assert [e.reason for e in events if isinstance(e, Finished)] == ["eos", "eos"]


def test_an_old_session_shows_its_sources(
    old_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = Journal(old_home / "data" / "journal.sqlite3").sessions()[1].id
    assert cli.main(["sessions", "show", sid]) == 0
    shown = capsys.readouterr().out
    assert "› What is the tallest lighthouse?" in shown and "[3] Result 2.1" in shown
    assert cli.main(["sessions", "show", sid, "--source", "3"]) == 0
    assert "https://example.com/2/1" in capsys.readouterr().out
    assert cli.main(["sessions", "export", sid, "--to", "json", str(old_home / "s.json")]) == 0
    exported = json.loads((old_home / "s.json").read_text())
    assert exported["session"]["answer"] == "It was built in 1990."
