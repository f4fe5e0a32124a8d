"""Citations that match no source are said: in the terminal's text, in ``--json`` (the
field) and in the Markdown export."""

from __future__ import annotations

import io
import json

from qwq_edge.cli.render import JsonRenderer, TextRenderer
from qwq_edge.events import (
    AnswerDelta,
    Event,
    FinalAnswer,
    QuestionAsked,
    Source,
    ToolCall,
    ToolResult,
)
from qwq_edge.store.bundle import to_markdown
from qwq_edge.store.journal import SessionRow

FAILED: list[Event] = [
    ToolCall(1, "web_search", {"query": "capital of France"}, raw="{}", inside_think=False),
    ToolResult(1, "tavily", "capital of France", error="rate limited"),
    AnswerDelta("Paris [1] [2]."),
]


def rendered(events: list[Event], color: bool = False) -> str:
    out = io.StringIO()
    render = TextRenderer(out, color=color, stats=False)
    for e in events:
        render(e)
    return out.getvalue()


def test_citations_that_match_no_source_get_a_note_after_the_answer() -> None:
    shown = rendered([*FAILED, FinalAnswer("Paris [1] [2].", unmatched=(1, 2))])
    lines = shown.splitlines()
    assert "note: the answer cites [1], [2], which match no source" in lines
    assert lines.index("Paris [1] [2].") < lines.index(
        "note: the answer cites [1], [2], which match no source"
    )
    one = rendered([AnswerDelta("Paris [4]."), FinalAnswer("Paris [4].", unmatched=(4,))])
    assert "note: the answer cites [4], which matches no source\n" in one


def test_the_note_is_yellow_in_colour_and_absent_when_every_citation_matches() -> None:
    coloured = rendered([*FAILED, FinalAnswer("Paris [1] [2].", unmatched=(1, 2))], color=True)
    assert "\x1b[33mnote: the answer cites [1], [2], which match no source\x1b[0m" in coloured
    src = Source(1, "France", "https://fr.example/")
    matched = rendered([AnswerDelta("Paris [1]."), FinalAnswer("Paris [1].", (src,))])
    assert "match no source" not in matched and "matches no source" not in matched
    assert "[1] France" in matched


def test_the_json_event_carries_the_field() -> None:
    out = io.StringIO()
    JsonRenderer(out)(FinalAnswer("Paris [1].", unmatched=(1,)))
    assert json.loads(out.getvalue())["unmatched"] == [1]


def row() -> SessionRow:
    return SessionRow(
        id="s", created=0.0, title="Capital", model="m", model_size=None, model_sha256=None,
        quant="Q4_K_M", prompt_format=None, settings={}, seed=None, status="done", answer="",
        searches=1,
    )  # fmt: skip


def test_the_markdown_export_says_which_citations_match_no_source() -> None:
    events: list[Event] = [
        QuestionAsked(1, "Capital of France?"),
        *FAILED,
        FinalAnswer("Paris [1] [2].", unmatched=(1, 2)),
    ]
    md = to_markdown(row(), events)
    assert "Paris [1] [2].\n\n> cites [1], [2], which match no source\n" in md
    md = to_markdown(row(), [QuestionAsked(1, "Q"), FinalAnswer("Paris [3].", unmatched=(3,))])
    assert "> cites [3], which matches no source" in md
    src = Source(1, "France", "https://fr.example/")
    md = to_markdown(row(), [QuestionAsked(1, "Q"), FinalAnswer("Paris [1].", (src,))])
    assert "no source" not in md
