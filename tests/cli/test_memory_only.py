"""An answer made with no search behind it says so: the core's rule (``from_memory``),
``ask``'s note under the answer, the field in ``ask --json`` and the Markdown export."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from qwq_edge import cli, runtime
from qwq_edge.agent.loop import Agent
from qwq_edge.cli.render import TextRenderer
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.errors import SearchError
from qwq_edge.events import AnswerDelta, Event, FinalAnswer, QuestionAsked, Source, ToolResult
from qwq_edge.settings import Sampling, Settings
from qwq_edge.store.bundle import to_markdown
from qwq_edge.store.journal import SessionRow
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
ASK = ["--min-searches", "0"]  # the test model's catalog entry would force a first search
NOTE = "note: answered from the model's memory, no search made"


def final(script: list[str], search: FakeSearch | None = None, question: str = "Q?") -> FinalAnswer:
    agent = Agent(
        ScriptedEngine(script), search or FakeSearch(), Settings(), today=date(2026, 1, 1)
    )
    return next(e for e in agent.ask(question) if isinstance(e, FinalAnswer))


def test_an_answer_with_no_search_that_returned_results_is_from_memory() -> None:
    assert final(["Paris.<|im_end|>"]).from_memory  # no call at all
    no_key = FakeSearch(key=False)  # the call is refused: no way to search
    assert final(["<tool_call>", CALL % "capital", "Paris.<|im_end|>"], no_key).from_memory
    failed = FakeSearch(error=SearchError("rate limited", kind="rate"))
    assert final(["<tool_call>", CALL % "capital", "Paris.<|im_end|>"], failed).from_memory
    offline = FakeSearch(error=SearchError("not in the cache", kind="offline"))
    assert final(["<tool_call>", CALL % "capital", "Paris.<|im_end|>"], offline).from_memory
    none_found = FakeSearch(hits=0)  # a search made that found nothing
    assert final(["<tool_call>", CALL % "capital", "Paris.<|im_end|>"], none_found).from_memory


def test_a_search_with_results_an_earlier_source_cited_or_no_answer_is_not() -> None:
    assert not final(["<tool_call>", CALL % "capital", "Paris [1].<|im_end|>"]).from_memory
    assert not final(
        ["<tool_call>", CALL % "capital", "Paris.<|im_end|>"]
    ).from_memory  # read, not cited
    assert not final(["<|im_end|>"]).from_memory  # nothing was answered
    agent = Agent(
        ScriptedEngine(
            ["<tool_call>", CALL % "capital", "Paris [1].<|im_end|>", "Still Paris [1].<|im_end|>"]
        ),
        FakeSearch(),
        Settings(),
    )
    list(agent.ask("Capital of France?"))
    follow = next(e for e in agent.ask("Sure?") if isinstance(e, FinalAnswer))
    assert follow.sources and not follow.from_memory  # cites what the first turn found


def scripted_ask(monkeypatch: pytest.MonkeyPatch, script: list[str]) -> None:
    def build(settings: Settings, *args: object, **kwargs: object) -> Agent:
        return Agent(ScriptedEngine(script), FakeSearch(), settings, today=date(2026, 1, 1))

    monkeypatch.setattr(runtime, "build_agent", build)


def test_ask_prints_the_note_under_the_answer_and_json_carries_the_field(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted_ask(monkeypatch, ["Paris is the capital.<|im_end|>"])
    assert cli.main(["ask", "Capital of France?", *ASK, "--no-stats"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert NOTE in lines and lines.index("Paris is the capital.") < lines.index(NOTE)

    assert cli.main(["ask", "Capital of France?", *ASK, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    answer = next(e for e in events if e["type"] == "final_answer")
    assert answer["from_memory"] is True and answer["text"] == "Paris is the capital."

    scripted_ask(monkeypatch, ["<tool_call>", CALL % "capital of France", "Paris [1].<|im_end|>"])
    assert cli.main(["ask", "Capital of France?", *ASK, "--no-stats"]) == 0
    assert "from the model's memory" not in capsys.readouterr().out
    assert cli.main(["ask", "Capital of France?", *ASK, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert next(e for e in events if e["type"] == "final_answer")["from_memory"] is False


def test_the_note_is_yellow_like_the_other_notes() -> None:
    out = io.StringIO()
    render = TextRenderer(out, color=True, stats=False)
    render(AnswerDelta("Paris."))
    render(FinalAnswer("Paris.", from_memory=True))
    assert f"\x1b[33m{NOTE}\x1b[0m" in out.getvalue()


def row() -> SessionRow:
    return SessionRow(
        id="s", created=0.0, title="Capital", model="m", model_size=None, model_sha256=None,
        quant="Q4_K_M", prompt_format=None, settings={}, seed=None, status="done", answer="",
        searches=0,
    )  # fmt: skip


def test_the_markdown_export_says_an_answer_came_from_memory() -> None:
    events: list[Event] = [QuestionAsked(1, "Capital?"), FinalAnswer("Paris.", from_memory=True)]
    md = to_markdown(row(), events)
    assert "Paris.\n\n> answered from the model's memory, no search made\n" in md
    src = Source(1, "France", "https://fr.example/")
    md = to_markdown(row(), [QuestionAsked(1, "Q"), FinalAnswer("Paris [1].", (src,))])
    assert "memory" not in md


def test_the_real_model_with_no_key_answers_from_memory_and_says_so(
    engine: LlamaEngine,
) -> None:
    """The real test model, no search key: whatever it tries, no search is made, and the
    answer carries the flag, which the CLI prints under it."""
    settings = Settings(max_tokens=60, sampling=Sampling(seed=0), sources="web")
    agent = Agent(engine, runtime.make_provider(settings), settings)  # Tavily, no key
    events = list(agent.ask("What is the capital of France?"))
    final = next(e for e in events if isinstance(e, FinalAnswer))
    assert final.text.strip() and final.from_memory
    assert not any(isinstance(e, ToolResult) and e.hits for e in events)
    out = io.StringIO()
    render = TextRenderer(out, color=False)
    for e in events:
        render(e)
    assert NOTE in out.getvalue()
