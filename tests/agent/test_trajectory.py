"""Sessions as training trajectories (scripted engine): the loss mask takes in exactly the
model's own text, the segments re-tokenize to the journaled ids, chat messages carry
``tool_calls`` and ``tool`` turns; a report gives a line per section branch; many sessions
append one line each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.trajectories import (
    messages,
    session_lines,
    trajectories,
    trajectory,
    write_trajectories,
)
from qwq_edge.agent.trajectory import TrajectoryError
from qwq_edge.cli import main
from qwq_edge.runtime import open_journal, run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.tokens import unpack_tokens
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
SCRIPT = ["Let me search.<tool_call>", CALL % "gold price", "Gold is up [1].<|im_end|>"]
FOLLOW = ["It rose 3% [1].<|im_end|>"]


def _session(
    tmp_path: Path, script: list[str], settings: Settings | None = None, **kw: bool
) -> tuple[Journal, Agent, ScriptedEngine]:
    journal = Journal(tmp_path / "j.sqlite3")
    engine = ScriptedEngine(script, **kw)
    agent = Agent(engine, FakeSearch(), settings or Settings(), today=date(2026, 11, 29))
    recorder = Recorder(journal)
    run_turn(agent, "Gold?", lambda e: None, recorder=recorder)
    run_turn(agent, "By how much?", lambda e: None, recorder=recorder)
    return journal, agent, engine


def _trained(engine: ScriptedEngine, record: dict[str, object]) -> str:
    tokens, mask = record["tokens"], record["mask"]
    assert isinstance(tokens, list) and isinstance(mask, list)
    return engine.detokenize([t for t, m in zip(tokens, mask, strict=True) if m])


def test_the_mask_takes_in_exactly_what_the_model_wrote(tmp_path: Path) -> None:
    journal, agent, engine = _session(tmp_path, SCRIPT + FOLLOW)
    record = trajectory(journal, agent.session_id, engine)
    assert record["tokens"] == agent.context
    assert len(record["mask"]) == len(agent.context)
    assert _trained(engine, record) == "".join(SCRIPT + FOLLOW)
    roles = [s["role"] for s in record["segments"]]
    assert roles[:3] == ["system", "user", "assistant"] and "tool" in roles
    assert roles.count("user") == 2
    for seg in record["segments"]:  # every segment re-tokenizes to the journaled ids
        ids = agent.context[seg["start"] : seg["end"]]
        assert engine.tokenize(seg["text"], trusted=True) == ids
        assert seg["trained"] == all(record["mask"][seg["start"] : seg["end"]])
    tool = next(s for s in record["segments"] if s["role"] == "tool")
    assert tool["text"].startswith("<tool_response>") and "Result 1.1" in tool["text"]
    assert [t["type"] for t in record["tools"]] == ["tool_call", "tool_result"]


def test_a_forced_call_keeps_its_opener_out_of_the_mask(tmp_path: Path) -> None:
    script = [CALL % "gold", "Up [1].<|im_end|>", *FOLLOW]
    journal, agent, engine = _session(tmp_path, script, Settings(min_searches=1))
    record = trajectory(journal, agent.session_id, engine)
    assert _trained(engine, record) == "".join(script)
    opener = [s for s in record["segments"] if s["text"].endswith("assistant\n<tool_call>\n")]
    assert opener and not opener[0]["trained"]  # the app wrote it, with the turn's header


def test_thinking_and_the_wrap_up_line(tmp_path: Path) -> None:
    script = ["I should look.<tool_call>", CALL % "gold", "Found it.</think>", "Up [1].<|im_end|>"]
    journal, agent, engine = _session(tmp_path, [*script, *FOLLOW], reasoning=True)
    record = trajectory(journal, agent.session_id, engine)
    assert _trained(engine, record) == "".join([*script, *FOLLOW])
    heads = [s["text"] for s in record["segments"] if s["kind"] == "template"]
    assert "<|im_start|>assistant\n<think>\n" in heads  # the app opened the thinking


def test_messages_have_tool_calls_and_tool_turns(tmp_path: Path) -> None:
    journal, agent, engine = _session(tmp_path, SCRIPT + FOLLOW)
    msgs = messages(journal, agent.session_id, engine)
    assert [m["role"] for m in msgs] == [
        "system", "user", "assistant", "tool", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert msgs[1]["content"] == "Gold?" and msgs[5]["content"] == "By how much?"
    call = msgs[2]["tool_calls"][0]
    assert call["type"] == "function" and call["function"]["name"] == "web_search"
    assert json.loads(call["function"]["arguments"]) == {"query": "gold price"}
    assert msgs[2]["content"] == "Let me search."
    assert msgs[3]["tool_call_id"] == call["id"] and "Result 1.1" in msgs[3]["content"]
    assert "<tool_response>" not in msgs[3]["content"]
    assert msgs[4]["content"] == "Gold is up [1]." and "tool_calls" not in msgs[4]
    assert msgs[6]["content"] == "It rose 3% [1]."
    assert msgs[0]["content"].startswith("You are QwQ Edge")


def test_many_sessions_one_line_each_with_extra(tmp_path: Path) -> None:
    journal, agent, engine = _session(tmp_path, SCRIPT + FOLLOW)
    out = tmp_path / "t.jsonl"
    extra = {agent.session_id: {"grade": "correct"}}
    n = write_trajectories(journal, [agent.session_id, "nope"], out, extra, vocab=engine)
    assert n == 1
    line = json.loads(out.read_text())
    assert line["grade"] == "correct" and line["session_id"] == agent.session_id
    write_trajectories(journal, [agent.session_id], out, vocab=engine, to="messages")
    assert len(out.read_text().splitlines()) == 2
    assert "messages" in json.loads(out.read_text().splitlines()[1])


def test_a_report_gives_one_line_per_section_branch(tmp_path: Path) -> None:
    journal, agent, engine = _session(tmp_path, SCRIPT + FOLLOW)
    sid = agent.session_id
    _, (_, start, section) = journal.context_rows(sid)
    journal.record_context(sid, 3, start, unpack_tokens(section))  # a second branch
    journal._conn.execute("UPDATE sessions SET kind = 'report' WHERE id = ?", (sid,))
    with pytest.raises(TrajectoryError, match="report"):
        trajectory(journal, sid, engine)
    records = trajectories(journal, sid, engine)
    assert [r["turn"] for r in records] == [2, 3]
    for r in records:
        assert r["tokens"] == agent.context and len(r["mask"]) == len(r["tokens"])
        assert _trained(engine, r) == "".join(SCRIPT + FOLLOW)
    lines = session_lines(journal, sid, engine, to="messages")
    assert [line["turn"] for line in lines] == [2, 3]
    assert [m["role"] for m in lines[0]["messages"]][-2:] == ["user", "assistant"]


QWEN_CALL = '{"name": "web_search", "arguments": {"query": "%s"}}'


def test_the_qwen_format_puts_responses_in_tool_turns(tmp_path: Path) -> None:
    script = ["<tool_call>", QWEN_CALL % "gold", "Up [1].<|im_end|>", *FOLLOW]
    journal, agent, engine = _session(tmp_path, script, Settings(prompt_format="qwen"))
    record = trajectory(journal, agent.session_id, engine)
    assert _trained(engine, record) == "".join(script)
    tool = next(s for s in record["segments"] if s["role"] == "tool")
    assert tool["text"].startswith("<|im_start|>user\n<tool_response>") and not tool["trained"]
    msgs = messages(journal, agent.session_id, engine)
    assert [m["role"] for m in msgs][:5] == ["system", "user", "assistant", "tool", "assistant"]
    assert "</tool_response>" not in msgs[3]["content"] and msgs[4]["content"] == "Up [1]."


class _PlainCloser:
    """A vocabulary whose ``</tool_call>`` is plain text (no special id)."""

    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine

    def token_id(self, text: str) -> int | None:
        return None if text == "</tool_call>" else self.engine.token_id(text)

    def detokenize(self, tokens: Sequence[int]) -> str:
        return self.engine.detokenize(tokens)


def test_a_closer_that_is_plain_text_is_found_in_the_text(tmp_path: Path) -> None:
    journal, agent, engine = _session(tmp_path, SCRIPT + FOLLOW)
    record = trajectory(journal, agent.session_id, _PlainCloser(engine))
    assert _trained(engine, record) == "".join(SCRIPT + FOLLOW)


def test_the_cli_says_when_the_sessions_model_file_is_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = open_journal()
    engine = ScriptedEngine(SCRIPT)
    agent = Agent(engine, FakeSearch(), Settings(), today=date(2026, 11, 29))
    run_turn(agent, "Gold?", lambda e: None, recorder=Recorder(journal))
    journal.close()
    out = tmp_path / "t.jsonl"
    code = main(["sessions", "export", agent.session_id, str(out), "--to", "trajectory"])
    assert code != 0 and not out.exists()
    err = capsys.readouterr().err
    assert "model file" in err and "vocabulary" in err and "Traceback" not in err


def test_a_call_in_another_shape_is_trained_in_its_canonical_rewrite(tmp_path: Path) -> None:
    bare = '```json\n{"name": "web_search", "arguments": {"query": "gold"}}\n```'
    script = [f"Let me search.\n{bare}", "Up [1].<|im_end|>", *FOLLOW]
    journal, agent, engine = _session(tmp_path, script)
    record = trajectory(journal, agent.session_id, engine)
    call = next(t for t in record["tools"] if t["type"] == "tool_call")
    assert call["recognized"] == "bare"
    trained = _trained(engine, record)
    assert bare not in trained and '"query": "gold"' in trained  # the rewrite, documented
    assert trained.startswith("Let me search.") and trained.endswith("It rose 3% [1].<|im_end|>")
    opener = [s for s in record["segments"] if s["text"].startswith("<tool_call>")]
    assert opener and not opener[0]["trained"]  # the app wrote the tag


def test_a_journal_cannot_point_the_export_at_a_file_that_is_not_its_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json as _json

    journal = open_journal()
    agent = Agent(ScriptedEngine(SCRIPT), FakeSearch(), Settings(), today=date(2026, 11, 29))
    run_turn(agent, "Gold?", lambda e: None, recorder=Recorder(journal))
    secret = tmp_path / "id_rsa"
    secret.write_text("not a model")
    cases = (("scripted.gguf", "is not here"), ("id_rsa", "id_rsa is not a GGUF model file"))
    for name, said in cases:
        path = secret
        settings = {**journal.session(agent.session_id).settings, "model_path": str(path)}
        journal._conn.execute(  # as an imported bundle could have recorded it
            "UPDATE sessions SET settings = ?, model = ? WHERE id = ?",
            (_json.dumps(settings), name, agent.session_id),
        )
        out = tmp_path / "t.jsonl"
        code = main(["sessions", "export", agent.session_id, str(out), "--to", "trajectory"])
        err = capsys.readouterr().err
        assert code != 0 and not out.exists() and "Traceback" not in err
        assert said in err
    journal.close()
