"""`qwq-edge research` refusing what it cannot do, in one sentence, before loading a model."""

from __future__ import annotations

import pytest

from qwq_edge import cli
from qwq_edge.events import FinalAnswer, Finished, QuestionAsked, SessionStarted
from qwq_edge.runtime import open_journal


def test_a_topic_is_needed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["research"]) == 1
    assert "say what the report is about" in capsys.readouterr().err


@pytest.mark.parametrize("n", ["0", "11"])
def test_sections_are_one_to_ten(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["research", "tides", "--sections", n]) == 1
    assert "--sections takes 1 to 10" in capsys.readouterr().err


def test_continue_refuses_a_session_that_is_not_a_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    journal = open_journal()
    start = SessionStarted("20261208-010101-abcdef", "q", "m.gguf", {})
    journal.start(start, model_size=None, quant=None)
    for e in (QuestionAsked(1, "q"), FinalAnswer("a"), Finished("eos")):
        journal.append(start.session_id, e)
    assert cli.main(["research", "--continue", "20261208-0101"]) == 1
    err = capsys.readouterr().err
    assert "is not a report" in err and "Traceback" not in err
