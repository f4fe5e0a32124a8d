"""A local web site for ``open``: real HTML, a PDF and plain text over real HTTP on
127.0.0.1, and every way a page can go wrong (404, a slow drip, a huge body, binary data, a
redirect loop, a redirect to another host, a gzip bomb, no main text, a Latin-1 page)."""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PDF = Path(__file__).parent.parent / "library" / "fixtures" / "lighthouses.pdf"

# A documentation page as generators write them: navigation, a sidebar, a cookie banner and
# a footer around the main text; the fact a question needs sits deep in the page, far from
# the words a snippet would show.
ARTICLE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Teasel — Plant Notes</title></head>
<body>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
<header><nav class="top"><a href="/">Home</a> | <a href="/plants/">Plants</a> |
<a href="/about">About us</a> | <a href="https://example.org/shop">Shop</a></nav></header>
<aside class="sidebar"><h3>Related plants</h3><ul><li><a href="/plants/thistle">Thistle</a></li>
<li><a href="/plants/burdock">Burdock</a></li></ul></aside>
<main><article>
<h1>Teasel</h1>
<p>Teasel is the common name of the genus Dipsacus, flowering plants of the honeysuckle family
native to Europe, western Asia and northern Africa. The plants are biennials: a rosette of
leaves in the first year, a tall flowering stem in the second.</p>
<h2>Description</h2>
<p>The stems are prickly and may reach two metres. The leaves are lance-shaped and joined
around the stem in pairs, forming cups where rainwater collects after a shower.</p>
<p>The flower heads are egg-shaped, covered in spiny bracts, and bloom in a ring that moves
up and down the head over several weeks in summer.</p>
<h2>Cultivation and trade</h2>
<p>Fuller's teasel was grown in England and France for centuries as a field crop. Growers
cut the heads in late summer, dried them in open sheds and sold them by the thousand.</p>
<table><tr><th>Region</th><th>Peak acreage</th></tr><tr><td>Somerset</td><td>1,800</td></tr>
<tr><td>Yorkshire</td><td>600</td></tr></table>
<h2>Industrial use</h2>
<p>In the woollen mills, the dried heads were set in rows on a rotating drum called a gig.
The hooked bracts combed the cloth and lifted its fibres, giving the fabric a soft raised
surface; a head that met a knot would break rather than tear the cloth.</p>
<p>Metal cards replaced teasels in most mills in the twentieth century, but a few mills still
use them for the finest cloth, such as the baize on billiard tables.</p>
<h2>Ecology</h2>
<p>Goldfinches feed on the seeds in autumn and winter. Insects drown in the water held by the
leaf cups; whether the plant takes up nutrients from them is still studied.</p>
<p>Read more on the <a href="/plants/thistle">thistle page</a> and in the
<a href="https://example.org/teasel-history">history of teasel growing</a>.</p>
</article></main>
<footer><p>Copyright 2026 Plant Notes. All rights reserved. Privacy policy. Contact.</p></footer>
</body></html>
"""

LATIN1 = (
    "<html><head><title>Caf\xe9 notes</title></head><body><main><h1>Caf\xe9</h1><p>"
    "The caf\xe9 served cr\xe8me br\xfbl\xe9e every Sunday to the fishermen of the harbour, "
    "who paid in smoked herring and stories about the sea.</p></main></body></html>"
).encode("latin-1")

EMPTY = (
    b"<html><head><title>Nothing</title></head><body><nav><a href='/'>Home</a></nav></body></html>"
)
PLAIN = b"Tide tables for the Skerrow coast.\n\nHigh water at Varnholt is at 06:12 and 18:40."


class PageServer:
    """Serves the pages above on 127.0.0.1 (``url(path)``); counts requests per path."""

    def __init__(self, drip_interval: float = 0.5) -> None:
        self.hits: dict[str, int] = {}
        self.drip_interval = drip_interval
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    server._route(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes, **hdr: str
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for key, value in hdr.items():
            h.send_header(key.replace("_", "-"), value)
        h.end_headers()
        h.wfile.write(body)

    def _route(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        if path == "/teasel.html":
            self._send(h, 200, "text/html; charset=utf-8", ARTICLE.encode())
        elif path == "/lighthouses.pdf":
            self._send(h, 200, "application/pdf", PDF.read_bytes())
        elif path == "/tides.txt":
            self._send(h, 200, "text/plain", PLAIN)
        elif path == "/latin1.html":
            self._send(h, 200, "text/html", LATIN1)  # no charset: the page must be sniffed
        elif path == "/empty.html":
            self._send(h, 200, "text/html", EMPTY)
        elif path == "/binary":
            self._send(h, 200, "application/octet-stream", bytes(range(256)) * 64)
        elif path == "/loop":
            self._send(h, 302, "text/plain", b"", Location="/loop")
        elif path == "/moved":
            self._send(h, 301, "text/plain", b"", Location="/teasel.html")
        elif path.startswith("/to-localhost"):
            self._send(
                h, 302, "text/plain", b"", Location=f"http://localhost:{self.port}/teasel.html"
            )
        elif path.startswith("/to-loopback-2"):
            there = f"http://127.0.0.2:{self.port}/teasel.html"  # another loopback address
            self._send(h, 302, "text/plain", b"", Location=there)
        elif path == "/to-file":
            self._send(h, 302, "text/plain", b"", Location="file:///etc/passwd")
        elif path == "/huge.html":
            self._huge(h)
        elif path == "/bomb.html":
            bomb = gzip.compress(b"<html><body><p>" + b"a " * 30_000_000 + b"</p></body></html>")
            self._send(h, 200, "text/html", bomb, Content_Encoding="gzip")
        elif path == "/drip.html":
            self._drip(h)
        elif path == "/busy":
            self._send(h, 429, "text/plain", b"slow down", Retry_After="30")
        else:
            self._send(h, 404, "text/html", b"<html><body><h1>Not found</h1></body></html>")

    def _huge(self, h: BaseHTTPRequestHandler) -> None:
        """50 MB of paragraphs, streamed (the client must stop at its cap)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(50_000_000))
        h.end_headers()
        h.wfile.write(b"<html><head><title>Huge</title></head><body><main>")
        chunk = b"<p>" + b"The harbour wall was rebuilt in granite after the storm. " * 50 + b"</p>"
        sent = 0
        while sent < 50_000_000:
            h.wfile.write(chunk)
            sent += len(chunk)

    def _drip(self, h: BaseHTTPRequestHandler) -> None:
        """Headers at once, then a byte every ``drip_interval`` seconds."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        for _ in range(100000):
            h.wfile.write(b"<")
            h.wfile.flush()
            time.sleep(self.drip_interval)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
