"""The verifier against planted claims (``bench.claims``): the plumbing and the scoring on a
scripted engine, then the real test model judging every claim. The real model's agreement is
printed and recorded, not held to a number: a 0.5B model is not a good judge."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from qwq_edge.bench.claims import CLAIMS, agrees, verifier_agreement
from qwq_edge.bench.report_corpus import DOCUMENTS
from qwq_edge.engine.llama import LlamaEngine
from tests.support.scripted_engine import ScriptedEngine


def verdict(name: str, passage: int = 1) -> str:
    return json.dumps({"verdict": name, "passage": passage})


def test_the_planted_claims_are_balanced_and_cite_their_passage() -> None:
    assert len(CLAIMS) >= 30
    assert sum(c.label == "supported" for c in CLAIMS) * 2 == len(CLAIMS)
    assert len({c.claim for c in CLAIMS}) == len(CLAIMS)
    for c in CLAIMS:
        assert c.document in DOCUMENTS and c.passage
        assert c.claim.endswith("[1].")


def test_verdicts_equal_to_the_labels_agree_on_every_claim() -> None:
    engine = ScriptedEngine([verdict(c.label) for c in CLAIMS])
    got = verifier_agreement(engine)  # type: ignore[arg-type]
    assert (got["agree"], got["n"], got["agreement"]) == (len(CLAIMS), len(CLAIMS), 1.0)
    half = len(CLAIMS) // 2
    assert got["per_label"] == {
        "supported": {"agree": half, "n": half}, "unsupported": {"agree": half, "n": half},
    }  # fmt: skip
    assert got["confusion"]["supported"] == {
        "supported": half, "partly": 0, "unsupported": 0, "unmatched": 0,
    }  # fmt: skip
    assert got["confusion"]["unsupported"]["unsupported"] == half
    assert got["partly"] == 0 and got["passages_valid"]
    # Every judge call was made under the verdict grammar, on the claim's own passage.
    assert len(engine.grammars) == len(CLAIMS) and all(g for g in engine.grammars)
    first = engine.detokenize(engine.contexts[0])
    assert CLAIMS[0].passage in first and CLAIMS[0].claim in first


@pytest.mark.parametrize(
    ("name", "expected"),
    [("supported", 0.5), ("partly", 0.5), ("unsupported", 0.5)],
)
def test_one_verdict_for_every_claim_agrees_on_half(name: str, expected: float) -> None:
    engine = ScriptedEngine([verdict(name) for _ in CLAIMS])
    got = verifier_agreement(engine)  # type: ignore[arg-type]
    assert got["agreement"] == expected and got["n"] == len(CLAIMS)
    assert got["partly"] == (len(CLAIMS) if name == "partly" else 0)
    for label in ("supported", "unsupported"):
        assert got["confusion"][label][name] == len(CLAIMS) // 2
    # partly counts as not supported: it agrees with the false claims only
    assert got["per_label"]["supported"]["agree"] == (len(CLAIMS) // 2 if name == "supported"
                                                      else 0)  # fmt: skip


def test_scoring_and_passage_indices() -> None:
    assert agrees("supported", "supported") and not agrees("supported", "partly")
    assert agrees("unsupported", "partly") and agrees("unsupported", "unmatched")
    # A verdict relying on no passage (0) is valid; the scripted answers all say 0 here.
    engine = ScriptedEngine([verdict("unsupported", 0) for _ in CLAIMS])
    got = verifier_agreement(engine)  # type: ignore[arg-type]
    assert got["passages_valid"] and all(c["source"] == 0 for c in got["claims"])


@pytest.mark.model
def test_the_real_model_judges_every_planted_claim(
    engine: LlamaEngine, record_property: Callable[[str, object], None]
) -> None:
    got = verifier_agreement(engine)
    assert got["n"] == len(CLAIMS) >= 30
    assert all(c["verdict"] in ("supported", "partly", "unsupported") for c in got["claims"])
    assert got["passages_valid"], [c for c in got["claims"] if not c["passage_valid"]]
    assert all(c["source"] in (0, 1) for c in got["claims"])
    assert 0.0 <= got["agreement"] <= 1.0
    line = (
        f"verifier agreement, {engine.info.name}: {got['agree']}/{got['n']} "
        f"({got['agreement']:.0%}); per label {got['per_label']}; "
        f"confusion {got['confusion']}; {got['seconds']:.0f} s"
    )
    print(line)
    record_property("verifier_agreement", got["agreement"])
    record_property("verifier_confusion", json.dumps(got["confusion"]))


def test_the_report_bench_rows_say_what_was_measured() -> None:
    from qwq_edge.bench.reports import rows

    agreement = verifier_agreement(ScriptedEngine([verdict(c.label) for c in CLAIMS]))  # type: ignore[arg-type]
    res = {"planned": 3, "written": 2, "empty": 0, "cited": 4, "resolved": 3,
           "verdicts": {"partly": 1, "supported": 2}, "section_seconds": [10.0, 30.0],
           "start_evaluated": [150, 200], "start_reprefill": [900, 1000],
           "report_seconds": 60.0, "agreement": agreement}  # fmt: skip
    cells = {r.metric + " / " + r.loop: r.cells() for r in rows(res)}
    assert "75.0 %" in cells["report: cited numbers that match a source / qwq-edge research"][2]
    assert "not met" in cells["report: cited numbers that match a source / qwq-edge research"][4]
    start = "report: tokens evaluated to start a section / branch from the plan's KV"
    assert cells[start][3] == "0.18×"  # 175 ÷ 950
    assert "partly 1, supported 2" in cells["report: claims checked / verify.Judge"][4]
    assert "100.0 %" in cells[f"verifier agreement, {len(CLAIMS)} planted claims / verify.Judge"][2]
    nothing = rows({**res, "cited": 0, "resolved": 0, "start_evaluated": [], "verdicts": {}})
    assert "nothing cited" in nothing[1].cells()[4] and nothing[1].goal == ""
    assert not any("start a section" in r.metric for r in nothing)
