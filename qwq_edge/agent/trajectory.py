"""Which tokens of a journaled context the model sampled: the loss mask of a training
trajectory, derived from the token ids and the ChatML template (no extra journal column).

The journal holds the exact context; the mask is read back from its structure. Special
tokens (``<|im_start|>``, ``<|im_end|>``, ``<tool_call>``, ``</tool_call>``) are found by id,
so text a search result or a question carries can never pass for them (untrusted text
never yields a special id). Every ``<|im_start|>`` opens a block:

- ``system`` and ``user`` blocks are 0 (a ``user`` block that starts with
  ``<tool_response>``, the qwen format's response, is role ``tool``);
- in an ``assistant`` block the header (``<|im_start|>assistant\\n`` and the ``<think>\\n``
  the app opens a reasoning turn with) is 0; the model's text is 1, its closing
  ``<|im_end|>`` is 1 and whatever follows in the block (the next turn's newline) is 0;
- a call: ``<tool_call>`` is 1 when the model wrote that tag (``recognized == "tag"``), 0
  when the app forced the call or rewrote one the model wrote in another shape; the
  newline after it is 0; the JSON is 1; ``\\n</tool_call>\\n`` (and ``<|im_end|>`` in the
  qwen format) is 0;
- a spliced ``<tool_response>`` block (seed format) is role ``tool``, 0, up to the last
  ``\\n</tool_response>\\n`` before the next special token, so a page that writes that
  closer itself cannot end its own block early (a model that writes it after a
  response loses its text up to there: under-masked, never over-masked);
- the app's wrap-up lines (``prompts.WRAP_UP`` and ``prompts.NO_MORE_CALLS`` with their
  ``</think>``) are 0.

Approximations, all at single edges: a call the model wrote in another shape is 1 in its
canonical JSON, which it did not sample token for token; the closing of a call cut off at
its token cap (``close_json``) is 1; the ``</think>`` the app appends on "answer now"
(Ctrl+A) reads like the model's own and is 1; the ``<|im_end|>`` the app writes when the
model overreached (started a turn or a response of its own) or ended with
``<|endoftext|>`` is 1; in a report's plan, the blank line after the thinking and the
``<|im_end|>`` after the plan's JSON, both the app's, are 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from qwq_edge.agent.prompts import NO_MORE_CALLS, WRAP_UP

Role = Literal["system", "user", "assistant", "tool"]
Kind = Literal["template", "prompt", "text", "opener", "call", "response"]
TRAINED: frozenset[Kind] = frozenset({"text", "opener", "call"})
APP_LINES = tuple(f"\n\n{line}\n</think>\n\n" for line in (WRAP_UP, NO_MORE_CALLS))
RESPONSE_TAIL = "\n</tool_response>\n"


class Vocab(Protocol):
    """What the mask needs of an engine: ids of special texts, and decoding."""

    def token_id(self, text: str) -> int | None: ...

    def detokenize(self, tokens: Sequence[int]) -> str: ...


@dataclass(frozen=True)
class Piece:
    """Tokens ``start:end`` of the context: who they belong to and what they are."""

    role: Role
    kind: Kind
    start: int
    end: int

    @property
    def trained(self) -> bool:
        return self.kind in TRAINED and self.role == "assistant"


class TrajectoryError(ValueError):
    """A context the mask cannot be read from."""


def token_ends(vocab: Vocab, tokens: Sequence[int]) -> tuple[str, list[int]]:
    """The decoded text and, per token, the character offset where it ends (a token that
    ends inside a UTF-8 sequence ends where the token completing it ends)."""
    text = ""
    ends: list[int] = []
    a = 0
    for k in range(len(tokens)):
        piece = vocab.detokenize(tokens[a : k + 1])
        if piece.endswith("\ufffd") and k + 1 - a < 4 and k + 1 < len(tokens):
            ends.append(-1)
            continue
        text += piece
        a = k + 1
        ends.append(len(text))
    for k in range(len(ends) - 1, -1, -1):  # an unfinished token: its completer's end
        if ends[k] < 0:
            ends[k] = ends[k + 1] if k + 1 < len(ends) else len(text)
    return text, ends


class _Labels:
    """A label per character, set by spans."""

    def __init__(self, n: int) -> None:
        self.role: list[Role] = ["system"] * n
        self.kind: list[Kind] = ["template"] * n

    def set(self, a: int, b: int, role: Role, kind: Kind) -> None:
        for i in range(max(a, 0), min(b, len(self.role))):
            self.role[i] = role
            self.kind[i] = kind


def pieces(vocab: Vocab, tokens: Sequence[int], recognized: Sequence[str]) -> list[Piece]:
    """The context cut into pieces of one role and kind; ``recognized`` is each tool
    call's ``ToolCall.recognized``, in order."""
    if not tokens:
        return []
    ids = {t: vocab.token_id(t) for t in ("<|im_start|>", "<|im_end|>", "<tool_call>")}
    ids["</tool_call>"] = vocab.token_id("</tool_call>")
    if ids["<|im_start|>"] is None or ids["<|im_end|>"] is None or ids["<tool_call>"] is None:
        raise TrajectoryError("this model has no ChatML tokens; its sessions have no mask")
    text, ends = token_ends(vocab, tokens)
    starts = [0, *ends[:-1]]
    special: dict[int, str] = {v: k for k, v in ids.items() if v is not None}
    marks = [(starts[i], special[t]) for i, t in enumerate(tokens) if t in special]
    labels = _Labels(len(text))
    calls = iter(recognized)
    blocks = [i for i, (_, s) in enumerate(marks) if s == "<|im_start|>"]
    for n, b in enumerate(blocks):
        at = marks[b][0]
        until = marks[blocks[n + 1]][0] if n + 1 < len(blocks) else len(text)
        inner = marks[b + 1 : blocks[n + 1] if n + 1 < len(blocks) else None]
        _block(text, at, until, inner, labels, calls)
    out: list[Piece] = []
    for k in range(len(tokens)):
        c = max(starts[k], ends[k] - 1)
        c = min(c, len(text) - 1)
        role, kind = (labels.role[c], labels.kind[c]) if c >= 0 else ("system", "template")
        if out and out[-1].role == role and out[-1].kind == kind:
            out[-1] = Piece(role, kind, out[-1].start, k + 1)
        else:
            out.append(Piece(role, kind, k, k + 1))
    return out


def _block(
    text: str,
    at: int,
    until: int,
    marks: list[tuple[int, str]],
    labels: _Labels,
    calls: Iterator[str],
) -> None:
    head_end = text.find("\n", at, until)
    head_end = until if head_end < 0 else head_end + 1
    who = text[at + len("<|im_start|>") : head_end].strip()
    if who == "system":
        labels.set(at, until, "system", "prompt")
        return
    if who != "assistant":
        role: Role = "tool" if text.startswith("<tool_response>", head_end) else "user"
        labels.set(at, until, role, "response" if role == "tool" else "prompt")
        return
    labels.set(at, head_end, "assistant", "template")
    pos = head_end
    if text.startswith("<think>\n", pos):
        labels.set(pos, pos + len("<think>\n"), "assistant", "template")
        pos += len("<think>\n")
    k = 0
    while pos < until:
        nxt = marks[k][0] if k < len(marks) else until
        _text(text, pos, nxt, labels)
        if k >= len(marks):
            return
        where, what = marks[k]
        k += 1
        if what == "<|im_end|>":  # the model ended its turn; the rest is the next turn's
            labels.set(where, where + len(what), "assistant", "text")
            labels.set(where + len(what), until, "assistant", "template")
            return
        if what != "<tool_call>":
            pos = where + len(what)  # a stray closer: the model's
            labels.set(where, pos, "assistant", "text")
            continue
        how = next(calls, "forced")
        labels.set(where, where + len(what), "assistant", "opener" if how == "tag" else "template")
        pos = where + len(what)
        if text.startswith("\n", pos):
            labels.set(pos, pos + 1, "assistant", "template")
            pos += 1
        closer = next((m[0] for m in marks[k:] if m[1] == "</tool_call>"), -1)
        if closer < 0:  # a model whose closer is plain text: the JSON cannot hold it
            closer = text.find("</tool_call>", pos, marks[k][0] if k < len(marks) else until)
        body_end = closer if closer >= 0 else until
        if closer >= 0 and text[body_end - 1 : body_end] == "\n":
            body_end -= 1
        labels.set(pos, body_end, "assistant", "call")
        if closer < 0:
            return
        pos = closer + len("</tool_call>")
        while k < len(marks) and marks[k][0] < pos:
            k += 1
        if k < len(marks) and marks[k][1] == "<|im_end|>" and marks[k][0] <= pos + 1:
            labels.set(body_end, until, "assistant", "template")  # qwen: the turn ends here
            return
        if text.startswith("\n", pos):
            pos += 1
        labels.set(body_end, pos, "assistant", "template")
        if text.startswith("<tool_response>", pos):
            stop = marks[k][0] if k < len(marks) else until
            tail = text.rfind(RESPONSE_TAIL, pos, stop)
            done = tail + len(RESPONSE_TAIL) if tail >= 0 else stop
            labels.set(pos, done, "tool", "response")
            pos = done


def _text(text: str, a: int, b: int, labels: _Labels) -> None:
    """The model's own text between two special tokens, less the app's wrap-up lines."""
    labels.set(a, b, "assistant", "text")
    for line in APP_LINES:
        i = text.find(line, a, b)
        while i >= 0:
            labels.set(i, i + len(line), "assistant", "template")
            i = text.find(line, i + len(line), b)


def mask(found: Sequence[Piece], length: int) -> list[int]:
    """1 for each token the model sampled, 0 for the rest."""
    out = [0] * length
    for p in found:
        if p.trained:
            out[p.start : p.end] = [1] * (p.end - p.start)
    return out
