"""The call grammar, call validation, and closing a call cut off at the token limit."""

from __future__ import annotations

import json

import pytest

from qwq_edge.agent.tools import ToolCallError, ToolRegistry
from qwq_edge.jsonfix import close_json


@pytest.mark.parametrize(
    "style,keys", [("seed", ("action", "action_input")), ("qwen", ("name", "arguments"))]
)
def test_grammar_names_the_tool_and_its_keys(style: str, keys: tuple[str, str]) -> None:
    g = ToolRegistry().grammar(style)  # type: ignore[arg-type]
    assert g.startswith("root ::=")
    for key in keys:
        assert f'"\\"{key}\\""' in g
    assert '"\\"web_search\\""' in g
    assert "string1-160 ::=" in g and "char{0,159}" in g


def test_parse_accepts_a_valid_seed_call() -> None:
    call = ToolRegistry().parse('{"action": "web_search", "action_input": {"query": "gold price"}}')
    assert call.name == "web_search" and call.arguments == {"query": "gold price"}


@pytest.mark.parametrize(
    "raw,message",
    [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"action": "rm", "action_input": {}}', "unknown tool"),
        ('{"action": "web_search", "action_input": "x"}', "must be an object"),
        ('{"action": "web_search", "action_input": {"query": "  "}}', "non-empty"),
    ],
)
def test_parse_rejects_bad_calls(raw: str, message: str) -> None:
    with pytest.raises(ToolCallError, match=message):
        ToolRegistry().parse(raw)


@pytest.mark.parametrize(
    "partial",
    [
        '{"action": "web_search", "action_input": {"query": "abc',
        '{"action": "web_search", "action_input": {"query": "a\\',
        '{"action": "web_search", "action_input": {"query": "\\u00',
        '{"action": "web_search", "action_input": {"query":',
        '{"action": "web_search",',
    ],
)
def test_close_json_always_yields_valid_json(partial: str) -> None:
    json.loads(partial + close_json(partial))
