"""Continuing a journaled session: exactly, from its journaled context tokens, or (for a
session journaled before contexts were kept) from its questions and answers alone.

These are the Agent's friends: they set its context and counters between questions."""

from __future__ import annotations

from datetime import date

from qwq_edge.agent.loop import Agent
from qwq_edge.events import PageOpened, ToolResult


def resume(agent: Agent, history: list[tuple[str, str]], started: float | None = None) -> None:
    """Continue a journaled conversation: rebuild the context from its questions and
    answers (thinking and search results are left out, as QwQ's own template does for
    earlier turns); the next ``ask`` is a follow-up. Costs one prefill of the history."""
    if agent.turn or not history:
        return
    if started is not None:
        agent.today = date.fromtimestamp(started)
    agent.searcher.check()
    pctx = agent._prompt_ctx()
    for i, (question, answer) in enumerate(history):
        if i == 0:
            segments = agent.format.first_turn(question, pctx, agent.tools)
        else:
            segments = agent.format.follow_up(question, pctx)
        if agent._reasoning:
            segments.append(("\n</think>\n\n", True))
        segments += [(answer, False), ("<|im_end|>", True)]
        agent.context += agent._tokens(segments, bos=i == 0)
    agent.turn = len(history)
    agent._turn_open = False


def restore(
    agent: Agent,
    context: list[int],
    turns: int,
    started: float,
    results: list[ToolResult | PageOpened],
) -> None:
    """Continue a journaled session exactly: its context token for token (thinking and
    search results included), its turn count, and its numbered sources."""
    if agent.turn:
        return
    agent.today = date.fromtimestamp(started)
    agent.searcher.check()
    agent.searcher.remember(results)
    for result in results:  # the URLs it was given may be opened again
        if isinstance(result, ToolResult):
            agent.opener.saw_result(result)
    agent.context = list(context)
    agent.turn = turns
    agent.turn_start = len(agent.context)
    agent._turn_open = bool(agent.context) and agent.context[-1] != agent._im_end


def branch_at(agent: Agent, context: list[int]) -> None:
    """Go back to ``context``, a closed turn's end (a report's plan), so that the next
    question branches from it; the engine reuses whatever prefix its KV cache shares."""
    agent.context = list(context)
    agent.turn_start = len(agent.context)
    agent._turn_open = False


def open_turn(agent: Agent, question: str) -> None:
    """Append ``question`` as the next user turn and open the assistant's (the prompt's
    layout, trusted and untrusted parts, exactly as ``ask`` does); raises ``TurnOver``
    when it does not fit."""
    agent._start_turn(question)
