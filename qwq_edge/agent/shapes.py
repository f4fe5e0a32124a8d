"""Tool-call shapes, recognized as the text streams: a small grammar of wrappers × bodies
(docs/architecture.md, "Calls in every shape").

Bodies: a JSON object naming a known tool (``name``/``arguments``, ``name``/``parameters``
or ``action``/``action_input``, any key order, any JSON whitespace), a JSON list of them,
``<function=NAME>…</function>`` and ``<function name="NAME">…</function>``. Wrappers, zero
or more and nested: ``<tool_call>``-like tags in any case and Markdown fences. The exact
``<tool_call>`` tag is the canonical opener: it ends the scan at once and the loop samples
the call under the grammar.

Only text that could still be the start of a call is held back, and it is released as soon
as it cannot be; each character is looked at a bounded number of times, so the cost per
token stays flat however long the output grows. Literal stop markers (``</think>`` and the
rest) are found on the released text by the engine's ``MarkerScanner``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from qwq_edge.agent.tools import ParsedCall, ToolCallError, ToolRegistry
from qwq_edge.engine.stops import Hit, MarkerScanner

CALL = "<call>"  # the Hit.marker of a recognized call; the details are in ``CallScanner.match``
TAG = "<tool_call>"
OPENERS = ("<tool_call>", "<tool>", "<tools>", "<function_call>", "<response>", "<json>", "<xml>")
FUNCTION_OPENERS = ("<function=", '<function name="')
FENCE_LANGS = ("", "json", "xml", "tool_call")
CLOSERS = (*("</" + t[1:] for t in OPENERS), "</function>")
NAME_KEYS = {"name": ("arguments", "parameters"), "action": ("action_input",)}
ARGS_KEYS = ("arguments", "parameters", "action_input")
CALL_KEYS = (*NAME_KEYS, *ARGS_KEYS)
JSON_BARE = frozenset(" \t\r\n{}[]:,-+.0123456789eEtrufalsn")  # outside strings
MAYBE_CAP = 512  # chars held before a tool is named (arguments-first bodies)
CALL_CAP = 4096  # chars held once a tool is named: past it, the call is re-sampled
# Openers left at the end of an answer, with nothing after them (retracted, dropped).
DANGLING = re.compile(
    r"(?:\s*(?:```(?:json|xml|tool_call)?[ \t]*\n|<(?:tool_call|tools?|function_call|response"
    r"|json|xml)>))+\s*$",
    re.IGNORECASE,
)
Kind = Literal["tag", "body", "cut"]


@dataclass(frozen=True)
class CallMatch:
    """A call found in the stream: ``tag`` (the canonical opener: sample the call), ``body``
    (complete and valid: run ``calls``), ``cut`` (a tool was named but the body is broken or
    unfinished: sample the call). ``start`` is the offset of its first wrapper."""

    kind: Kind
    start: int
    calls: tuple[ParsedCall, ...] = ()


_MORE, _FAIL, _DONE, _DONE_BEFORE, _TAG, _CUT = range(6)


class _Candidate:
    """One possible call from a given start character; ``step`` says how it goes on."""

    def __init__(self, tools: ToolRegistry) -> None:
        self.tools = tools
        self.phase = "lead"
        self.buf = ""  # the tag or fence being read; the function body
        self.wrapped = False
        self.committed = False  # a known tool is named: it is a call, well-formed or not
        self.size = 0
        self.calls: list[ParsedCall] = []
        self.in_list = False
        self._obj_reset()

    def _obj_reset(self) -> None:
        self.text = ""
        self.depth = 0
        self.in_str = self.esc = False
        self.key = ""
        self.name = ""
        self.obj_phase = "k0"

    def step(self, ch: str) -> int:
        self.size += 1
        if self.size > (CALL_CAP if self.committed else MAYBE_CAP):
            return _CUT if self.committed else _FAIL
        return getattr(self, "_" + self.phase)(ch)  # type: ignore[no-any-return]

    # -- wrappers --------------------------------------------------------------------

    def _lead(self, ch: str) -> int:
        if ch.isspace() and self.wrapped:
            return _MORE
        self.buf = ch
        if ch == "<":
            self.phase = "tag"
        elif ch == "`":
            self.phase = "fence"
        elif ch == "{":
            self.phase = "obj"
            self._obj_reset()
            self.depth, self.text = 1, "{"
        elif ch == "[":
            self.phase, self.in_list = "list", True
        else:
            return _FAIL
        return _MORE

    def _tag(self, ch: str) -> int:
        self.buf += ch
        low = self.buf.lower()
        if low in FUNCTION_OPENERS:
            self.phase, self.name = "fname", ""
            return _MORE
        if self.buf == TAG:
            return _TAG
        if low in OPENERS:
            self.phase, self.wrapped = "lead", True
            return _MORE
        viable = any(t.startswith(low) for t in (*OPENERS, *FUNCTION_OPENERS))
        return _MORE if viable else _FAIL

    def _fence(self, ch: str) -> int:
        self.buf += ch
        ticks = len(self.buf) - len(self.buf.lstrip("`"))
        if len(self.buf) <= 3:
            return _MORE if ch == "`" else _FAIL
        if ch == "\n":
            if self.buf[ticks:].strip().lower() in FENCE_LANGS:
                self.phase, self.wrapped = "lead", True
                return _MORE
            return _FAIL
        lang = self.buf[ticks:].lower()
        if ticks == 3 and (
            any(x.startswith(lang) for x in FENCE_LANGS if x) or (lang.rstrip(" \t") in FENCE_LANGS)
        ):
            return _MORE
        return _FAIL

    # -- JSON bodies -----------------------------------------------------------------

    def _list(self, ch: str) -> int:
        if ch.isspace():
            return _MORE
        if ch == "{" and self.obj_phase != "sep":
            self.phase = "obj"
            self._obj_reset()
            self.depth, self.text = 1, "{"
            return _MORE
        if ch == "]" and self.calls:
            return _DONE
        if ch == "," and self.calls and self.obj_phase == "sep":
            self.obj_phase = "next"
            return _MORE
        return _DONE_BEFORE if self.calls else _FAIL

    def _obj(self, ch: str) -> int:
        self.text += ch
        p = self.obj_phase
        if p in ("k0", "k2", "v0") and ch.isspace():
            return _MORE
        if p == "k0":
            self.obj_phase = "k1"
            return _MORE if ch == '"' else _FAIL
        if p == "k1":
            if ch == '"':
                self.obj_phase = "k2" if self.key in CALL_KEYS else "bad"
                return _MORE if self.key in CALL_KEYS else _FAIL
            self.key += ch
            return _MORE if any(k.startswith(self.key) for k in CALL_KEYS) else _FAIL
        if p == "k2":
            if ch != ":":
                return _FAIL
            self.obj_phase = "v0" if self.key in NAME_KEYS else "json"
            return _MORE
        if p == "v0":
            self.obj_phase = "v1"
            return _MORE if ch == '"' else _FAIL
        if p == "v1":
            if ch == '"':
                if self.name not in self.tools.tools:
                    return _FAIL
                self.committed, self.obj_phase = True, "json"
                return _MORE
            self.name += ch
            return _MORE if any(t.startswith(self.name) for t in self.tools.tools) else _FAIL
        return self._json(ch)

    def _json(self, ch: str) -> int:
        if self.in_str:
            if self.esc:
                self.esc = False
            elif ch == "\\":
                self.esc = True
            elif ch == '"':
                self.in_str = False
            return _MORE
        if ch == '"':
            self.in_str = True
        elif ch in "{[":
            self.depth += 1
        elif ch in "}]":
            self.depth -= 1
            if self.depth == 0:
                return self._object_done()
        elif ch not in JSON_BARE:
            return _CUT if self.committed else _FAIL
        return _MORE

    def _object_done(self) -> int:
        try:
            call = self.tools.call_from(json.loads(self.text), self.text)
        except (ValueError, ToolCallError):
            if self.committed:
                return _CUT
            return _DONE_BEFORE if self.calls else _FAIL
        self.calls.append(call)
        if not self.in_list:
            return _DONE
        self.phase, self.obj_phase = "list", "sep"
        return _MORE

    # -- function tags ---------------------------------------------------------------

    def _fname(self, ch: str) -> int:
        quoted = self.buf.lower().endswith('"')
        end = '"' if quoted else ">"
        if ch == end:
            if self.name not in self.tools.tools:
                return _FAIL
            self.committed = True
            self.phase = "fgt" if quoted else "fbody"
            self.buf = ""
            return _MORE
        self.name += ch
        return _MORE if any(t.startswith(self.name) for t in self.tools.tools) else _FAIL

    def _fgt(self, ch: str) -> int:
        if ch.isspace():
            return _MORE
        if ch != ">":
            return _CUT
        self.phase = "fbody"
        return _MORE

    def _fbody(self, ch: str) -> int:
        self.buf += ch
        low = self.buf[-12:].lower()
        for end in ("</function>", "</tool_call>"):
            if low.endswith(end):
                inner = self.buf[: -len(end)].strip()
                try:
                    self.calls.append(self.tools.call_from(_function_args(self.name, inner), inner))
                except (ValueError, ToolCallError):
                    return _CUT
                return _DONE
        return _MORE


_PARAM = re.compile(
    r"<parameter(?:=|\s+name=\")([^>\"]+)\"?>(.*?)</parameter>", re.DOTALL | re.IGNORECASE
)


def _function_args(name: str, inner: str) -> dict[str, object]:
    """A function tag's body: JSON arguments, or ``<parameter=K>V</parameter>`` pairs."""
    if inner.startswith("{"):
        return {"name": name, "arguments": json.loads(inner)}
    params = {k.strip(): v.strip() for k, v in _PARAM.findall(inner)}
    return {"name": name, "arguments": params}


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
        self._cand: _Candidate | None = None
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
                self._cand, self._held, self._held_start = _Candidate(self.tools), "", base + i
            self._held += ch
            status = self._cand.step(ch)
            i += 1
            if status == _MORE:
                continue
            if status == _FAIL:
                held = self._held
                out.append(held[0])
                self._prev = held[0]
                self._cand, self._held = None, ""
                pending, base, i = held[1:] + pending[i:], self._held_start + 1, 0
                continue
            cand = self._cand
            self._cand, self._held = None, ""
            if status == _DONE_BEFORE:
                i -= 1
            kind: Kind = "tag" if status == _TAG else "cut" if status == _CUT else "body"
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
    """An answer never ends inside a Markdown fence: close one left open."""
    fences = sum(1 for line in answer.splitlines() if line.lstrip().startswith("```"))
    return answer + "\n```" if fences % 2 else answer
