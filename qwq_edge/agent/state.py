"""The state of a question in progress, and the controls a front end holds to steer it."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from qwq_edge.agent.formats import Mode
from qwq_edge.agent.searching import Budget
from qwq_edge.engine.base import Generation, ModelInfo
from qwq_edge.events import Stats
from qwq_edge.settings import Settings


class Controls:
    """Thread-safe controls for a running turn (Esc, Ctrl+A in the TUI; Ctrl+C in the CLI)."""

    def __init__(self) -> None:
        self.interrupt = threading.Event()  # the engine watches this one event
        self.cancelled = False
        self.answer_now_requested = False

    def cancel(self) -> None:
        self.cancelled = True
        self.interrupt.set()

    def answer_now(self) -> None:
        self.answer_now_requested = True
        self.interrupt.set()

    def acknowledge(self) -> None:
        """The loop took the "answer now": the engine may run again."""
        self.interrupt.clear()
        self.answer_now_requested = False


@dataclass
class TurnState:
    """One question in progress: where generation is, what it spent, what it wrote."""

    controls: Controls
    seed: int
    mode: Mode
    budget: Budget
    generated: int = 0
    thought: int = 0  # tokens generated while thinking (the thinking budget counts these)
    calls: int = 0  # engine calls so far (each gets its own derived seed)
    answer: list[str] = field(default_factory=list)
    after_call: bool = False  # the next generation starts right after a tool response
    responses: list[str] = field(default_factory=list)  # this question's response texts
    response_queries: set[str] | None = None  # calls planted in them (computed when needed)
    gen: Generation | None = None  # the last generation, and the context length after it
    gen_end: int = 0
    prev_gen: Generation | None = None  # the one before the generation running now
    prev_end: int = 0
    copied: int = 0  # calls refused as copies of a call written in a result or a page
    calls_closed: bool = False  # an injection kept being copied: no more calls, answer
    closed_tries: int = 0  # calls the model still wrote after that (cut, not run)


def larger_context(info: ModelInfo) -> str:
    """What makes the context larger: a flag here, the server's own flag on a llama-server."""
    if info.server:
        return f"start the llama-server at {info.server} with a larger --ctx-size"
    return "raise --n-ctx"


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def stats_event(
    phase: Literal["generate", "tool_call"], gen: Generation, context_used: int, n_ctx: int
) -> Stats:
    """One engine call as a ``Stats`` event."""
    st = gen.stats
    return Stats(
        phase=phase,
        tokens_evaluated=st.tokens_evaluated,
        tokens_reused=st.tokens_reused,
        tokens_generated=st.tokens_generated,
        prompt_seconds=st.prompt_seconds,
        gen_seconds=st.gen_seconds,
        context_used=context_used,
        n_ctx=n_ctx,
        stop=gen.stop,
        decode_calls=st.decode_calls,
        drafted=st.drafted,
        accepted=st.accepted,
    )


def recorded_settings(settings: Settings, info: ModelInfo) -> dict[str, Any]:
    """What a session records of how it ran: the settings (no secrets) and what was loaded."""
    data = settings.public()
    data.update(
        model_path=info.path,
        n_ctx=info.n_ctx,
        n_gpu_layers=info.n_gpu_layers,
        quant=info.quant,
        architecture=info.architecture,
        reasoning=info.reasoning,
        threads=info.threads,
        kv_type=info.kv_type,
    )
    return data
