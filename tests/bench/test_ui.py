"""The bench's UI measure (``bench/ui.py``) in quick mode on a short answer: rows with
positive figures in the units they say, and an answer whose sections all cost the same."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from qwq_edge.bench.report import markdown
from qwq_edge.bench.ui import SECTION_TOKENS, answer_tokens, measure_ui_cost, section, tokens_of


def test_every_section_has_the_same_tokens_and_a_list_code_and_citations() -> None:
    assert {len(tokens_of(section(s))) for s in range(120)} == {SECTION_TOKENS}
    assert section(0) != section(1)
    kinds = {t.type for t in MarkdownIt("gfm-like").parse(section(3))}
    assert {"heading_open", "paragraph_open", "bullet_list_open", "fence"} <= kinds
    assert re.search(r"\[\d\]", section(3)) and re.search(r"\[\d, \d\]", section(3))
    tokens = answer_tokens(500)
    assert len(tokens) == 500 and "".join(tokens).startswith(section(0) + section(1))
    assert 3 <= sum(map(len, tokens)) / len(tokens) <= 5 and max(map(len, tokens)) <= 8


def test_quick_rows_say_the_cpu_per_token_at_each_point_and_at_rest() -> None:
    rows = measure_ui_cost(True, points=(40, 120), window=40, rate=100.0, idle_seconds=0.5,
                           runs=1)  # fmt: skip
    first, second, rest = rows
    assert first.metric == "UI CPU per streamed token at 40 answer tokens"
    assert second.metric == "UI CPU per streamed token at 120 answer tokens"
    for row in (first, second):
        assert row.unit == "ms" and row.median is not None
        assert 0 < row.median < 1000  # a token costs some CPU, and far less than a second
        assert "the next 40 tokens at 100 tok/s" in row.note
    assert first.ratio is None and first.goal == ""
    assert second.ratio is not None and second.ratio > 0 and second.met is not None
    assert second.goal.startswith("≤ 1.25 × at 40")
    assert rest.metric == "UI CPU at rest" and rest.unit == "% CPU"
    assert rest.median is not None and 0 <= rest.median < 100 and rest.met is not None
    table = markdown(rows)
    assert "ms" in table and "% CPU" in table
