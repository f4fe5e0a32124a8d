"""A fetched body into a title, passages under their headings, and the page's links.

HTML goes through trafilatura (Apache-2.0, made for main-text extraction and measured
against our own parser in ``bench/reading.py``): it drops navigation, sidebars, footers and
cookie banners, and its Markdown output keeps headings, lists and tables as text, which
``markdown_blocks`` turns into heading paths. It runs with ``favor_recall``: without it,
lists whose items hold links were dropped as if they were menus, up to a fifth of the text
of sqlite.org's pages in the bench, and recall mode let no more furniture through there.
When it finds no main text (a page that is mostly a table of links, say), the library's
plain HTML reader is the fallback. PDFs are read with pypdf page by page; plain text as
paragraphs. The charset is the server's, else the page's own declaration, else
charset-normalizer's guess. The author and publication date a page states (for a report's
bibliography) come from its metadata: meta tags and JSON-LD as trafilatura reads them, the
date by htmldate (trafilatura's own date finder); a PDF's from its document information.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from qwq_edge.errors import ReadError
from qwq_edge.library.passages import (
    Block,
    Passage,
    html_blocks,
    markdown_blocks,
    passages,
    text_blocks,
)
from qwq_edge.text import printable

MIN_WORDS = 5  # fewer words than this in the main text: nothing to read
MAX_LINKS = 400  # links kept per page (what the model may open next)
MAX_PDF_PAGES = 300  # pages read from one PDF; the rest are left out
MAX_PAGE_CHARS = 20_000  # text kept per PDF page (a crafted page can hold megabytes)
MAX_AUTHOR = 200  # characters kept of the author a page states
_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.I)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_MARKUP_STARS = re.compile(r"(?<!\\)\*+")
_WESTERN = ("cp1252", "latin_1", "iso8859_15")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")


@dataclass(frozen=True)
class Extracted:
    title: str
    passages: tuple[Passage, ...]
    links: tuple[str, ...]
    kind: str  # "html", "pdf" or "text"
    author: str = ""  # as the page's metadata states it ("" when it does not)
    published: str = ""  # the publication date it states: "2024-03-05", "2024-03", "2024"


def kind_of(content_type: str, body: bytes) -> str:
    """What the body is: by its declared type, else by sniffing its first bytes."""
    if content_type == "application/pdf" or body[:5] == b"%PDF-":
        return "pdf"
    if content_type in _HTML_TYPES:
        return "html"
    if content_type in _TEXT_TYPES:
        return "text"
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if not content_type or content_type.startswith("text/"):
        return "text" if b"\x00" not in body[:4096] else "binary"
    return "binary"


def decode(body: bytes, charset: str | None) -> str:
    """Text from bytes: the declared charset, the page's own ``<meta charset>``, or a guess."""
    for name in (charset, _meta_charset(body)):
        if name:
            try:
                return body.decode(name, errors="replace")
            except (LookupError, UnicodeError, ValueError):
                continue  # an unknown name, or a codec that is not a charset (idna): guess
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes  # lazy: only for pages that are not UTF-8

        matches = from_bytes(body[: 256 * 1024])
        names = [m.encoding for m in matches]
        # A short page fits several single-byte charsets equally well; where Windows-1252
        # is one of them, take it (the web's default when nothing is declared, per WHATWG).
        western = next((n for n in names if n in _WESTERN), None)
        best = matches.best()
        name = "cp1252" if western else best.encoding if best else "utf-8"
        return body.decode(name, errors="replace")


def _meta_charset(body: bytes) -> str | None:
    m = _META_CHARSET.search(body[:4096])
    return m.group(1).decode("ascii", "ignore") if m else None


def extract(url: str, content_type: str, body: bytes, charset: str | None = None) -> Extracted:
    """The page's title, passages (each citing ``url``) and links. Raises ``ReadError``
    (kind ``unreadable``) for a binary file, a PDF that will not parse, or no text at all."""
    kind = kind_of(content_type, body)
    if kind == "pdf":
        return read_pdf(url, body)
    if kind == "binary":
        what = content_type or "binary data"
        raise ReadError(f"the page is not text or a PDF ({what})", "unreadable")
    text = decode(body, charset)
    links: tuple[str, ...] = ()
    author = published = ""
    if kind == "text":
        parts = passages(_stem_of(url), url, text_blocks(text))
        title = _stem_of(url)
    else:
        tree = _tree(text)
        links = page_links(tree, url)  # before trafilatura, which prunes the tree
        author, published = page_metadata(tree, url)
        title, blocks = _main(tree, text, url, favor_recall=True)
        parts = passages(title, url, blocks)
    if sum(len(p.text.split()) for p in parts) < MIN_WORDS:  # a lone "Home" link is not text
        raise ReadError("the page has no main text to read", "unreadable")
    return Extracted(title, tuple(parts), links, kind, author, published)


def page_metadata(tree: Any, url: str = "") -> tuple[str, str]:
    """The author and the publication date (ISO) the page states, ``""`` for either it does
    not: meta tags (OpenGraph, ``author``, ``article:author``) and JSON-LD as trafilatura
    reads them; the date by htmldate from the head, JSON-LD, the URL, else dated elements.
    Not trafilatura's ``extract_metadata`` whole: its byline search copies the tree to guess
    from the body (0.3 s on a 1 MB page), and it finds titles and tags this does not need."""
    if tree is None:
        return "", ""
    try:
        from trafilatura.metadata import examine_meta, extract_meta_json

        meta = examine_meta(tree)
        if meta.author and " " not in meta.author:  # "admin", a handle (trafilatura's rule)
            meta.author = None
        meta = extract_meta_json(tree, meta)
        author = _bounded(str(meta.author or ""), MAX_AUTHOR)
    except Exception:  # trafilatura's own bugs on odd metadata: none stated
        author = ""
    try:
        from htmldate import find_date

        found = find_date(
            tree, extensive_search=False, original_date=True, url=url or None,
            deferred_url_extractor=True,
        )  # fmt: skip
        published = found if found and _ISO_DATE.match(found) else ""
    except Exception:
        published = ""
    return author, published


def _bounded(text: str, limit: int) -> str:
    return " ".join(printable(text).split())[:limit].strip()


def html_main(html: str, url: str = "", *, favor_recall: bool = True) -> tuple[str, list[Block]]:
    """The main text of an HTML page as heading-path blocks, and its title
    (``favor_recall=False``: trafilatura's default, which the bench compares against)."""
    return _main(_tree(html), html, url, favor_recall=favor_recall)


def _tree(html: str) -> Any:
    """The page parsed once by lxml (C, linear in the page: no regex over hostile HTML), or
    None when it will not parse."""
    import lxml.html  # type: ignore[import-untyped]  # lazy, with trafilatura

    try:
        return lxml.html.document_fromstring(html)
    except Exception:  # lxml's errors on junk (empty, only comments, bad encodings)
        return None


def _main(tree: Any, html: str, url: str, *, favor_recall: bool) -> tuple[str, list[Block]]:
    import trafilatura  # lazy: lxml and its friends cost ~0.3 s to import

    title = _title(tree)
    try:
        markdown = trafilatura.extract(
            tree if tree is not None else html,
            url=url or None,
            output_format="markdown",
            include_tables=True,
            include_formatting=True,
            include_links=False,
            include_images=False,
            include_comments=False,
            deduplicate=False,
            favor_recall=favor_recall,
        )
    except Exception:  # a page trafilatura cannot take apart: the plain reader below
        markdown = None
    blocks: list[Block] = []
    if markdown:
        h1, blocks = markdown_blocks(plain(markdown))
        title = title or h1
    if not blocks:  # no main text found: every visible block but navigation and footers
        fallback_title, blocks = html_blocks(html)
        title = title or fallback_title
    return title or _stem_of(url), blocks


def plain(markdown: str) -> str:
    """Markdown with its inline markup undone, headings, lists and tables kept: the model
    reads ``lru_cache(maxsize=128)``, not ``lru\\_cache(*maxsize=128*)``, and the tokens go
    to the text. Sphinx's permalink marks (¶) go too. Linear: trafilatura escapes a literal
    star (``\\*``), so every unescaped one is emphasis, dropped before unescaping."""
    text = _MARKUP_STARS.sub("", markdown.replace("¶", ""))
    return _ESCAPE.sub(r"\1", text)


def _title(tree: Any) -> str:
    title = tree.findtext(".//title") if tree is not None else None
    return " ".join(str(title).split())[:500] if title else ""


def page_links(tree: Any, base: str) -> tuple[str, ...]:
    """The page's http(s) links, absolute, fragments dropped, in order, without repeats."""
    out: dict[str, None] = {}
    for a in tree.iter("a") if tree is not None else ():
        href = str(a.get("href") or "").strip()
        if not href:
            continue
        try:
            parts = urlsplit(urljoin(base, href))
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.netloc:
            out.setdefault(urlunsplit(parts._replace(fragment="")), None)
            if len(out) >= MAX_LINKS:
                break
    return tuple(out)


def read_pdf(url: str, body: bytes) -> Extracted:
    """A PDF's passages, each citing ``URL#page=N``, with its document information's title,
    author and creation date."""
    from pypdf import PdfReader  # lazy, as in library/readers.py

    from qwq_edge.library.readers import quiet_pypdf

    with quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(body), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ReadError("the PDF is encrypted with a password", "unreadable")
            meta = reader.metadata
            title = " ".join(str(meta.title).split()) if meta is not None and meta.title else ""
            author, published = _pdf_info(meta)
            pages = reader.pages[:MAX_PDF_PAGES]
        except ReadError:
            raise
        except Exception as exc:  # pypdf raises many types on damaged files
            raise ReadError(
                f"the PDF could not be read ({type(exc).__name__})", "unreadable"
            ) from None
        title = title or _stem_of(url)
        out: list[Passage] = []
        for n, page in enumerate(pages, start=1):
            try:
                text = page.extract_text()[:MAX_PAGE_CHARS]
            except Exception:  # one damaged page does not cost the others
                continue
            blocks = [(f"page {n}", para) for _, para in text_blocks(text)]
            out += passages(title, f"{url}#page={n}", blocks)
    if not out:
        raise ReadError("the PDF has no text layer (a scanned document needs OCR)", "unreadable")
    return Extracted(title, tuple(out), (), "pdf", author, published)


def _pdf_info(meta: Any) -> tuple[str, str]:
    """``/Author`` and ``/CreationDate`` (an ISO day), "" for either absent or malformed:
    a damaged document information costs the bibliography, not the reading."""
    if meta is None:
        return "", ""
    try:
        author = _bounded(str(meta.author or ""), MAX_AUTHOR)
    except Exception:
        author = ""
    try:
        when = meta.creation_date
        published = f"{when:%Y-%m-%d}" if when is not None and when.year > 1 else ""
    except Exception:  # pypdf raises on a date string it cannot parse
        published = ""
    return author, published


def _stem_of(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or urlsplit(url).netloc or url
