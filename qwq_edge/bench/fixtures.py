"""What the bench feeds the agent: fixed prompts, a search provider that answers every query
with long results (no network), and an engine wrapper that records every call."""

from __future__ import annotations

from typing import Any

from qwq_edge.engine.base import Generation
from qwq_edge.events import SearchHit
from qwq_edge.search.base import SearchResponse

STORY = "Write a long, detailed story about a lighthouse keeper and a storm."
RESEARCH = "Who won the 2022 FIFA World Cup, who scored in the final, and where was it played?"
SENTENCE = (
    "Argentina won the 2022 FIFA World Cup final against France on penalties after a 3-3 "
    "draw at Lusail Stadium in Qatar on 18 December 2022; Messi scored twice and Mbappe "
    "scored a hat-trick, and Argentina won the shoot-out 4-2. "
)


class FixtureSearch:
    """Answers every query with the same hits, each long enough to fill its token cap."""

    name = "fixture"

    def __init__(self, words: int) -> None:
        text = (SENTENCE * (words // 40 + 1)).strip()
        self.hits = tuple(
            SearchHit(f"Result {i}: the 2022 World Cup final", f"https://example.com/{i}", text)
            for i in range(1, 6)
        )

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        return SearchResponse(query, self.hits[:max_results], self.name)


class NoSearch:
    name = "none"

    def unavailable(self) -> str | None:
        return "search is off for this measurement"

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        raise AssertionError("no search in a decode measurement")


class Recording:
    """The engine, keeping every call's context and outcome (to replay the session)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.calls: list[tuple[list[int], Generation]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    @property
    def info(self) -> Any:
        return self.engine.info

    def stream(self, context: list[int], result: Generation, **kw: Any) -> Any:
        self.calls.append((list(context), result))
        return self.engine.stream(context, result, **kw)
