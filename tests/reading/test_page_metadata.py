"""The author and publication date a page states, for a report's bibliography: read from
its meta tags and JSON-LD (trafilatura, htmldate) or a PDF's document information, carried
from the extraction through the reader's ``Page`` to the ``PageOpened`` event; over real
HTTP on 127.0.0.1, and bounded when a page lies."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from qwq_edge.agent.opening import opened_event
from qwq_edge.library.index import Library
from qwq_edge.library.provider import LibraryProvider
from qwq_edge.reading.extract import extract
from qwq_edge.reading.reader import Reader

BODY = """<main><article><h1>Teasel harvests</h1>
<p>Growers cut the teasel heads in late summer and dried them in open sheds before selling
them to the woollen mills by the thousand, where they raised the nap of the cloth.</p>
<p>The mills set the dried heads in rows on a rotating drum called a gig.</p>
</article></main>"""

META_PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Teasel harvests</title>
<meta name="author" content="Alice Smith">
<meta property="article:published_time" content="2024-03-05T10:00:00Z">
</head><body>{BODY}</body></html>"""

JSON_LD_PAGE = f"""<!DOCTYPE html><html><head><title>Teasel harvests</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Teasel harvests", "datePublished": "2023-11-20T08:30:00+01:00",
"author": [{{"@type": "Person", "name": "Bob Jones"}}]}}</script>
</head><body>{BODY}</body></html>"""

BARE_PAGE = f"<!DOCTYPE html><html><head><title>Teasel</title></head><body>{BODY}</body></html>"

HOSTILE_PAGE = f"""<!DOCTYPE html><html><head><title>Teasel</title>
<meta name="author" content="Mallory \x1b[2J{"Very Long " * 100}Name">
<meta property="article:published_time" content="not a date at all">
</head><body>{BODY}</body></html>"""

FIXTURE_PDF = Path(__file__).parent.parent / "library" / "fixtures" / "lighthouses.pdf"


def pdf_with_info() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(FIXTURE_PDF))
    writer.add_metadata({"/Author": "Carol White", "/CreationDate": "D:20190704120000Z"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PAGES: dict[str, tuple[str, bytes]] = {
    "/meta.html": ("text/html; charset=utf-8", META_PAGE.encode()),
    "/json-ld.html": ("text/html; charset=utf-8", JSON_LD_PAGE.encode()),
    "/bare.html": ("text/html; charset=utf-8", BARE_PAGE.encode()),
    "/hostile.html": ("text/html; charset=utf-8", HOSTILE_PAGE.encode()),
    "/report.pdf": ("application/pdf", pdf_with_info()),
}


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ctype, body = PAGES.get(self.path, ("text/plain", b"not found"))
            self.send_response(200 if self.path in PAGES else 404)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def reader(library: LibraryProvider | None = None, **kw: Any) -> Reader:
    return Reader(library, timeout=5.0, max_bytes=2_000_000, allow_private=True, **kw)


def test_meta_tags_give_the_author_and_the_day_on_the_opened_event(site: str) -> None:
    url = f"{site}/meta.html"
    page = reader().read(url)
    assert (page.author, page.published) == ("Alice Smith", "2024-03-05")
    event = opened_event(1, url, "", None, page, (0,))
    assert (event.author, event.published) == ("Alice Smith", "2024-03-05")
    assert event.title == "Teasel harvests" and event.passages


def test_extraction_reads_json_ld() -> None:
    got = extract("https://news.example/teasel", "text/html", JSON_LD_PAGE.encode())
    assert (got.author, got.published) == ("Bob Jones", "2023-11-20")
    assert "rotating drum called a gig" in " ".join(p.text for p in got.passages)


def test_a_page_that_states_neither_gives_neither(site: str) -> None:
    page = reader().read(f"{site}/bare.html")
    assert (page.author, page.published) == ("", "")
    text = extract("https://x.example/notes.txt", "text/plain", b"Tide tables. " * 5)
    assert (text.author, text.published) == ("", "")


def test_a_lying_page_is_bounded(site: str) -> None:
    page = reader().read(f"{site}/hostile.html")
    assert page.published == ""  # "not a date at all"
    assert page.author.startswith("Mallory") and len(page.author) <= 200
    assert "\x1b" not in page.author and "  " not in page.author


def test_a_pdf_gives_its_document_information(site: str) -> None:
    url = f"{site}/report.pdf"
    page = reader().read(url)
    assert page.title == "Lighthouses of the Skerrow Coast"
    assert (page.author, page.published) == ("Carol White", "2019-07-04")
    event = opened_event(1, url, "", None, page, (0,))
    assert (event.author, event.published) == ("Carol White", "2019-07-04")


def test_a_stored_copy_opened_offline_leaves_them_empty(site: str, tmp_path: Path) -> None:
    library = LibraryProvider(Library(tmp_path / "library.sqlite3"))
    try:
        url = f"{site}/meta.html"
        assert reader(library).read(url).author == "Alice Smith"
        offline = reader(library, offline=lambda: True).read(url)
        assert offline.cached and offline.origin == "page"
        assert (offline.author, offline.published) == ("", "")
    finally:
        library.close()
