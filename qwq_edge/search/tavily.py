"""Tavily search through the real ``tavily-python`` client (imported lazily).

Every failure becomes a ``SearchError`` with a short message the model can reason about and
a ``kind`` the user can act on. The API key, and any password in the server's URL, never
appear in any message. The client talks through a ``BoundedSession``: ``timeout`` bounds the
whole search, ``max_bytes`` the response.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import CUT_KEY, SearchResponse, timeout_message
from qwq_edge.settings import redact_url

DEFAULT_URL = "https://api.tavily.com"  # the client's own default
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
        max_bytes: int = 2_000_000,
    ) -> None:
        self._key = (api_key or "").strip() or None
        self._base_url = base_url or None
        self._timeout = timeout
        self._depth = search_depth
        self._max_bytes = max_bytes
        self._client: Any = None
        self._session: Any = None

    def unavailable(self) -> str | None:
        if self._key is None:
            return f"no Tavily API key: {KEY_HELP}"
        return None

    def _scrub(self, text: str) -> str:
        if self._key:
            text = text.replace(self._key, "***")
        if self._base_url:
            text = text.replace(self._base_url, redact_url(self._base_url))
            password = urlsplit(self._base_url).password
            if password:
                text = text.replace(password, "***")
        return text

    def _get_client(self) -> Any:
        if self._client is None:
            from tavily import TavilyClient

            from qwq_edge.search.http import BoundedSession

            # Checked: without a key the client silently goes "keyless" (docs/architecture.md).
            self._session = BoundedSession(self._max_bytes)
            self._client = TavilyClient(
                api_key=self._key, api_base_url=self._base_url, session=self._session
            )
        return self._client

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        reason = self.unavailable()
        if reason is not None:
            raise SearchError(reason, kind="no_key")
        try:
            client = self._get_client()
            self._session.begin(self._timeout)
            raw = client.search(
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
        cut = raw.get(CUT_KEY)
        return SearchResponse(
            query=query, hits=hits, provider=self.name, raw=raw,
            cut=cut if isinstance(cut, int) else 0,
        )  # fmt: skip

    def _map_error(self, exc: Exception) -> SearchError:
        import requests
        from tavily import errors as te

        from qwq_edge.search.http import refused

        detail = self._scrub(str(exc)).strip()
        suffix = f" ({detail[:160]})" if detail else ""
        if isinstance(exc, te.InvalidAPIKeyError):
            return SearchError(f"Tavily rejected the API key (401); {KEY_HELP}", "auth")
        if isinstance(exc, te.UsageLimitExceededError):
            wait = self._session.retry_after if self._session is not None else None
            when = f"try again in {wait:.0f} s" if wait is not None else "wait or raise your plan"
            return SearchError(f"Tavily usage limit reached (429); {when}", "rate")
        if isinstance(exc, te.ForbiddenError):
            return SearchError(f"Tavily refused the request (403){suffix}", "forbidden")
        if isinstance(exc, te.BadRequestError):
            return SearchError(f"Tavily rejected the query as invalid (400){suffix}", "bad_request")
        if isinstance(exc, (te.TimeoutError, requests.Timeout)):
            return SearchError(timeout_message(self._timeout), "timeout")
        if isinstance(exc, requests.ConnectionError) and refused(exc):
            # The host answered: the network is up, nothing listens at the URL (not offline).
            where = redact_url(self._base_url or DEFAULT_URL)
            return SearchError(
                f"nothing answers at {where} (connection refused): check tavily_url "
                "(QWQ_EDGE_TAVILY_URL), or whether the server there is running",
                "server",
            )
        if isinstance(exc, requests.ConnectionError):
            return SearchError("cannot reach Tavily: no network connection", "network")
        if isinstance(exc, requests.HTTPError):
            code = getattr(exc.response, "status_code", "?")
            wait = self._session.retry_after if self._session is not None else None
            when = f"try again in {wait:.0f} s" if wait is not None else "try again later"
            return SearchError(f"Tavily returned HTTP {code}; {when}", "server")
        if isinstance(exc, json.JSONDecodeError):  # requests' own is a subclass
            return SearchError("Tavily sent a response that is not JSON", "server")
        return SearchError(f"search failed: {type(exc).__name__}{suffix}", "search")
