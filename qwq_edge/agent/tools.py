"""Tools the model may call, the GBNF grammar for a call, and validation of what it wrote.

The grammar is compiled here from the tools' JSON schemas (a small subset: objects with
string/integer/enum properties) rather than by llama.cpp's general converter, so that it
is tight: fixed key order, at most one space between tokens, a non-empty query. That keeps
a weak model from wandering in whitespace and keeps the grammar small (it is applied to the
whole vocabulary on every sampled token).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from qwq_edge.agent.searching import Budget
    from qwq_edge.events import Event

CallStyle = Literal["seed", "qwen"]
# key holding the tool name / the arguments, per prompt format
STYLE_KEYS: dict[str, tuple[str, str]] = {
    "seed": ("action", "action_input"),
    "qwen": ("name", "arguments"),
}


class ToolCallError(ValueError):
    """The call did not parse or validate; the message goes back to the model."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any] = field(hash=False)


WEB_SEARCH = Tool(
    name="web_search",
    description=(
        "Search the web and the user's local library (saved results, offline archives, "
        "documents) for current or factual information. Returns numbered results "
        "(origin, title, URL, content) that you can cite as [n]."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                # Bounds a runaway query (seen at T=1.0 on the 0.5B model); measured: no
                # slower per token than an unbounded string.
                "maxLength": 160,
                "description": "A concise search query, like one typed into a search engine.",
            }
        },
        "required": ["query"],
    },
)


OPEN = Tool(
    name="open",
    description=(
        "Read one source whole: a result number from this conversation, or a URL that a "
        "result, a page or the user gave. Returns the passages that best match focus, "
        "under their headings, cited with the source's number [n]."
    ),
    parameters={
        "type": "object",
        "properties": {
            "source": {
                "type": "string",
                "minLength": 1,
                "maxLength": 400,
                "description": "A result number such as 3, or a URL.",
            },
            "focus": {
                "type": "string",
                "maxLength": 160,
                "description": "What to look for in it (default: the question).",
            },
        },
        "required": ["source"],
    },
)


class Executor(Protocol):
    """What runs a tool's call: the event it journals (replay and the front ends show it)
    and the tokens of its response body. ``Searcher`` runs ``web_search``, ``Opener``
    runs ``open``."""

    def run(
        self, budget: Budget, call_id: int, args: dict[str, Any], error: str | None
    ) -> tuple[Event, list[int]]: ...


@dataclass(frozen=True)
class ParsedCall:
    name: str
    arguments: dict[str, Any]
    raw: str


_STRING_CHAR = (
    r'[^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
)
_BASE_RULES = {
    "ws": 'ws ::= " "?',
    "char": f"char ::= {_STRING_CHAR}",
    "string": 'string ::= "\\"" char* "\\""',
    # A first character that is not blank: queries must say something.
    "nonempty-string": (
        'nonempty-string ::= "\\"" ([^"\\\\\\x00-\\x20] | "\\\\" ["\\\\/]) char* "\\""'
    ),
    "integer": 'integer ::= "-"? [0-9]+',
}


def _lit(text: str) -> str:
    """A GBNF literal for ``text`` (a JSON fragment)."""
    return json.dumps(text)


class ToolRegistry:
    def __init__(self, tools: tuple[Tool, ...] = (WEB_SEARCH,)) -> None:
        self.tools = {t.name: t for t in tools}

    def names(self) -> tuple[str, ...]:
        return tuple(self.tools)

    # -- prompt text -----------------------------------------------------------------

    def openai_specs(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in self.tools.values()
        ]

    # -- grammar ---------------------------------------------------------------------

    def grammar(self, style: CallStyle) -> str:
        name_key, args_key = STYLE_KEYS[style]
        rules: dict[str, str] = {}
        alternatives = []
        for i, tool in enumerate(self.tools.values()):
            args_rule = f"args{i}"
            self._object_rule(args_rule, tool.parameters, rules)
            alternatives.append(
                f'"{{" ws {_lit(json.dumps(name_key))} ws ":" ws '
                f'{_lit(json.dumps(tool.name))} ws "," ws '
                f'{_lit(json.dumps(args_key))} ws ":" ws {args_rule} ws "}}"'
            )
        lines = ["root ::= " + " | ".join(f"( {a} )" for a in alternatives)]
        lines += list(rules.values())
        lines += list(_BASE_RULES.values())
        return "\n".join(lines) + "\n"

    def _object_rule(self, rule: str, schema: dict[str, Any], rules: dict[str, str]) -> None:
        """Required keys in schema order; after them, optional string keys, each optional
        (``open``'s focus). Other optional keys are never needed for a well-formed call."""
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", props))
        parts, extra = [], []
        for key, sub in props.items():
            member = f'{_lit(json.dumps(key))} ws ":" ws {self._value_rule(sub, rules)}'
            if key in required:
                parts.append(member)
            elif sub.get("type") == "string":
                extra.append(f'( ws "," ws {member} )?')
        body = ' ws "," ws '.join(parts)
        if parts and extra:
            body += " " + " ".join(extra)
        rules[rule] = f'{rule} ::= "{{" ws {body} ws "}}"' if parts else f'{rule} ::= "{{" ws "}}"'

    @staticmethod
    def _value_rule(schema: dict[str, Any], rules: dict[str, str]) -> str:
        if "enum" in schema:
            return "( " + " | ".join(_lit(json.dumps(v)) for v in schema["enum"]) + " )"
        kind = schema.get("type")
        if kind == "string":
            nonempty = schema.get("minLength", 0) >= 1
            longest = schema.get("maxLength")
            if longest is None:
                return "nonempty-string" if nonempty else "string"
            name = f"string{'1' if nonempty else '0'}-{longest}"
            first = '([^"\\\\\\x00-\\x20] | "\\\\" ["\\\\/])'
            body = f"{first} char{{0,{longest - 1}}}" if nonempty else f"char{{0,{longest}}}"
            rules[name] = f'{name} ::= "\\"" {body} "\\""'
            return name
        if kind == "integer":
            return "integer"
        raise ValueError(f"tool schema type {kind!r} is not supported by the call grammar")

    # -- parsing ---------------------------------------------------------------------

    def parse(self, raw: str) -> ParsedCall:
        """A call the grammar wrote (or a model wrote in any shape ``call_from`` takes)."""
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ToolCallError(f"the call is not valid JSON ({exc.msg})") from None
        return self.call_from(data, raw)

    def call_from(self, data: object, raw: str) -> ParsedCall:
        """A call written in any of the shapes models use: ``name`` with ``arguments`` or
        ``parameters``, or ``action`` with ``action_input``; arguments as an object or as a
        JSON string of one (the OpenAI wire form)."""
        if not isinstance(data, dict):
            raise ToolCallError("the call must be a JSON object")
        name = data.get("name", data.get("action"))
        keys = ("arguments", "parameters", "action_input")
        args = next((data[k] for k in keys if k in data), None)
        if isinstance(args, str):
            with contextlib.suppress(json.JSONDecodeError):  # else: "must be an object" below
                args = json.loads(args)
        tool = self.tools.get(name) if isinstance(name, str) else None
        if tool is None:
            raise ToolCallError(f"unknown tool {name!r}; available: {', '.join(self.tools)}")
        if not isinstance(args, dict):
            raise ToolCallError("the arguments must be an object")
        props = tool.parameters.get("properties", {})
        for key in tool.parameters.get("required", []):
            value = args.get(key)
            number = isinstance(value, int) and not isinstance(value, bool)
            if number and props.get(key, {}).get("type") == "string":
                args = {**args, key: str(value)}  # open(source=3) from a weak model
                value = args[key]
            if not isinstance(value, str) or not value.strip():
                raise ToolCallError(f"{tool.name} needs a non-empty {key!r}")
        return ParsedCall(tool.name, args, raw)

    def canonical(self, call: ParsedCall, style: CallStyle) -> str:
        """The call as the grammar would have written it, for the context."""
        name_key, args_key = STYLE_KEYS[style]
        return json.dumps({name_key: call.name, args_key: call.arguments}, ensure_ascii=False)
