"""``qwq-edge eval``'s one-sentence refusals (before any model loads) and ``eval compare``
over two runs written by the runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge import cli
from qwq_edge.evaluation.formats import Item
from qwq_edge.runtime.evaluation import run_eval
from qwq_edge.settings import Settings
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["eval"], "give a data set"),
        (["eval", str(FIXTURES / "bad.csv")], "columns problem, answer"),
        (["eval", "shipped", "--arms", "none,moon"], "arms must be among"),
        (["eval", "compare", "x"], "two run folders"),
        (["eval", "--resume", "nowhere"], "holds no eval run"),
    ],
)
def test_refusals_are_one_sentence(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and "Traceback" not in err


def test_compare_two_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = [Item(str(i), f"q{i}?", ("yes",)) for i in range(6)]
    run_eval(Settings(), ScriptedEngine(["no<|im_end|>"] * 6), items, ["none"], "exact",
             tmp_path / "a", provider_for=lambda s: FakeSearch())  # fmt: skip
    run_eval(Settings(), ScriptedEngine(["yes<|im_end|>"] * 6), items, ["none"], "exact",
             tmp_path / "b", provider_for=lambda s: FakeSearch())  # fmt: skip
    assert cli.main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "6 questions answered by both" in out
    assert "0/6 = 0.0%" in out and "6/6 = 100.0%" in out
    assert "McNemar exact p = 0.03125" in out
