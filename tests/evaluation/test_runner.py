"""The eval runner on a scripted engine: two arms over the same items, every question a
journaled session, results written as they finish, a resumed run skipping what is done,
Ctrl+C keeping what was answered, and the model grader under its grammar."""

from __future__ import annotations

import json
from pathlib import Path

from qwq_edge.agent.state import Controls
from qwq_edge.evaluation.formats import Item
from qwq_edge.runtime.evaluation import RESULTS, SUMMARY, read_results, run_eval, to_yaml
from qwq_edge.runtime.grading import GRADE_GRAMMAR, ModelGrader
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"name": "web_search", "arguments": {"query": "%s"}}'
ITEMS = [
    Item("a", "Which village holds the Midwinter Tarring?", ("Dunmarrow",)),
    Item("b", "How many crofts?", ("88",)),
]


def searched(query: str, text: str) -> list[str]:
    return ["<tool_call>", CALL % query, text + "<|im_end|>"]


def test_two_arms_graded_journaled_and_summarized(tmp_path: Path) -> None:
    script = [
        "I do not know.<|im_end|>",  # a, none
        *searched("tarring", "It is held in Dunmarrow [1].<|im_end|>"),  # a, library
        "There were 88 crofts.<|im_end|>",  # b, none
        *searched("crofts", "About 90 [1].<|im_end|>"),  # b, library
    ]
    engine = ScriptedEngine(script)
    journal = Journal(tmp_path / "j.sqlite3")
    seen: list[str] = []
    run = run_eval(
        Settings(), engine, ITEMS, ["none", "library"], "contains", tmp_path / "run1",
        journal=journal, provider_for=lambda s: FakeSearch(),
        on_progress=lambda r, rs: seen.append(f"{r.id}/{r.arm}"),
    )  # fmt: skip
    assert seen == ["a/none", "a/library", "b/none", "b/library"]
    got = {(r.id, r.arm): r for r in run.results}
    assert [got[k].correct for k in sorted(got)] == [True, False, False, True]
    assert got["a", "library"].searches == 1 and got["a", "none"].searches == 0
    assert got["a", "library"].tokens_generated > 0
    assert got["b", "none"].prediction == "There were 88 crofts."
    # every question is its own journaled session
    ids = {r.session_id for r in run.results}
    assert len(ids) == 4
    assert all(journal.session(i).id == i for i in ids)
    lines = (tmp_path / "run1" / RESULTS).read_text().splitlines()
    assert [json.loads(line)["arm"] for line in lines] == ["none", "library"] * 2
    summary = (tmp_path / "run1" / SUMMARY).read_text()
    assert "accuracy: 0.5" in summary and "mcnemar_p: 1.0" in summary
    assert 'search_source: "none"' in summary and "interval_95: [" in summary


def test_resume_skips_what_is_done_and_a_cut_line(tmp_path: Path) -> None:
    out = tmp_path / "run"
    engine = ScriptedEngine(["Dunmarrow.<|im_end|>"])
    run_eval(Settings(), engine, ITEMS[:1], ["none"], "exact", out,
             provider_for=lambda s: FakeSearch())  # fmt: skip
    with (out / RESULTS).open("a") as f:
        f.write('{"run": "run", "id": "b", "ar')  # killed mid-write
    engine2 = ScriptedEngine(["88<|im_end|>"])
    run = run_eval(Settings(), engine2, ITEMS, ["none"], "exact", out, resume=True,
                   provider_for=lambda s: FakeSearch())  # fmt: skip
    assert [(r.id, r.correct) for r in run.results] == [("a", True), ("b", True)]
    assert len(engine2.contexts) == 1  # only b was asked
    assert [r.id for r in read_results(out)] == ["a", "b"]


def test_ctrl_c_stops_between_questions_and_summarizes(tmp_path: Path) -> None:
    controls = Controls()
    out = tmp_path / "run"

    def stop_after_first(result: object, results: object) -> None:
        controls.cancel()

    run = run_eval(Settings(), ScriptedEngine(["Dunmarrow<|im_end|>"] * 4), ITEMS, ["none"],
                   "exact", out, provider_for=lambda s: FakeSearch(), controls=controls,
                   on_progress=stop_after_first)  # fmt: skip
    assert run.interrupted and [r.id for r in run.results] == ["a"]
    assert "complete: false" in (out / SUMMARY).read_text()
    assert len(read_results(out)) == 1


def test_the_model_grader_under_its_grammar(tmp_path: Path) -> None:
    engine = ScriptedEngine(
        ["It is Dunmarrow.<|im_end|>", '{"grade": "correct"}', "Nobody knows.<|im_end|>",
         '{"grade": "not_attempted"}']
    )  # fmt: skip
    grader = ModelGrader(engine, Settings().sampling, reasoning=False)
    run = run_eval(Settings(), engine, ITEMS, ["none"], "model", tmp_path / "run",
                   provider_for=lambda s: FakeSearch(), model_grade=grader.grade)  # fmt: skip
    assert [(r.grade, r.correct) for r in run.results] == [
        ("correct", True), ("not_attempted", False),
    ]  # fmt: skip
    assert engine.grammars.count(GRADE_GRAMMAR) == 2
    assert "Gold target: Dunmarrow" in engine.detokenize(engine.contexts[1])


def test_yaml_writer() -> None:
    assert to_yaml({"a": 1, "b": {"c": [0.1, 0.2], "d": "x"}}) == (
        'a: 1\nb:\n  c: [0.1, 0.2]\n  d: "x"\n'
    )


def test_eval_writes_each_answered_session_as_a_graded_trajectory(tmp_path: Path) -> None:
    from qwq_edge.cli.evaluate import _trajectories

    engine = ScriptedEngine(["I do not know.<|im_end|>", "There were 88 crofts.<|im_end|>"])
    journal = Journal(tmp_path / "j.sqlite3")
    run = run_eval(Settings(), engine, ITEMS, ["none"], "contains", tmp_path / "run",
                   journal=journal, provider_for=lambda s: FakeSearch())  # fmt: skip
    _trajectories(journal, run.results, tmp_path / "t.jsonl", engine)
    lines = [json.loads(x) for x in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [(x["eval"]["item"], x["eval"]["correct"]) for x in lines] == [
        ("a", False), ("b", True),
    ]  # fmt: skip
    for x in lines:
        assert len(x["mask"]) == len(x["tokens"]) and 0 < sum(x["mask"]) < len(x["mask"])
