"""A trajectory from the real test model: one question with a forced search, exported by
the CLI (`sessions export --to trajectory`, the vocabulary read from the session's own
model file), round-tripped against the journal and the events."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.cli import main
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.events import AnswerDelta, AnswerRetracted, Event, ThinkingDelta, ToolCall
from qwq_edge.runtime import open_journal, run_turn
from qwq_edge.settings import Settings
from qwq_edge.store.recorder import Recorder
from tests.support.fakes import FakeSearch


@pytest.mark.model
def test_a_forced_search_round_trips(engine: LlamaEngine, tmp_path: Path) -> None:
    journal = open_journal()
    settings = Settings(min_searches=1, max_tokens=96, read_top=0)
    agent = Agent(engine, FakeSearch(), settings, today=date(2026, 11, 29))
    events: list[Event] = []
    question = "What is the price of gold in € — and in ¥?"  # multi-byte characters
    run_turn(agent, question, events.append, recorder=Recorder(journal))
    journal.close()
    out = tmp_path / "t.jsonl"
    assert main(["sessions", "export", agent.session_id, str(out), "--to", "trajectory"]) == 0
    record = json.loads(out.read_text())
    tokens, mask = record["tokens"], record["mask"]
    assert tokens == agent.context and len(mask) == len(tokens)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls and calls[0].forced
    streamed = "".join(e.text for e in events if isinstance(e, ThinkingDelta | AnswerDelta))
    assert not any(isinstance(e, AnswerRetracted) for e in events)
    trained = engine.detokenize([t for t, m in zip(tokens, mask, strict=True) if m])
    assert trained.startswith(calls[0].raw)  # the call the model wrote under the grammar
    assert trained[len(calls[0].raw) :].removesuffix("<|im_end|>").strip() == streamed.strip()
    assert "".join(s["text"] for s in record["segments"]) == engine.detokenize(tokens)
    for seg in record["segments"]:  # the app's text re-tokenizes to the journaled ids (a
        # response is spliced from parts tokenized apart, the model's text was sampled: no
        # round trip is promised for those)
        if seg["kind"] == "template" or seg["role"] == "system":
            assert engine.tokenize(seg["text"], trusted=True) == tokens[seg["start"] : seg["end"]]
    roles = [s["role"] for s in record["segments"]]
    assert roles[:2] == ["system", "user"] and "tool" in roles
    msgs = out.with_suffix(".msgs")
    assert main(["sessions", "export", agent.session_id, str(msgs), "--to", "messages"]) == 0
    chat = json.loads(msgs.read_text())["messages"]
    assert [m["role"] for m in chat][:4] == ["system", "user", "assistant", "tool"]
    assert chat[1]["content"] == question
    assert chat[2]["tool_calls"][0]["function"]["name"] == "web_search"
