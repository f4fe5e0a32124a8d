"""The pieces of a report that need no model: the plan read back (cut off, repeated,
edited), sentences and claims, tidying a small model's section, the judge's passages, and
the Markdown made safe from hostile titles."""

from __future__ import annotations

import json

import pytest

from qwq_edge.events import ClaimChecked, PlanSection, ReportPlanned, SectionWritten, Source
from qwq_edge.research.document import SectionLog, final_text, numbering, renumber, safe
from qwq_edge.research.plan import PlanError, outline, parse_outline, parse_plan, plan_grammar
from qwq_edge.research.verify import Claim, claims, evidence, passages_for, sentences, tidy

PLAN = {
    "title": "Gold",
    "sections": [
        {"title": "Prices", "goal": "Where it stands.", "questions": ["Price?", "Trend?"]},
        {"title": "Demand", "goal": "Who buys.", "questions": ["Buyers?"]},
        {"title": "Outlook", "goal": "Next.", "questions": ["Next?"]},
    ],
}


def test_a_plan_cut_off_mid_string_keeps_what_was_written() -> None:
    raw = json.dumps(PLAN)
    cut = raw[: raw.index("Outlook") + 3]
    plan = parse_plan(cut, "gold", 5)
    assert [s.title for s in plan.sections] == ["Prices", "Demand", "Out"]
    assert plan.sections[0].questions == ("Price?", "Trend?")


def test_a_repeated_section_is_kept_once_and_the_plan_filled_to_three() -> None:
    same = {"title": "Facts", "goal": "Facts.", "questions": ["What?"]}
    plan = parse_plan(json.dumps({"title": "T", "sections": [same, same, same]}), "gold", 3)
    assert [s.title for s in plan.sections] == ["Facts", "Background", "Key facts"]


def test_nothing_usable_gives_the_plan_made_without_the_model() -> None:
    plan = parse_plan("not json", "tides", 4)
    assert plan.title == "tides" and len(plan.sections) == 4
    assert "tides" in plan.sections[0].goal


def test_the_grammar_asks_for_three_to_n_sections() -> None:
    assert "){2,4}" in plan_grammar(5)
    assert "){0,0}" in plan_grammar(1)
    assert 'text ::= "\\"" first char* "\\""' in plan_grammar(10)


def test_an_outline_round_trips_and_an_edit_is_read_back() -> None:
    plan = parse_plan(json.dumps(PLAN), "gold", 5)
    assert parse_outline(outline(plan), plan).sections == plan.sections
    edited = outline(plan).replace("## Demand", "## Central banks").replace("- Next?", "")
    back = parse_outline(edited, plan)
    assert back.status == "edited"
    assert [s.title for s in back.sections] == ["Prices", "Central banks", "Outlook"]
    assert back.sections[2].questions == ("Next.",)  # no question left: the goal is one
    with pytest.raises(PlanError, match="no section"):
        parse_outline("# Only a title\n", plan)


def test_sentences_and_claims() -> None:
    text = (
        "# Heading\n\nGold rose 3% in May [1]. It fell later.[2] Banks bought more [1, 3].\n"
        "- A list item [4].\n\n```\ncode [5].\n```\n| table | [6] |"
    )
    assert sentences(text) == [
        "Gold rose 3% in May [1].", "It fell later.[2]", "Banks bought more [1, 3].",
        "A list item [4].",
    ]  # fmt: skip
    assert [c.cited for c in claims(text)] == [(1,), (2,), (1, 3), (4,)]


def test_tidy_drops_headings_layout_copies_and_loops() -> None:
    text = (
        "### My report\n---\n[1] (local document) Title — passage 1 of 1\nURL: file:///x\n"
        "It sank in 1642 [1]. It sank in 1642 [1]. Then it was rebuilt [2].\n\nThe end."
    )
    assert tidy(text) == "It sank in 1642 [1]. Then it was rebuilt [2].\n\nThe end."


def test_the_judge_reads_the_best_passages_of_the_cited_sources_only() -> None:
    read = {
        1: ["The bridge was built in 1841 by Maela Orsk.", "Unrelated text about fish."],
        2: ["The bridge is 40 metres long."],
        3: ["Orsk also built the 1841 bridge (never shown: not cited)."],
    }
    shown = evidence(Claim("Maela Orsk built the bridge in 1841 [1][2].", (1, 2)), read)
    assert shown[0] == (1, read[1][0])
    assert all(n in (1, 2) for n, _ in shown)
    assert passages_for("bridge length", read, budget=40)[0][0] == 2


def test_renumbering_and_marks() -> None:
    assert renumber("A [3]. B [1, 3]. C [9].", {3: 1, 1: 2}) == "A [1]. B [1, 2]. C [9?]."
    assert numbering(["A [3]. B [1]. C [3]."], [1, 3]) == {3: 1, 1: 2}
    log = SectionLog(1, "S")
    log.written = SectionWritten(1, "S", "Gold rose [1]. It fell [1]. Odd [7].", unmatched=(7,))
    log.checks = [  # in the text's order, as the judge makes them
        ClaimChecked(1, "Gold rose [1].", (1,), "partly", fixed="Gold rose a little [1]."),
        ClaimChecked(1, "It fell [1].", (1,), "unsupported"),
    ]
    assert final_text(log) == (
        "Gold rose a little [1]. *[revised after checking]* It fell [1]. *[unsupported]* "
        "Odd [7]. *[cites no source]*"
    )


def test_hostile_titles_cannot_make_links_or_html() -> None:
    out = safe("[click](http://evil) <script>\x1b[31m\nx")
    assert out == "\\[click\\](http://evil) \\<script\\>\\[31m x"


def test_a_report_plan_event_round_trips_through_json() -> None:
    from qwq_edge.events import from_json, to_json

    plan = ReportPlanned("T", (PlanSection("A", "g", ("q1", "q2")),), "approved", "topic")
    assert from_json(to_json(plan)) == plan
    written = SectionWritten(1, "A", "x [1].", sources=(Source(1, "t", "https://a"),))
    assert from_json(to_json(written)) == written


def test_the_summary_takes_a_cited_sentence_never_a_label_or_a_doubtful_claim() -> None:
    from qwq_edge.research.verify import lead

    text = "**Climate:** It is a mild and wet island. It gets 1,340 mm of rain a year [2]."
    assert lead(text) == "It gets 1,340 mm of rain a year [2]."
    assert lead(text, {"It gets 1,340 mm of rain a year [2]."}).endswith("a mild and wet island.")
    assert lead("**Climate:**") == ""


def test_a_mark_lands_on_its_own_sentence_not_an_earlier_one_that_reads_the_same() -> None:
    log = SectionLog(1, "S")
    log.written = SectionWritten(1, "S", "It rose [1]. Prices fell in May [1]. It rose [1].")
    log.checks = [
        ClaimChecked(1, "It rose [1].", (1,), "supported"),
        ClaimChecked(1, "Prices fell in May [1].", (1,), "supported"),
        ClaimChecked(1, "It rose [1].", (1,), "unsupported"),
    ]
    assert final_text(log) == "It rose [1]. Prices fell in May [1]. It rose [1]. *[unsupported]*"


def test_section_prose_carries_no_html_images_or_links() -> None:
    from qwq_edge.research.document import prose

    text = 'Gold <img src="https://evil/x"> costs [1]. See [here](javascript:alert(1)) ![i](x)'
    assert prose(text) == 'Gold &lt;img src="https://evil/x"&gt; costs [1]. See here i'
    assert prose("> **Partial report.** forged") == "&gt; **Partial report.** forged"
