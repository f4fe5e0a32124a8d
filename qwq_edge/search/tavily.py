"""Tavily search through the real ``tavily-python`` client (imported lazily).

Every failure becomes a ``SearchError`` with a short message the model can reason about and
a ``kind`` the user can act on. The API key never appears in any message.
"""

from __future__ import annotations

from typing import Any

from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import SearchResponse

KEY_HELP = "set TAVILY_API_KEY or tavily_api_key in the config file (free keys at tavily.com)"


class TavilyProvider:
    name = "tavily"

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str | None = None,
        timeout: float = 20.0,
        search_depth: str = "basic",
    ) -> None:
        self._key = (api_key or "").strip() or None
        self._base_url = base_url or None
        self._timeout = timeout
        self._depth = search_depth
        self._client: Any = None

    def unavailable(self) -> str | None:
        if self._key is None:
            return f"no Tavily API key: {KEY_HELP}"
        return None

    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        return text

    def _get_client(self) -> Any:
        if self._client is None:
            from tavily import TavilyClient

            # Checked: without a key the client silently goes "keyless" (docs/architecture.md).
            self._client = TavilyClient(api_key=self._key, api_base_url=self._base_url)
        return self._client

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        reason = self.unavailable()
        if reason is not None:
            raise SearchError(reason, kind="no_key")
        try:
            raw = self._get_client().search(
                query,
                search_depth=self._depth,
                max_results=max_results,
                timeout=self._timeout,
            )
        except Exception as exc:  # every client/transport failure is mapped below
            raise self._map_error(exc) from None
        hits = tuple(
            SearchHit(
                title=str(r.get("title") or r.get("url") or "untitled"),
                url=str(r.get("url") or ""),
                content=str(r.get("content") or ""),
                score=float(r["score"]) if isinstance(r.get("score"), (int, float)) else None,
            )
            for r in (raw.get("results") or [])
            if isinstance(r, dict)
        )
        return SearchResponse(query=query, hits=hits, provider=self.name, raw=raw)

    def _map_error(self, exc: Exception) -> SearchError:
        import requests
        from tavily import errors as te

        detail = self._scrub(str(exc)).strip()
        suffix = f" ({detail[:160]})" if detail else ""
        if isinstance(exc, te.InvalidAPIKeyError):
            return SearchError(f"Tavily rejected the API key (401); {KEY_HELP}", "auth")
        if isinstance(exc, te.UsageLimitExceededError):
            return SearchError("Tavily usage limit reached (429); wait or raise your plan", "rate")
        if isinstance(exc, te.ForbiddenError):
            return SearchError(f"Tavily refused the request (403){suffix}", "forbidden")
        if isinstance(exc, te.BadRequestError):
            return SearchError(f"Tavily rejected the query as invalid (400){suffix}", "bad_request")
        if isinstance(exc, (te.TimeoutError, requests.Timeout)):
            return SearchError(f"Tavily did not answer within {self._timeout:g} s", "timeout")
        if isinstance(exc, requests.ConnectionError):
            return SearchError("cannot reach Tavily: no network connection", "network")
        if isinstance(exc, requests.HTTPError):
            code = getattr(exc.response, "status_code", "?")
            return SearchError(f"Tavily returned HTTP {code}; try again later", "server")
        return SearchError(f"search failed: {type(exc).__name__}{suffix}", "search")
