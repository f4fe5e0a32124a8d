"""Search providers behind the ``SearchProvider`` protocol."""

from qwq_edge.search.base import SearchProvider, SearchResponse

__all__ = ["SearchProvider", "SearchResponse"]
