"""Test doubles for the SearchProvider seam."""

from __future__ import annotations

from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import SearchResponse


class FakeSearch:
    name = "fake"

    def __init__(self, hits: int = 2, error: SearchError | None = None, key: bool = True) -> None:
        self.queries: list[str] = []
        self.hits = hits
        self.error = error
        self.key = key

    def unavailable(self) -> str | None:
        return None if self.key else "no Tavily API key: set TAVILY_API_KEY"

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        self.queries.append(query)
        if self.error is not None:
            raise self.error
        n = len(self.queries)
        hits = tuple(
            SearchHit(f"Result {n}.{i}", f"https://example.com/{n}/{i}", f"content {n}.{i} " * 3)
            for i in range(1, self.hits + 1)
        )
        return SearchResponse(query, hits[:max_results], self.name)
