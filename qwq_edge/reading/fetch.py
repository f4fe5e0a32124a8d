"""Fetching one web page for ``open``, bounded and guarded.

The page is fetched through the search's ``BoundedSession`` (one deadline for the whole
fetch, redirects included; the body capped as it arrives, after decompression, so a gzip
bomb stops at the cap). Redirects are followed here, one hop at a time, because every hop
is checked again: only ``http``/``https``, and by default no host that resolves to a
loopback, private, link-local, multicast or reserved address. A model that read a hostile
page must not be able to reach the services on the user's own network
(docs/architecture.md, "Reading what you cite").
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.util import parse_url

from qwq_edge.errors import ReadError
from qwq_edge.reading import peer
from qwq_edge.search.http import BoundedSession

MAX_REDIRECTS = 5
_ODD = re.compile(r"[\x00-\x20\x7f\\]")
USER_AGENT = "qwq-edge (a research agent reading a page it cites)"
ACCEPT = "text/html,application/xhtml+xml,application/pdf,text/plain;q=0.9,*/*;q=0.5"


@dataclass(frozen=True)
class Fetched:
    url: str  # where the page was read from, after redirects
    content_type: str  # the media type, lower case, without parameters ("" when not said)
    charset: str | None  # as the server declared it
    body: bytes
    cut: int  # the body was longer than this many bytes and was cut there (0: whole)
    seconds: float


def private_address(host: str) -> str | None:
    """The first address of ``host`` that is not a public one (loopback, private,
    link-local, multicast, reserved, unspecified), or None when all are public. A host that
    does not resolve raises ``ReadError`` (kind ``network``)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise ReadError(f"the host {host} could not be resolved", "network") from None
    for info in infos:
        # Not "is_private": that misses shared address space (100.64/10, CGNAT and
        # Tailscale) and others; anything not globally routable is the user's network.
        address = str(info[4][0])
        if not peer.public(address):
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
            return str(mapped or ip)
    return None


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse (``ReadError``, kind ``refused``) a URL that is not http(s), or whose host is
    on a private network while ``allow_private`` is off."""
    if _ODD.search(url):
        # urllib3 reads "\\" as the start of the path where urlsplit reads it as part of the
        # host ("http://127.0.0.1\\@8.8.8.8/"): the check and the request must see one host.
        raise ReadError("the URL holds spaces, control characters or backslashes", "refused")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        sent = parse_url(url).host
    except ValueError:
        raise ReadError("the URL is not a valid web address", "invalid") from None
    if parts.scheme not in ("http", "https"):
        raise ReadError(f"only http and https pages can be fetched, not {parts.scheme}:", "refused")
    if parts.username is not None or parts.password is not None:
        # A password must not reach the journal or the library, and "user@host" is a
        # classic way to dress one host up as another.
        raise ReadError("a URL with a user name or password in it is not opened", "refused")
    if not host:
        raise ReadError("the URL names no host", "refused")
    if (sent or "").strip("[]").lower() != host.lower():
        raise ReadError("the URL's host is ambiguous, so it is not opened", "refused")
    if allow_private:
        return
    where = private_address(host)
    if where is not None:
        raise ReadError(
            f"{host} is on a private network ({where}), and pages there are not opened "
            "unless open_allow_private is set",
            "refused",
        )


def fetch(url: str, *, timeout: float, max_bytes: int, allow_private: bool) -> Fetched:
    """The page at ``url``: every hop checked, the whole fetch within ``timeout`` seconds,
    the body read to ``max_bytes``. Raises ``ReadError`` with one sentence."""
    t0 = time.perf_counter()
    session = BoundedSession(max_bytes, mend_json=False)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": ACCEPT})
    session.auth = _no_auth  # never the user's ~/.netrc credentials for a page the model chose
    if not allow_private:  # the peer checked again once connected (DNS rebinding)
        session.mount("http://", peer.PublicOnly())
        session.mount("https://", peer.PublicOnly())
    session.begin(timeout)
    peer.begin()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, allow_private=allow_private)
            response = session.get(url, allow_redirects=False, timeout=timeout)
            if response.is_redirect and response.headers.get("Location"):
                try:
                    url = urljoin(url, response.headers["Location"])
                except ValueError:
                    raise ReadError("the page redirected to an invalid address", "http") from None
                continue
            return _answer(url, response, session, time.perf_counter() - t0)
        raise ReadError(f"the page redirected more than {MAX_REDIRECTS} times", "http")
    except requests.Timeout:
        raise ReadError(f"the page did not arrive within {timeout:g} s", "timeout") from None
    except requests.ConnectionError:
        address = peer.refused()
        if address is not None:
            raise ReadError(
                f"{_host(url)} led to {address}, a private address, so nothing was sent "
                "(open_allow_private allows it)",
                "refused",
            ) from None
        raise ReadError(f"{_host(url)} could not be reached", "network") from None
    except requests.RequestException as exc:
        raise ReadError(
            f"the page could not be fetched ({type(exc).__name__})", "network"
        ) from None
    finally:
        session.close()


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the host"
    except ValueError:
        return "the host"


def _answer(url: str, response: requests.Response, session: BoundedSession, took: float) -> Fetched:
    status = response.status_code
    if status >= 400:
        wait = session.retry_after
        later = (
            f"; it asked to wait {wait:.0f} s" if wait is not None and status in (429, 503) else ""
        )
        reason = response.reason or "error"
        raise ReadError(f"the page answered HTTP {status} ({reason}){later}", "http")
    media, _, params = (response.headers.get("Content-Type") or "").partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ")
    cut = session.max_bytes if session.was_cut else 0
    return Fetched(url, media.strip().lower(), charset, response.content, cut, took)
