"""Tool-call shapes, recognized as the text streams: a small grammar of wrappers × bodies
(docs/architecture.md, "Calls in every shape").

Bodies: a JSON object naming a known tool (``name``/``arguments``, ``name``/``parameters``
or ``action``/``action_input``, any key order, any JSON whitespace), a JSON list of them,
``<function=NAME>…</function>`` and ``<function name="NAME">…</function>``. Wrappers, zero
or more and nested: ``<tool_call>``-like tags in any case and Markdown fences. The exact
``<tool_call>`` tag is the canonical opener: it ends the scan at once and the loop samples
the call under the grammar.

``Candidate`` follows one possible call from its first character and says, character by
character, whether it goes on, fails, or is complete; ``recognizer.py`` runs candidates
over the stream.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from qwq_edge.agent.tools import ParsedCall, ToolCallError, ToolRegistry

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
Kind = Literal["tag", "body", "cut"]


@dataclass(frozen=True)
class CallMatch:
    """A call found in the stream: ``tag`` (the canonical opener: sample the call), ``body``
    (complete and valid: run ``calls``), ``cut`` (a tool was named but the body is broken or
    unfinished: sample the call). ``start`` is the offset of its first wrapper."""

    kind: Kind
    start: int
    calls: tuple[ParsedCall, ...] = ()


# What a candidate says after each character.
MORE, FAIL, DONE, DONE_BEFORE, OPENER, CUT = range(6)


class Candidate:
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
            return CUT if self.committed else FAIL
        return getattr(self, "_" + self.phase)(ch)  # type: ignore[no-any-return]

    # -- wrappers --------------------------------------------------------------------

    def _lead(self, ch: str) -> int:
        if ch.isspace() and self.wrapped:
            return MORE
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
            return FAIL
        return MORE

    def _tag(self, ch: str) -> int:
        self.buf += ch
        low = self.buf.lower()
        if low in FUNCTION_OPENERS:
            self.phase, self.name = "fname", ""
            return MORE
        if self.buf == TAG:
            return OPENER
        if low in OPENERS:
            self.phase, self.wrapped = "lead", True
            return MORE
        viable = any(t.startswith(low) for t in (*OPENERS, *FUNCTION_OPENERS))
        return MORE if viable else FAIL

    def _fence(self, ch: str) -> int:
        self.buf += ch
        ticks = len(self.buf) - len(self.buf.lstrip("`"))
        if len(self.buf) <= 3:
            return MORE if ch == "`" else FAIL
        if ch == "\n":
            if self.buf[ticks:].strip().lower() in FENCE_LANGS:
                self.phase, self.wrapped = "lead", True
                return MORE
            return FAIL
        lang = self.buf[ticks:].lower()
        if ticks == 3 and (
            any(x.startswith(lang) for x in FENCE_LANGS if x) or (lang.rstrip(" \t") in FENCE_LANGS)
        ):
            return MORE
        return FAIL

    # -- JSON bodies -----------------------------------------------------------------

    def _list(self, ch: str) -> int:
        if ch.isspace():
            return MORE
        if ch == "{" and self.obj_phase != "sep":
            self.phase = "obj"
            self._obj_reset()
            self.depth, self.text = 1, "{"
            return MORE
        if ch == "]" and self.calls:
            return DONE
        if ch == "," and self.calls and self.obj_phase == "sep":
            self.obj_phase = "next"
            return MORE
        return DONE_BEFORE if self.calls else FAIL

    def _obj(self, ch: str) -> int:
        self.text += ch
        p = self.obj_phase
        if p in ("k0", "k2", "v0") and ch.isspace():
            return MORE
        if p == "k0":
            self.obj_phase = "k1"
            return MORE if ch == '"' else FAIL
        if p == "k1":
            if ch == '"':
                self.obj_phase = "k2" if self.key in CALL_KEYS else "bad"
                return MORE if self.key in CALL_KEYS else FAIL
            self.key += ch
            return MORE if any(k.startswith(self.key) for k in CALL_KEYS) else FAIL
        if p == "k2":
            if ch != ":":
                return FAIL
            self.obj_phase = "v0" if self.key in NAME_KEYS else "json"
            return MORE
        if p == "v0":
            self.obj_phase = "v1"
            return MORE if ch == '"' else FAIL
        if p == "v1":
            if ch == '"':
                if self.name not in self.tools.tools:
                    return FAIL
                self.committed, self.obj_phase = True, "json"
                return MORE
            self.name += ch
            return MORE if any(t.startswith(self.name) for t in self.tools.tools) else FAIL
        return self._json(ch)

    def _json(self, ch: str) -> int:
        if self.in_str:
            if self.esc:
                self.esc = False
            elif ch == "\\":
                self.esc = True
            elif ch == '"':
                self.in_str = False
            return MORE
        if ch == '"':
            self.in_str = True
        elif ch in "{[":
            self.depth += 1
        elif ch in "}]":
            self.depth -= 1
            if self.depth == 0:
                return self._object_done()
        elif ch not in JSON_BARE:
            return CUT if self.committed else FAIL
        return MORE

    def _object_done(self) -> int:
        try:
            call = self.tools.call_from(json.loads(self.text), self.text)
        except (ValueError, ToolCallError):
            if self.committed:
                return CUT
            return DONE_BEFORE if self.calls else FAIL
        self.calls.append(call)
        if not self.in_list:
            return DONE
        self.phase, self.obj_phase = "list", "sep"
        return MORE

    # -- function tags ---------------------------------------------------------------

    def _fname(self, ch: str) -> int:
        quoted = self.buf.lower().endswith('"')
        end = '"' if quoted else ">"
        if ch == end:
            if self.name not in self.tools.tools:
                return FAIL
            self.committed = True
            self.phase = "fgt" if quoted else "fbody"
            self.buf = ""
            return MORE
        self.name += ch
        return MORE if any(t.startswith(self.name) for t in self.tools.tools) else FAIL

    def _fgt(self, ch: str) -> int:
        if ch.isspace():
            return MORE
        if ch != ">":
            return CUT
        self.phase = "fbody"
        return MORE

    def _fbody(self, ch: str) -> int:
        self.buf += ch
        low = self.buf[-12:].lower()
        for end in ("</function>", "</tool_call>"):
            if low.endswith(end):
                inner = self.buf[: -len(end)].strip()
                try:
                    self.calls.append(self.tools.call_from(_function_args(self.name, inner), inner))
                except (ValueError, ToolCallError):
                    return CUT
                return DONE
        return MORE


_PARAM = re.compile(
    r"<parameter(?:=|\s+name=\")([^>\"]+)\"?>(.*?)</parameter>", re.DOTALL | re.IGNORECASE
)


def _function_args(name: str, inner: str) -> dict[str, object]:
    """A function tag's body: JSON arguments, or ``<parameter=K>V</parameter>`` pairs."""
    if inner.startswith("{"):
        return {"name": name, "arguments": json.loads(inner)}
    params = {k.strip(): v.strip() for k, v in _PARAM.findall(inner)}
    return {"name": name, "arguments": params}
