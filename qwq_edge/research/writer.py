"""A report section written from what the model read, when the model ended its own turn
without a word (a small model often does, right after reading): the passages that best
match the section's goal, in a context of its own (``side.Side``), streamed as the answer."""

from __future__ import annotations

import random
import threading
from collections.abc import Generator
from dataclasses import replace

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import stats_event
from qwq_edge.engine.base import Generation
from qwq_edge.events import AnswerDelta, Event, Notice, ReportPlanned, Stats
from qwq_edge.research import prompts
from qwq_edge.research.side import Side
from qwq_edge.research.verify import passages_for


def write_alone(
    agent: Agent,
    plan: ReportPlanned,
    index: int,
    read: dict[int, list[str]],
    words: int,
    cancel: threading.Event | None,
) -> Generator[Event, None, str]:
    """Section ``index`` written from the passages read that best match its goal, when the
    model ended its own turn without a word; streamed as the answer, with a note."""
    calls: list[Stats] = []
    # A light repeat penalty: a small model left to write alone loops on a sentence.
    sampling = replace(agent.settings.sampling, repeat_penalty=1.1)
    n_ctx = agent.engine.info.n_ctx
    side = Side(
        agent.engine, sampling, reasoning=agent.engine.info.reasoning, cancel=cancel,
        on_call=lambda gen, used: calls.append(stats_event("generate", gen, used, n_ctx)),
    )  # fmt: skip
    section = plan.sections[index - 1]
    shown = passages_for(" ".join((section.title, section.goal, *section.questions)), read)
    if not shown:
        return ""
    yield Notice(
        f"the model wrote nothing after reading; section {index} is written from the "
        "passages it read, in a context of its own",
        kind="info",
    )
    gen = Generation()
    question = prompts.write_alone(plan, index, shown, words)
    for piece in side.stream(
        prompts.WRITER_SYSTEM, question, gen, max_tokens=words * 3, seed=random.getrandbits(31)
    ):
        yield AnswerDelta(piece)
    yield from calls
    return gen.text.replace("<|im_end|>", "").strip()
