"""Events serialize to one JSON object per line and come back identical."""

from __future__ import annotations

import dataclasses
import json

import pytest

from qwq_edge import events as ev

SAMPLES: list[ev.Event] = [
    ev.SessionStarted("s1", "q?", "m.gguf", {"n_ctx": 4096, "sampling": {"temperature": 0.6}}),
    ev.QuestionAsked(1, "q?", seed=7),
    ev.ThinkingDelta("hmm"),
    ev.AnswerDelta("Paris [1]"),
    ev.AnswerRetracted(8),
    ev.ToolCall(1, "web_search", {"query": "x"}, '{"action":"web_search"}', inside_think=True),
    ev.ToolResult(
        1,
        "tavily",
        "x",
        hits=(ev.SearchHit("T", "https://e.com", "c", 0.5),),
        sources=(ev.Source(1, "T", "https://e.com"),),
        cached=True,
    ),
    ev.PageOpened(
        2,
        "https://e.com",
        "gig",
        ev.Source(1, "T", "https://e.com"),
        "T",
        (ev.ReadPassage(3, "T › Use", "a drum called a gig"),),
        total=9,
        tokens=40,
    ),
    ev.PageOpened(3, "http://10.0.0.1/", error="refused", error_kind="refused"),
    ev.Stats("generate", 10, 100, 5, 0.1, 0.2, 115, 4096),
    ev.Notice("no key", kind="no_search"),
    ev.ErrorEvent("boom", kind="search"),
    ev.FinalAnswer("Paris [1] [4]", (ev.Source(1, "T", "https://e.com"),), unmatched=(4,)),
    ev.FinalAnswer("Paris.", from_memory=True),
    ev.Finished("eos", turn=1),
    ev.ReportPlanned("Gold", (ev.PlanSection("Prices", "Where it stands.", ("Price?",)),)),
    ev.SectionStarted(1, "Prices"),
    ev.ClaimChecked(1, "Gold rose [1].", (1,), "partly", 1, "Gold rose 3%.", fixed=""),
    ev.SectionWritten(1, "Prices", "Gold rose [1].", "Gold rose [1].", (ev.Source(1, "T", "u"),)),
    ev.ReportWritten("/tmp/r", True, ("Outlook",), ("report.md",)),
]


def test_every_event_type_has_a_sample() -> None:
    assert {ev.event_type(e) for e in SAMPLES} == set(ev.EVENT_TYPES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: ev.event_type(e))
def test_roundtrip(event: ev.Event) -> None:
    line = ev.to_json(event)
    assert "\n" not in line
    assert json.loads(line)["type"] == ev.event_type(event)
    assert ev.from_json(line) == event


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLES[3].text = "changed"  # type: ignore[misc, union-attr]


def test_unknown_fields_from_newer_versions_are_ignored() -> None:
    data = ev.to_dict(ev.AnswerDelta("x"))
    data["future_field"] = 1
    assert ev.from_dict(data) == ev.AnswerDelta("x", t=data["t"])


def test_an_answer_journaled_before_from_memory_is_not_claimed_as_memory_only() -> None:
    data = ev.to_dict(ev.FinalAnswer("Paris.", from_memory=True))
    assert data["from_memory"] is True
    del data["from_memory"]  # what a journal written before the field holds
    old = ev.from_dict(data)
    assert isinstance(old, ev.FinalAnswer) and old.from_memory is False
