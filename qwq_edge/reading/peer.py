"""The address a page is really fetched from, checked after the connection is made and
before a byte of the request is sent.

``fetch.check_url`` resolves the host and refuses private addresses, but urllib3 resolves
it again to connect: a name with a zero TTL can answer a public address to the check and
a private one to the connection (DNS rebinding). So the connections ``open`` makes are
urllib3 connections that look at their own peer once connected, and close without sending
anything when it is not globally routable. Behind a proxy the peer is the proxy, which the
user chose; the check before the request is what remains there.
"""

from __future__ import annotations

import ipaddress
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_refused = threading.local()  # the private peer the last connection on this thread met


def public(ip_text: str) -> bool:
    """Whether an address is globally routable (not loopback, private, shared, link-local,
    multicast, reserved or unspecified); IPv4-mapped IPv6 addresses are read as IPv4."""
    ip = ipaddress.ip_address(ip_text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class PrivatePeer(OSError):
    """The connection reached an address that is not public: nothing was sent."""


def _checked(sock: Any, proxied: bool) -> Any:
    if proxied:
        return sock
    address = str(sock.getpeername()[0])
    if not public(address):
        sock.close()
        _refused.address = address
        raise PrivatePeer(f"connected to {address}, which is not a public address")
    return sock


class _HTTP(HTTPConnection):
    def _new_conn(self) -> Any:
        return _checked(super()._new_conn(), bool(self.proxy))


class _HTTPS(HTTPSConnection):
    def _new_conn(self) -> Any:
        return _checked(super()._new_conn(), bool(self.proxy))


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPS


class PublicOnly(HTTPAdapter):
    """A requests adapter whose connections refuse a private peer (mount it on a session)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def begin() -> None:
    """Forget the last refusal on this thread (one fetch starts)."""
    _refused.address = None


def refused() -> str | None:
    """The private address the last connection on this thread was refused at, if any."""
    value: str | None = getattr(_refused, "address", None)
    return value
