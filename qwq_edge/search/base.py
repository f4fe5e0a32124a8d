"""The SearchProvider seam and its result type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from qwq_edge.errors import ErrorKind
from qwq_edge.events import SearchHit

CUT_KEY = "_qwq_edge_cut"  # in a payload cut at the size cap: the cap, in bytes


@dataclass(frozen=True)
class SearchResponse:
    query: str
    hits: tuple[SearchHit, ...]
    provider: str
    cached: bool = False
    offline: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the provider's full payload
    key: str = ""  # the search cache's key, when the response went through the cache
    fetched_at: float = 0.0
    cut: int = 0  # the response was longer than this many bytes and was cut there
    partial: str = ""  # why some sources did not answer (the others did)
    partial_kind: ErrorKind | None = None


def timeout_message(seconds: float) -> str:
    return f"the search did not finish within {seconds:g} s (search_timeout)"


class SearchProvider(Protocol):
    """Anything that answers a query with hits; raises ``SearchError`` on failure."""

    name: str

    def unavailable(self) -> str | None:
        """Why searching cannot work at all (e.g. no API key), or None when it can."""
        ...

    def search(self, query: str, *, max_results: int) -> SearchResponse: ...
