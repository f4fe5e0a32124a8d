"""Opening sources through the real reader: real HTTP on 127.0.0.1 (tests/support/
page_server.py), the real library (SQLite FTS5), trafilatura and pypdf; every failure one
sentence with its kind, and every refusal the policy makes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwq_edge.errors import ReadError
from qwq_edge.library.index import Library
from qwq_edge.library.pages import stored_page
from qwq_edge.library.provider import LibraryProvider
from qwq_edge.reading import fetch as fetch_module
from qwq_edge.reading import peer
from qwq_edge.reading.fetch import check_url
from qwq_edge.reading.reader import Reader
from tests.support.page_server import PageServer


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with PageServer(drip_interval=0.5) as server:
        yield server


@pytest.fixture
def library(tmp_path: Path) -> Iterator[LibraryProvider]:
    provider = LibraryProvider(Library(tmp_path / "library.sqlite3"))
    yield provider
    provider.close()


def reader(library: LibraryProvider | None = None, **kw: object) -> Reader:
    opts: dict[str, object] = {"timeout": 5.0, "max_bytes": 2_000_000, "allow_private": True}
    opts.update(kw)
    return Reader(library, **opts)  # type: ignore[arg-type]


def failure(r: Reader, url: str) -> ReadError:
    with pytest.raises(ReadError) as err:
        r.read(url)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return err.value


def test_a_page_keeps_main_text_and_drops_furniture(site: PageServer) -> None:
    page = reader().read(site.url("/teasel.html"))
    text = " ".join(p.text for p in page.passages)
    assert page.title == "Teasel — Plant Notes"
    assert "rotating drum called a gig" in text
    assert "Somerset" in text and "1,800" in text  # the table kept as text
    for furniture in ("Accept all cookies", "All rights reserved", "Related plants", "About us"):
        assert furniture not in text
    headings = {p.heading for p in page.passages}
    assert "Teasel › Industrial use" in headings
    assert "https://example.org/teasel-history" in page.links
    assert page.origin == "web" and not page.cached and page.fetch_seconds > 0


def test_a_fetched_page_joins_the_library_and_opens_offline(
    site: PageServer, library: LibraryProvider
) -> None:
    url = site.url("/teasel.html")
    reader(library).read(url)
    assert library.library is not None
    stored = stored_page(library.library, url)
    assert stored is not None and stored[0] == "Teasel — Plant Notes"
    # found by words at once, as a library search (origin "page")
    hits = library.search("woollen mills gig drum", max_results=3).hits
    assert hits and hits[0].url == url and hits[0].origin == "page"
    before = dict(site.hits)
    offline = reader(library, offline=lambda: True).read(url)
    assert offline.cached and offline.origin == "page"
    assert [p.text for p in offline.passages] == [p.text for p in stored[1]]
    assert site.hits == before  # not one request


def test_offline_without_a_copy_is_one_sentence(site: PageServer) -> None:
    err = failure(reader(offline=lambda: True), site.url("/teasel.html"))
    assert err.kind == "offline"
    assert str(err) == "offline, and this page was never opened before"


def test_pdf_over_http_cites_its_pages(site: PageServer) -> None:
    page = reader().read(site.url("/lighthouses.pdf"))
    assert page.title == "Lighthouses of the Skerrow Coast"
    assert page.passages[1].uri.endswith("/lighthouses.pdf#page=2")
    assert "Ilse Brandvik" in page.passages[1].text


def test_plain_text_and_a_latin1_page(site: PageServer) -> None:
    tides = reader().read(site.url("/tides.txt"))
    assert "18:40" in tides.passages[0].text
    cafe = reader().read(site.url("/latin1.html"))
    assert "crème brûlée" in cafe.passages[0].text


@pytest.mark.parametrize(
    ("path", "kind", "words"),
    [
        ("/missing.html", "http", "the page answered HTTP 404 (Not Found)"),
        ("/busy", "http", "it asked to wait 30 s"),
        ("/binary", "unreadable", "not text or a PDF"),
        ("/loop", "http", "redirected more than 5 times"),
        ("/empty.html", "unreadable", "no main text"),
        ("/to-file", "refused", "only http and https pages can be fetched, not file:"),
    ],
)
def test_bad_pages_are_one_sentence(site: PageServer, path: str, kind: str, words: str) -> None:
    err = failure(reader(), site.url(path))
    assert err.kind == kind
    assert words in str(err)


def test_a_slow_drip_ends_at_the_deadline(site: PageServer) -> None:
    t0 = time.monotonic()
    err = failure(reader(timeout=1.5), site.url("/drip.html"))
    assert err.kind == "timeout" and time.monotonic() - t0 < 5


def test_a_huge_page_is_read_to_the_cap(site: PageServer) -> None:
    page = reader(max_bytes=200_000).read(site.url("/huge.html"))
    assert page.cut == 200_000
    assert sum(len(p.text) for p in page.passages) < 200_000


def test_a_gzip_bomb_is_capped_after_decompression(site: PageServer) -> None:
    page = reader(max_bytes=300_000).read(site.url("/bomb.html"))
    assert page.cut == 300_000
    assert sum(len(p.text) for p in page.passages) <= 300_000


def test_a_redirect_follows_and_keeps_the_asked_url(
    site: PageServer, library: LibraryProvider
) -> None:
    url = site.url("/moved")
    page = reader(library).read(url)
    assert page.title == "Teasel — Plant Notes"
    assert library.library is not None and stored_page(library.library, url) is not None


def test_private_addresses_are_refused_by_default(site: PageServer) -> None:
    err = failure(reader(allow_private=False), site.url("/teasel.html"))
    assert err.kind == "refused" and "open_allow_private" in str(err)
    for url in (
        "http://10.1.2.3/",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
        "http://0.0.0.0/",
    ):
        with pytest.raises(ReadError) as refused:
            check_url(url, allow_private=False)
        assert refused.value.kind == "refused"


def _public_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.1 taken for a public address (the test site's), every other address as is."""
    real = peer.public
    monkeypatch.setattr(peer, "public", lambda ip: ip == "127.0.0.1" or real(ip))


def test_every_redirect_hop_is_checked(site: PageServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first host passes (taken as public here); its redirect to 127.0.0.2, another
    loopback address, is refused before any connection."""
    _public_here(monkeypatch)
    before = site.hits.get("/teasel.html", 0)
    err = failure(reader(allow_private=False), site.url("/to-loopback-2"))
    assert err.kind == "refused" and "127.0.0.2 is on a private network" in str(err)
    assert site.hits.get("/teasel.html", 0) == before


def test_a_name_that_turns_private_after_the_check_gets_nothing_sent(
    site: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the check saw a public address (as a zero-TTL name would answer),
    the connection reached a private one. It is closed before the request is written."""
    monkeypatch.setattr(fetch_module, "private_address", lambda host: None)
    before = dict(site.hits)
    err = failure(reader(allow_private=False), site.url("/teasel.html"))
    assert err.kind == "refused" and "led to 127.0.0.1, a private address" in str(err)
    assert site.hits == before  # not one request reached the server


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,hi", "ftp://example.org/x", "gopher://x/"]
)
def test_other_schemes_are_refused(url: str) -> None:
    err = failure(reader(), url)
    assert err.kind == "refused"


def test_files_outside_the_library_are_refused(library: LibraryProvider) -> None:
    err = failure(reader(library), "file:///etc/passwd")
    assert err.kind == "refused" and "/etc/passwd is not in the library" in str(err)
    assert failure(reader(None), "file:///etc/passwd").kind == "refused"


@pytest.mark.parametrize(
    ("url", "kind", "words"),
    [
        ("http://127.0.0.1:9\\@8.8.8.8/", "refused", "backslashes"),  # urllib3 sees 127.0.0.1
        ("http://user:secret@example.org/", "refused", "user name or password"),
        ("http://evil.example@127.0.0.1/", "refused", "user name or password"),
        ("http://100.64.0.1/", "refused", "private network"),  # shared space (CGNAT)
        ("http://[x/", "invalid", "not a valid"),
    ],
)
def test_urls_that_hide_their_host_are_refused(url: str, kind: str, words: str) -> None:
    err = failure(reader(allow_private=False), url)
    assert err.kind == kind and words in str(err)
    assert "secret" not in str(err)


def test_a_charset_that_is_not_one_is_guessed_instead() -> None:
    from qwq_edge.reading.extract import extract

    body = "<html><body><main><p>Caf\xe9 notes about the harbour and its boats.</p></main>"
    page = extract("http://x/", "text/html", body.encode("latin-1"), charset="idna")
    assert "Café" in page.passages[0].text
