"""Read one document from disk (Markdown, plain text, HTML or PDF) into a title and passages.

Every failure is a ``LibraryError`` whose message is one sentence naming the file, so a folder
index can count the file as failed, give the reason and carry on with the next one.

Text is decoded as UTF-8 with replacement characters: one stray Latin-1 byte in a
ten-year-old notes file must not cost the whole file. A file with NUL bytes is binary junk
wearing a text suffix (UTF-16 text, told apart by its byte-order mark, is the exception).

PDFs are read with pypdf (BSD, pure Python; docs/architecture.md, "The library"),
imported on first use so that starting the program stays fast. pypdf reports the robustness
fixes it applies to a damaged file through ``logging``; with no handler configured those
lines would land on the terminal in the middle of a progress display, so its logger is
silenced while a PDF is read.

A document is bounded (issue 28: a 26 KB PDF whose 20 pages share one 6 MiB content stream
took 148 s and made 61,440 passages): pages that repeat an earlier page's content are read
once, a page's drawing instructions over ``MAX_PAGE_CONTENT`` are not parsed, and text stops
at ``MAX_PAGE_CHARS`` a page, ``MAX_DOC_CHARS`` and ``MAX_PASSAGES`` a document. What was
left out is said in ``notes``. A ``stop`` flag is checked between pages and while a page's
text is gathered, so Ctrl+C does not wait for a long document.

A file is opened without blocking and must then be a regular file: a FIFO swapped in for a
document after the folder walk would otherwise hold the read (and Ctrl+C) forever.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from qwq_edge.errors import LibraryError
from qwq_edge.library.passages import (
    MAX_PASSAGES,
    Passage,
    html_blocks,
    markdown_blocks,
    passages,
    text_blocks,
)

if TYPE_CHECKING:
    from pypdf import PageObject, PdfReader

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# A "text" file bigger than this is a log dump or a misnamed archive, not a document to
# cite; reading it whole would take that much memory at once.
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAX_DOC_CHARS = 10_000_000  # text read from one document (a long book has about 3M)
MAX_PAGE_CHARS = 100_000  # text read from one PDF page (a dense page has about 5,000)
MAX_PAGE_CONTENT = 4 * 2**20  # a PDF page with more drawing instructions is not parsed
MAX_PDF_CONTENT = 64 * 2**20  # ... nor the pages after this much of them in one PDF
_REASON_CHARS = 160  # a reason quoted from pypdf is cut here (some embed whole objects)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def file_uri(path: Path) -> str:
    """What a citation opens: ``file:///ABS/PATH`` (a PDF page adds ``#page=N``)."""
    return path.resolve().as_uri()


class Stopped(Exception):
    """The caller's ``stop`` flag was set while a document was being read."""


def read_document(
    path: Path,
    *,
    uri: str | None = None,
    stop: threading.Event | None = None,
    notes: list[str] | None = None,
    follow: bool = True,
) -> tuple[str, list[Passage]]:
    """The document's title and its passages. Raises ``LibraryError`` (one sentence) when the
    file cannot be read, is not a regular file, is not text, or is a PDF without a text
    layer, and ``Stopped`` when ``stop`` is set meanwhile. ``uri``: the caller already knows
    ``file_uri(path)`` (a folder walk does, without resolving every path). ``notes`` gets
    what was left out of a document too long to read whole; ``follow=False``: a symlink is
    refused (the caller checked that the path was none)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        kind = suffix or "a file without a suffix"
        raise LibraryError(f"{path}: the library does not read {kind} ({', '.join(SUFFIXES)})")
    uri = uri or file_uri(path)
    cut: list[str] = []
    if suffix == ".pdf":
        title, parts = _read_pdf(path, uri, stop, cut, follow)
    else:
        text = _decode(path, _read_bytes(path, follow))
        if len(text) > MAX_DOC_CHARS:
            text = text[:MAX_DOC_CHARS]
            cut.append(f"the text after its first {MAX_DOC_CHARS:,} characters was left out")
        _check(stop)
        if suffix in (".md", ".markdown"):
            title, blocks = markdown_blocks(text)
        elif suffix in (".html", ".htm"):
            title, blocks = html_blocks(text)
        else:
            title, blocks = "", text_blocks(text)
        title = title or path.stem
        parts = passages(title, uri, blocks)
    if len(parts) > MAX_PASSAGES:
        parts = parts[:MAX_PASSAGES]
        cut.append(f"only its first {MAX_PASSAGES:,} passages were kept")
    if cut and notes is not None:
        notes.append("cut: " + "; ".join(cut))
    return title, parts


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Stopped


_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


@contextmanager
def _open(path: Path, follow: bool) -> Iterator[IO[bytes]]:
    """``path`` opened for reading, if it is a regular file: opening does not block (a FIFO
    would wait for a writer), and the open file is checked, not the name (no race)."""
    flags = _FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    try:
        f = open(path, "rb", opener=lambda name, _: os.open(name, flags))  # noqa: SIM115
    except OSError as exc:
        raise _os_error(path, exc) from None
    with f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise LibraryError(f"{path}: is not a regular file (a pipe, socket or device)")
        yield f


def _os_error(path: Path, exc: OSError) -> LibraryError:
    if isinstance(exc, FileNotFoundError):
        return LibraryError(f"{path}: the file vanished before it could be read")
    if isinstance(exc, PermissionError):
        return LibraryError(f"{path}: the file could not be read (permission denied)")
    if isinstance(exc, IsADirectoryError):
        return LibraryError(f"{path}: is a folder, not a document")
    if exc.errno == getattr(os, "ELOOP", -1):
        return LibraryError(f"{path}: became a symbolic link while the folder was read")
    return LibraryError(f"{path}: the file could not be read ({exc.strerror or exc})")


def _read_bytes(path: Path, follow: bool = True) -> bytes:
    with _open(path, follow) as f:
        try:
            data = f.read(MAX_TEXT_BYTES + 1)
        except OSError as exc:
            raise _os_error(path, exc) from None
    if len(data) > MAX_TEXT_BYTES:
        raise LibraryError(
            f"{path}: the file is over {MAX_TEXT_BYTES // 2**20} MiB, too large to index as text"
        )
    return data


def _decode(path: Path, data: bytes) -> str:
    if data.startswith(_UTF16_BOMS):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data:
        raise LibraryError(f"{path}: the file holds binary data, not text")
    return data.decode("utf-8-sig", errors="replace")  # -sig: drop a BOM Notepad may add


# pypdf's logger is shared by every thread that reads a PDF: count the readers, so the
# level goes back only when the last one finishes (and is not left raised for good).
_quiet_lock = threading.Lock()
_quiet_count = 0
_quiet_level = logging.NOTSET


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's warnings about damaged files while a PDF is read. Its module loggers
    (``pypdf._reader`` …) inherit the level of ``pypdf``, so raising that one is enough."""
    global _quiet_count, _quiet_level
    logger = logging.getLogger("pypdf")
    with _quiet_lock:
        if _quiet_count == 0:
            _quiet_level = logger.level
            logger.setLevel(logging.CRITICAL + 1)
        _quiet_count += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_count -= 1
            if _quiet_count == 0:
                logger.setLevel(_quiet_level)


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _REASON_CHARS else text[: _REASON_CHARS - 1] + "…"


def _unreadable(path: Path, reason: str) -> LibraryError:
    return LibraryError(f"{path}: the PDF could not be read ({reason})")


def _read_pdf(
    path: Path, uri: str, stop: threading.Event | None, cut: list[str], follow: bool
) -> tuple[str, list[Passage]]:
    from pypdf import PdfReader  # lazy: pypdf is only needed once a PDF turns up

    # The file is opened first: a vanished, forbidden or special file should say so, not
    # surface as a pypdf parse error.
    with _open(path, follow) as f, quiet_pypdf():
        try:
            reader = PdfReader(f, strict=False)
            _unlock(path, reader)
            title = _pdf_title(reader) or path.stem
            count = len(reader.pages)
        except LibraryError:
            raise
        except OSError as exc:
            raise _os_error(path, exc) from None
        except Exception as exc:  # pypdf raises many types on damaged files; all mean "unreadable"
            raise _unreadable(path, _reason(exc)) from None
        out, first_error = _pdf_pages(reader, count, title, uri, stop, cut)
    if not out:
        if first_error:
            raise _unreadable(path, first_error)
        if cut:
            raise LibraryError(f"{path}: no text was read from the PDF ({'; '.join(cut)})")
        raise LibraryError(
            f"{path}: the PDF has no text layer (a scanned document needs OCR first)"
        )
    return title, out


def _pdf_pages(
    reader: PdfReader,
    count: int,
    title: str,
    uri: str,
    stop: threading.Event | None,
    cut: list[str],
) -> tuple[list[Passage], str]:
    """Every page's passages within the bounds (what was left out goes to ``cut``), and
    the first page error."""
    out: list[Passage] = []
    first_error = ""
    seen: dict[tuple[int, ...], int] = {}  # content objects -> the page that had them
    repeated: list[int] = []
    big: list[int] = []
    chars = content = 0
    for n in range(1, count + 1):
        _check(stop)
        if chars >= MAX_DOC_CHARS or len(out) >= MAX_PASSAGES or content >= MAX_PDF_CONTENT:
            why = "text" if chars >= MAX_DOC_CHARS or len(out) >= MAX_PASSAGES else "content"
            cut.append(f"pages {n}–{count} were not read (the PDF's {why} reached its limit)")
            break
        try:
            page = reader.pages[n - 1]
            key = _content_key(page)
            if key is not None and key in seen:
                repeated.append(n)  # the same drawing instructions: the same text again
                continue
            if key is not None:
                seen[key] = n
            size = _content_size(page)
            if size > MAX_PAGE_CONTENT:
                big.append(n)
                continue
            content += size
            text, full = _page_text(page, stop, min(MAX_PAGE_CHARS, MAX_DOC_CHARS - chars))
        except Stopped:
            raise
        except Exception as exc:  # one damaged page does not cost the others
            first_error = first_error or f"page {n}: {_reason(exc)}"
            continue
        if not full:
            cut.append(f"page {n} was cut at {len(text):,} characters")
        chars += len(text)
        blocks = [(f"page {n}", para) for _, para in text_blocks(text)]
        out += passages(title, f"{uri}#page={n}", blocks)
    if big:
        mib = MAX_PAGE_CONTENT // 2**20
        has, was = ("has", "was") if len(big) == 1 else ("have", "were")
        cut.append(f"{_pages(big)} {has} over {mib} MiB of drawing instructions and {was} skipped")
    if repeated and (cut or not out):  # worth saying only beside a cut (no text was lost)
        cut.append(
            f"{_pages(repeated)} {'repeats' if len(repeated) == 1 else 'repeat'} an earlier "
            f"page's content and {'was' if len(repeated) == 1 else 'were'} not read again"
        )
    return out, first_error


def _pages(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"page {numbers[0]}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"pages {numbers[0]}–{numbers[-1]}"
    shown = ", ".join(map(str, numbers[:5]))
    return f"pages {shown}" + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


def _content_key(page: PageObject) -> tuple[int, ...] | None:
    """The objects that hold the page's drawing instructions (None: held inline)."""
    raw: Any = page.raw_get("/Contents") if "/Contents" in page else None
    refs = list(raw) if isinstance(raw, list) else [raw]
    nums = [n for r in refs if isinstance(n := getattr(r, "idnum", None), int)]
    return tuple(nums) if nums and len(nums) == len(refs) else None


def _content_size(page: PageObject) -> int:
    """Bytes of drawing instructions pypdf would parse for the page's text: its content
    stream and the form XObjects it draws directly."""
    contents = page.get_contents()  # a damaged stream fails here, as extracting would
    size = len(contents.get_data()) if contents is not None else 0
    try:  # odd resources are for extract_text to judge, not a reason to skip the page
        resources: Any = page.get("/Resources")
        forms: Any = resources.get_object().get("/XObject") if resources is not None else None
        for ref in (forms.get_object() or {}).values() if forms is not None else ():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Form":
                size += len(obj.get_data())
    except Exception:
        pass
    return size


class _Full(Exception):
    pass


def _page_text(page: PageObject, stop: threading.Event | None, limit: int) -> tuple[str, bool]:
    """The page's text, and whether it is whole: gathering stops at ``limit`` characters
    (pypdf hands each piece of text to the visitor, so this bounds the page's time too)."""
    pieces: list[str] = []
    size = 0

    def visit(text: str, *_: object) -> None:
        nonlocal size
        _check(stop)
        pieces.append(text)
        size += len(text)
        if size > limit:
            raise _Full

    try:
        return page.extract_text(visitor_text=visit), True
    except _Full:
        return "".join(pieces)[:limit], False


def _unlock(path: Path, reader: PdfReader) -> None:
    """An encrypted PDF opens if its user password is empty (common: "no copying" PDFs);
    anything else cannot be indexed without the password."""
    if not reader.is_encrypted:
        return
    if not reader.decrypt(""):
        raise _unreadable(path, "it is encrypted with a password")


def _pdf_title(reader: PdfReader) -> str:
    try:
        meta = reader.metadata
        title = meta.title if meta is not None else None
    except Exception:  # a damaged Info dictionary only costs the title
        return ""
    return " ".join(str(title).split()) if title else ""
