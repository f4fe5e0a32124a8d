"""SearXNG search: a self-hosted metasearch instance, through its JSON API
(``GET {searxng_url}/search?q=…&format=json``).

Every failure becomes a ``SearchError`` whose message is one sentence naming the server
(password redacted) and, where there is a well-known cause, its fix; ``kind`` says what
went wrong:

- ``config``: no URL, or one that is not http(s) (``unavailable()`` says which);
- ``network``: the server cannot be reached (no route, DNS); the cache layer switches to
  offline mode on this kind. A refused connection is not that: the host answered, so the
  network is up and nothing listens at the URL (``server``, naming the URL);
- ``timeout``: the whole search did not finish within ``timeout`` seconds;
- ``auth`` (401), ``forbidden`` (403), ``rate`` (429), ``bad_request`` (other 4xx),
  ``server`` (5xx, HTML instead of JSON, JSON of the wrong shape, a broken connection
  mid-answer, a TLS failure, and every engine failing with no result).

Zero results is a valid answer, with one exception: when there are no results *and*
SearXNG lists unresponsive engines, the search raises (kind ``server``) naming the engines
and why they failed. Upstream engines often fail for a while (CAPTCHAs, suspensions,
timeouts); as an error the model hears why, and the cache does not keep an empty answer
that is really an outage (failed searches are not cached).

SearXNG has no per-request result count: one page (typically 10 to 30 merged results)
is fetched and cut to ``max_results`` here. Only ``results`` become hits; ``answers``,
``infoboxes`` and ``suggestions`` stay in ``raw``.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from qwq_edge import __version__
from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import CUT_KEY, SearchResponse, timeout_message
from qwq_edge.settings import redact_url

if TYPE_CHECKING:
    from qwq_edge.search.http import BoundedSession

EXAMPLE_URL = "http://127.0.0.1:8888"
URL_HELP = (
    f"set searxng_url in the config (or QWQ_EDGE_SEARXNG_URL) to your instance, e.g. {EXAMPLE_URL}"
)
JSON_HELP = "enable JSON in its settings.yml (search: formats: [html, json])"

# SearXNG's limiter (``server.limiter: true``, the default of the official Docker setup)
# answers 429 to requests that look like bots: a User-Agent starting with
# "python-requests", no "text/html" in Accept, no Accept-Language. The JSON comes back
# whatever Accept says, so asking for HTML as a fallback costs nothing.
HEADERS = {
    "User-Agent": f"qwq-edge/{__version__}",
    "Accept": "application/json, text/html;q=0.5",
    "Accept-Language": "en-US,en;q=0.8",
}

MAX_ENGINES_NAMED = 6  # in the "every engine failed" message


class SearxngProvider:
    name = "searxng"

    def __init__(
        self,
        base_url: str | None,
        *,
        timeout: float,
        max_bytes: int,
        engines: str | None = None,
    ) -> None:
        self._base_url = (base_url or "").strip() or None
        self._timeout = timeout
        self._max_bytes = max_bytes
        # "google, duckduckgo" and "google,duckduckgo" are the same choice for SearXNG.
        names = [e.strip() for e in (engines or "").split(",")]
        self._engines = ",".join(n for n in names if n) or None
        self._session: BoundedSession | None = None

    @property
    def server(self) -> str:
        """The configured URL, fit to show: any user:password is ``***``."""
        return redact_url(self._base_url or "")

    def unavailable(self) -> str | None:
        if self._base_url is None:
            return f"no SearXNG server is configured; {URL_HELP}"
        try:
            parts = urlsplit(self._base_url)
            _ = parts.port  # raises ValueError for a port that is not one
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            return f"searxng_url {self.server} is not an http:// or https:// URL; {URL_HELP}"
        return None

    def _endpoint(self) -> str:
        """``/search`` under the base URL; a URL that already ends in ``/search`` is kept,
        and so is a query string (a token some proxies want) -- requests adds the rest."""
        parts = urlsplit(self._base_url or "")
        path = parts.path.rstrip("/")
        if not path.endswith("/search"):
            path += "/search"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    def _get_session(self) -> BoundedSession:
        if self._session is None:
            # Imported here, as tavily.py does: requests is slow to import, and a session
            # that never searches should not pay for it.
            from qwq_edge.search.http import BoundedSession

            self._session = BoundedSession(self._max_bytes)
        return self._session

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        reason = self.unavailable()
        if reason is not None:
            raise SearchError(reason, "config")
        session = self._get_session()
        params = {"q": query, "format": "json"}
        if self._engines:
            params["engines"] = self._engines
        try:
            session.begin(self._timeout)
            # A user:password in the URL is sent as HTTP basic auth by requests itself.
            response = session.get(
                self._endpoint(), params=params, headers=HEADERS, timeout=self._timeout
            )
        except Exception as exc:  # every transport failure is mapped below
            raise self._transport_error(exc) from None
        payload = self._payload(response)
        hits = self._hits(payload, max_results)
        cut = payload.get(CUT_KEY)
        cut = cut if isinstance(cut, int) and not isinstance(cut, bool) else 0
        if not hits and not cut:
            failed = _unresponsive(payload.get("unresponsive_engines"))
            if failed:
                raise SearchError(
                    f"SearXNG at {self.server} returned no results, and these engines "
                    f"failed: {failed}; try again later or use other engines",
                    "server",
                )
        return SearchResponse(query=query, hits=hits, provider=self.name, raw=payload, cut=cut)

    def _payload(self, response: Any) -> dict[str, Any]:
        """The JSON object of a successful answer; any other answer raises its error."""
        code = int(response.status_code)
        if not 200 <= code < 300:
            raise self._status_error(code)
        body: bytes = response.content or b""
        ctype = str(response.headers.get("Content-Type") or "").lower()
        # The content type first: an HTML page longer than the cap has already been
        # "mended" into an empty JSON result list by BoundedSession, and must not pass
        # for a search that found nothing.
        if "html" in ctype or body.lstrip()[:1] == b"<":
            raise SearchError(
                f"SearXNG at {self.server} answered with an HTML page, not JSON; "
                f"{JSON_HELP}, and check that searxng_url is not behind a login page",
                "server",
            )
        try:
            payload = json.loads(body)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            raise SearchError(
                f"SearXNG at {self.server} sent a response that is not JSON", "server"
            ) from None
        if not isinstance(payload, dict):
            raise SearchError(
                f"SearXNG at {self.server} sent JSON that is not a search result "
                f"(a {type(payload).__name__}, not an object); is it a SearXNG instance?",
                "server",
            )
        results = payload.get("results")
        if results is None and CUT_KEY in payload:
            payload["results"] = []  # cut before the results began: nothing was kept
        elif not isinstance(results, list):
            raise SearchError(
                f"SearXNG at {self.server} sent JSON without a results list; "
                "is it a SearXNG instance?",
                "server",
            )
        return payload

    def _hits(self, payload: dict[str, Any], max_results: int) -> tuple[SearchHit, ...]:
        hits: list[SearchHit] = []
        for r in payload.get("results") or []:
            if len(hits) >= max_results:
                break
            if not isinstance(r, dict):
                continue
            url = r.get("url")
            if not isinstance(url, str) or not url.strip():
                continue  # a hit the model cannot cite is no use to it
            title = r.get("title")
            content = r.get("content")
            hits.append(
                SearchHit(
                    title=title.strip() if isinstance(title, str) and title.strip() else url,
                    url=url.strip(),
                    content=content if isinstance(content, str) else "",
                    score=_score(r.get("score")),
                    origin="web",
                )
            )
        return tuple(hits)

    def _status_error(self, code: int) -> SearchError:
        wait = self._session.retry_after if self._session is not None else None
        when = f"try again in {wait:.0f} s" if wait is not None else "try again later"
        where = f"SearXNG at {self.server}"
        if code == 401:
            has_login = bool(urlsplit(self._base_url or "").username)
            fix = (
                "check the user and password in searxng_url"
                if has_login
                else "put them in searxng_url, e.g. http://user:password@host:8888"
            )
            return SearchError(f"{where} asked for a login (401); {fix}", "auth")
        if code == 403:
            # Most often not a permission at all: SearXNG answers 403 to format=json
            # unless JSON is listed among its output formats (it is not by default).
            return SearchError(
                f"{where} refused the request (403), as SearXNG does for format=json "
                "unless search.formats in its settings.yml includes json: set "
                "search: formats: [html, json] there",
                "forbidden",
            )
        if code == 429:
            return SearchError(
                f"{where} is limiting requests (429); {when}, or on your own instance "
                "turn off its limiter (server: limiter: false in settings.yml)",
                "rate",
            )
        if code == 404:
            return SearchError(
                f"{where} has no search page there (404); set searxng_url to the "
                "instance's base URL",
                "bad_request",
            )
        if 400 <= code < 500:
            return SearchError(f"{where} rejected the request (HTTP {code})", "bad_request")
        return SearchError(f"{where} failed with HTTP {code}; {when}", "server")

    def _transport_error(self, exc: Exception) -> SearchError:
        import requests
        from urllib3 import exceptions as u3

        from qwq_edge.search.http import refused

        where = f"SearXNG at {self.server}"
        # Order matters: ConnectTimeout is also a ConnectionError, and so is SSLError,
        # which must not be taken for "no network" (that would switch to offline mode).
        if isinstance(exc, (requests.Timeout, u3.TimeoutError)):
            # urllib3's own: BoundedSession reads the body itself, past requests' wrapping.
            return SearchError(timeout_message(self._timeout), "timeout")
        if isinstance(exc, requests.exceptions.SSLError):
            return SearchError(
                f"the TLS connection to {where} failed (check its certificate, or use "
                "http:// if it does not serve https)",
                "server",
            )
        if isinstance(exc, requests.ConnectionError) and refused(exc):
            return SearchError(
                f"nothing answers at {where} (connection refused): is SearXNG running there, "
                "and is searxng_url right?",
                "server",
            )
        if isinstance(exc, requests.ConnectionError):
            return SearchError(
                f"cannot reach {where}: the connection failed (is it running, and is the "
                "network up?)",
                "network",
            )
        if isinstance(exc, u3.ProtocolError):  # the body stopped short
            return SearchError(f"the connection to {where} broke off mid-answer", "server")
        if isinstance(exc, requests.TooManyRedirects):
            return SearchError(f"{where} redirected too many times", "server")
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
            return SearchError(
                f"searxng_url {self.server} is not a valid URL; {URL_HELP}", "config"
            )
        detail = self._scrub(str(exc)).strip().replace("\n", " ")
        suffix = f" ({detail[:160]})" if detail else ""
        return SearchError(f"search failed: {type(exc).__name__}{suffix}", "search")

    def _scrub(self, text: str) -> str:
        """``text`` without the configured URL's userinfo or password anywhere in it."""
        if self._base_url:
            text = text.replace(self._base_url, self.server)
            password = urlsplit(self._base_url).password
            if password:
                text = text.replace(password, "***")
        return text


def _score(value: Any) -> float | None:
    # SearXNG's score is its own merge weight (often above 1), kept for ordering only.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _unresponsive(value: Any) -> str:
    """SearXNG's ``unresponsive_engines`` ([[name, reason], ...]) as "name (reason), ...";
    empty when there are none."""
    named: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, (list, tuple)) and item:
            name = str(item[0])
            reason = str(item[1]).strip() if len(item) > 1 and item[1] else ""
            named.append(f"{name} ({reason[:80]})" if reason else name)
        elif isinstance(item, str):
            named.append(item)
    if len(named) > MAX_ENGINES_NAMED:
        rest = len(named) - MAX_ENGINES_NAMED
        named = [*named[:MAX_ENGINES_NAMED], f"{rest} more"]
    return ", ".join(named)
