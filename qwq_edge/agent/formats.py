"""Prompt formats: how a conversation, a tool call and a tool response are laid out.

A format only produces segments of text, each marked trusted (template) or untrusted
(question, search results); the loop tokenizes them and only ever appends.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

from qwq_edge.agent import prompts
from qwq_edge.agent.tools import CallStyle, ToolRegistry

Segment = tuple[str, bool]  # (text, trusted)
Mode = Literal["think", "answer"]

CALL_OPEN = "<tool_call>"
THINK_END = "</think>"


@dataclass(frozen=True)
class PromptContext:
    today: date
    max_searches: int
    search_available: bool
    reasoning: bool
    can_open: bool = False  # the ``open`` tool is offered


class PromptFormat(Protocol):
    name: str
    style: CallStyle

    def first_turn(
        self, question: str, ctx: PromptContext, tools: ToolRegistry
    ) -> list[Segment]: ...

    def follow_up(self, question: str, ctx: PromptContext) -> list[Segment]: ...

    def call_open(self) -> str: ...

    def call_close(self) -> str: ...

    def response(self, ctx: PromptContext, mode: Mode) -> tuple[str, str, Mode]:
        """Trusted text before and after a response body, and the mode generation resumes in."""
        ...


def _opening(ctx: PromptContext) -> str:
    return "<|im_start|>assistant\n" + ("<think>\n" if ctx.reasoning else "")


class _ChatML(ABC):
    """What both formats share: ChatML turns, the system prompt's head, the call opener."""

    @abstractmethod
    def system(self, ctx: PromptContext, tools: ToolRegistry) -> str:
        """The system prompt; each format writes its own."""

    def head(self, ctx: PromptContext) -> str:
        guide = prompts.guidelines(ctx.search_available, ctx.max_searches, ctx.can_open)
        return f"{prompts.head(ctx.today)}\n\n{guide}"

    def first_turn(self, question: str, ctx: PromptContext, tools: ToolRegistry) -> list[Segment]:
        return [
            (f"<|im_start|>system\n{self.system(ctx, tools)}<|im_end|>\n<|im_start|>user\n", True),
            (question, False),
            ("<|im_end|>\n" + _opening(ctx), True),
        ]

    def follow_up(self, question: str, ctx: PromptContext) -> list[Segment]:
        return [
            ("\n<|im_start|>user\n", True),
            (question, False),
            ("<|im_end|>\n" + _opening(ctx), True),
        ]

    def call_open(self) -> str:
        return CALL_OPEN + "\n"


class SeedFormat(_ChatML):
    """The mission's format: ``{"action": ..., "action_input": ...}`` calls, results spliced
    into the same assistant turn so generation simply continues."""

    name = "seed"
    style: CallStyle = "seed"

    def system(self, ctx: PromptContext, tools: ToolRegistry) -> str:
        how = prompts.seed_how_to_call(ctx.can_open) if ctx.search_available else ""
        return self.head(ctx) + how

    def call_close(self) -> str:
        return "\n</tool_call>\n"

    def response(self, ctx: PromptContext, mode: Mode) -> tuple[str, str, Mode]:
        return "<tool_response>\n", "\n</tool_response>\n", mode


class QwenFormat(_ChatML):
    """QwQ's native tool format: tools in the system turn, results in a user turn. Rounds
    are appended, never re-rendered, so earlier thinking stays in the KV cache."""

    name = "qwen"
    style: CallStyle = "qwen"

    def system(self, ctx: PromptContext, tools: ToolRegistry) -> str:
        head = self.head(ctx)
        if not ctx.search_available:
            return head
        specs = "\n".join(json.dumps(s, ensure_ascii=False) for s in tools.openai_specs())
        return head + prompts.qwen_tools(specs)

    def call_close(self) -> str:
        return "\n</tool_call><|im_end|>\n"

    def response(self, ctx: PromptContext, mode: Mode) -> tuple[str, str, Mode]:
        close = "\n</tool_response><|im_end|>\n" + _opening(ctx)
        return "<|im_start|>user\n<tool_response>\n", close, "think" if ctx.reasoning else "answer"


FORMATS: dict[str, type[SeedFormat] | type[QwenFormat]] = {"seed": SeedFormat, "qwen": QwenFormat}


def get_format(name: str) -> SeedFormat | QwenFormat:
    try:
        return FORMATS[name]()
    except KeyError:
        raise ValueError(f"unknown prompt format {name!r}; use seed or qwen") from None
