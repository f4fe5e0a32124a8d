"""The call recognizer the loop runs on every generated token (docs/architecture.md, "Calls
in every shape"): candidates from ``shapes.py`` over the stream, literal stop markers on the
text they release, stray closers dropped after a tool response.

Only text that could still be the start of a call is held back, and it is released as soon
as it cannot be; each character is looked at a bounded number of times, so the cost per
token stays flat however long the output grows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qwq_edge.agent.shapes import (
    CLOSERS,
    CUT,
    DONE_BEFORE,
    FAIL,
    MORE,
    OPENER,
    CallMatch,
    Candidate,
    Kind,
)
from qwq_edge.agent.tools import ParsedCall, ToolRegistry
from qwq_edge.engine.stops import Hit, MarkerScanner

CALL = "<call>"  # the Hit.marker of a recognized call; the details are in ``CallScanner.match``
# Openers left at the end of an answer, with nothing after them (retracted, dropped).
DANGLING = re.compile(
    r"(?:\s*(?:```(?:json|xml|tool_call)?[ \t]*\n|<(?:tool_call|tools?|function_call|response"
    r"|json|xml)>))+\s*$",
    re.IGNORECASE,
)


def _closers_end(text: str, final: bool) -> tuple[int, bool]:
    """How much of ``text`` (the start of a stream after a tool response) is whitespace and
    closing wrappers, and whether more of them could still follow."""
    i = done = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        rest = text[i:].lower()
        closer = next((c for c in CLOSERS if rest.startswith(c)), None)
        if closer is not None:
            i = done = i + len(closer)
            continue
        fence = re.match(r"```[ \t]*(\n|$)", rest)
        if fence and (fence.group(1) or final):
            i = done = i + fence.end()
            continue
        partial = any(c.startswith(rest) for c in CLOSERS) or re.fullmatch(
            r"`{1,2}|```[ \t]*", rest
        )
        return done, bool(partial) and not final and len(text) < 64
    return done, not final


class CallScanner:
    """Feed decoded text; get back what is safe to show, and a ``Hit`` at the first call
    or stop marker. Satisfies the engine's ``Scanner``.

    ``after_call``: the stream starts right after a tool response, where a model often
    closes the wrappers of the call it made; those closers are dropped (``head_dropped``).
    """

    def __init__(
        self, tools: ToolRegistry, markers: Sequence[str], *, after_call: bool = False
    ) -> None:
        self.tools = tools
        self.markers = MarkerScanner(markers)
        self.match: CallMatch | None = None
        self.head_dropped = 0  # stray closers dropped at the start of the stream
        self.tail_dropped: int | None = None  # dangling wrappers dropped at its end
        self._closing = after_call
        self._head = ""
        self._cand: Candidate | None = None
        self._held = ""
        self._held_start = 0
        self._prev = ""
        self._fed = 0

    def feed(self, text: str) -> tuple[str, Hit | None]:
        base = self._fed
        self._fed += len(text)
        if self._closing:
            self._head += text
            done, more = _closers_end(self._head, final=False)
            if more:
                return "", None
            text, base = self._head[done:], done
            self._closing, self._head, self.head_dropped = False, "", done
        released, rest = self._consume(text, base)
        safe, hit = self.markers.feed(released)
        if hit is not None:  # a stop marker before any call: what follows it is its rest
            tail = self._held + (rest or "")
            self._cand, self._held, self.match = None, "", None
            return safe, Hit(hit.marker, hit.start + self.head_dropped, hit.rest + tail)
        if rest is not None and self.match is not None:
            return safe + self.markers.flush(), Hit(CALL, self.match.start, rest)
        return safe, None

    def flush(self) -> str:
        """The stream ended: a named tool becomes a cut call, bare wrappers are dropped, and
        anything else held turns out to be plain text."""
        pre = ""
        if self._closing:
            done, _ = _closers_end(self._head, final=True)
            self.head_dropped, self._closing = done, False
            released, _ = self._consume(self._head[done:], done)
            pre = self.markers.feed(released)[0]
        cand, held = self._cand, self._held
        self._cand, self._held = None, ""
        if cand is not None and cand.committed:
            self.match = CallMatch("cut", self._held_start)
            return pre + self.markers.flush()
        if cand is not None and cand.wrapped and cand.phase == "lead":
            self.tail_dropped = self._held_start
            return pre + self.markers.flush()
        return pre + self.markers.feed(held)[0] + self.markers.flush()

    def _consume(self, pending: str, base: int) -> tuple[str, str | None]:
        """Run characters through the candidates; returns the released text and, once a call
        is complete, the text after it (None while none is)."""
        out: list[str] = []
        i = 0
        while i < len(pending):
            ch = pending[i]
            if self._cand is None:
                if ch not in "<`{[" or (ch == "{" and self._prev == "}"):
                    out.append(ch)
                    self._prev = ch
                    i += 1
                    continue
                self._cand, self._held, self._held_start = Candidate(self.tools), "", base + i
            self._held += ch
            status = self._cand.step(ch)
            i += 1
            if status == MORE:
                continue
            if status == FAIL:
                held = self._held
                out.append(held[0])
                self._prev = held[0]
                self._cand, self._held = None, ""
                pending, base, i = held[1:] + pending[i:], self._held_start + 1, 0
                continue
            cand = self._cand
            self._cand, self._held = None, ""
            if status == DONE_BEFORE:
                i -= 1
            kind: Kind = "tag" if status == OPENER else "cut" if status == CUT else "body"
            calls = tuple(cand.calls) if kind == "body" else ()
            self.match = CallMatch(kind, self._held_start, calls)
            return "".join(out), pending[i:]
        return "".join(out), None


def calls_in(text: str, tools: ToolRegistry) -> list[ParsedCall]:
    """Every whole call written in ``text`` (a search result, checked for planted calls)."""
    found: list[ParsedCall] = []
    while text:
        scan = CallScanner(tools, ())
        _, hit = scan.feed(text)
        if hit is None or scan.match is None:
            break
        found += scan.match.calls
        text = hit.rest
    return found


def dangling(answer: str) -> int:
    """How many characters at the end of ``answer`` are call openers with nothing after."""
    m = DANGLING.search(answer)
    return len(answer) - m.start() if m else 0


def close_fences(answer: str) -> str:
    """What closes a Markdown fence left open at the end of ``answer`` ("" if none is)."""
    fences = sum(1 for line in answer.splitlines() if line.lstrip().startswith("```"))
    if not fences % 2:
        return ""
    return "```" if answer.endswith("\n") else "\n```"
