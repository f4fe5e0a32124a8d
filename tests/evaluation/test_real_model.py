"""``eval`` with the real test model on 5 shipped questions, arms none and library, offline
over the Orrowmere corpus, graded by the same model under the grade grammar."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.cli.evaluate import _shipped_corpus
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.evaluation.formats import SHIPPED, read_dataset
from qwq_edge.runtime import load_settings, open_journal
from qwq_edge.runtime.evaluation import SUMMARY, read_results, run_eval
from qwq_edge.runtime.grading import GRADES, ModelGrader


@pytest.mark.model
def test_eval_on_five_shipped_questions(engine: LlamaEngine, tmp_path: Path) -> None:
    _shipped_corpus()
    _shipped_corpus()  # the second time finds it in the library
    settings = load_settings({"offline": True, "seed": 0, "read_top": 0, "max_tokens": 256})
    items = read_dataset(SHIPPED)[:5]
    grader = ModelGrader(engine, settings.sampling, reasoning=engine.info.reasoning)
    journal = open_journal()
    out = tmp_path / "run"
    try:
        run = run_eval(
            settings, engine, items, ["none", "library"], "model", out, journal=journal,
            model_grade=grader.grade, dataset="shipped",
        )  # fmt: skip
    finally:
        journal.close()
    assert not run.interrupted
    assert len(read_results(out)) == 10
    assert all(r.grade in GRADES for r in run.results)
    assert all(r.searches == 0 for r in run.results if r.arm == "none")
    assert sum(r.searches for r in run.results if r.arm == "library") >= 1
    summary = (out / SUMMARY).read_text()
    assert "mcnemar_p:" in summary and 'model: "qwen2.5' in summary
