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
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from qwq_edge.errors import LibraryError
from qwq_edge.library.passages import (
    Passage,
    html_blocks,
    markdown_blocks,
    passages,
    text_blocks,
)

if TYPE_CHECKING:
    from pypdf import PdfReader

SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf")
# A "text" file bigger than this is a log dump or a misnamed archive, not a document to
# cite; reading it whole would take that much memory at once.
MAX_TEXT_BYTES = 64 * 1024 * 1024
_REASON_CHARS = 160  # a reason quoted from pypdf is cut here (some embed whole objects)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def file_uri(path: Path) -> str:
    """What a citation opens: ``file:///ABS/PATH`` (a PDF page adds ``#page=N``)."""
    return path.resolve().as_uri()


def read_document(path: Path, *, uri: str | None = None) -> tuple[str, list[Passage]]:
    """The document's title and its passages. Raises ``LibraryError`` (one sentence) when the
    file cannot be read, is not text, or is a PDF without a text layer. ``uri``: the caller
    already knows ``file_uri(path)`` (a folder walk does, without resolving every path)."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        kind = suffix or "a file without a suffix"
        raise LibraryError(f"{path}: the library does not read {kind} ({', '.join(SUFFIXES)})")
    uri = uri or file_uri(path)
    if suffix == ".pdf":
        return _read_pdf(path, uri)
    text = _decode(path, _read_bytes(path))
    if suffix in (".md", ".markdown"):
        title, blocks = markdown_blocks(text)
    elif suffix in (".html", ".htm"):
        title, blocks = html_blocks(text)
    else:
        title, blocks = "", text_blocks(text)
    title = title or path.stem
    return title, passages(title, uri, blocks)


def _os_error(path: Path, exc: OSError) -> LibraryError:
    if isinstance(exc, FileNotFoundError):
        return LibraryError(f"{path}: the file vanished before it could be read")
    if isinstance(exc, PermissionError):
        return LibraryError(f"{path}: the file could not be read (permission denied)")
    if isinstance(exc, IsADirectoryError):
        return LibraryError(f"{path}: is a folder, not a document")
    return LibraryError(f"{path}: the file could not be read ({exc.strerror or exc})")


def _read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
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


def _read_pdf(path: Path, uri: str) -> tuple[str, list[Passage]]:
    # Check the file is there and readable first: a vanished or forbidden file should say
    # so, not surface as a pypdf parse error.
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise _os_error(path, exc) from None
    from pypdf import PdfReader  # lazy: pypdf is only needed once a PDF turns up

    with quiet_pypdf():
        try:
            reader = PdfReader(path, strict=False)
            _unlock(path, reader)
            title = _pdf_title(reader) or path.stem
            count = len(reader.pages)
        except LibraryError:
            raise
        except OSError as exc:
            raise _os_error(path, exc) from None
        except Exception as exc:  # pypdf raises many types on damaged files; all mean "unreadable"
            raise _unreadable(path, _reason(exc)) from None
        out: list[Passage] = []
        first_error = ""
        for n in range(1, count + 1):
            try:
                text = reader.pages[n - 1].extract_text()
            except Exception as exc:  # one damaged page does not cost the others
                first_error = first_error or f"page {n}: {_reason(exc)}"
                continue
            heading = f"page {n}"
            blocks = [(heading, para) for _, para in text_blocks(text)]
            out += passages(title, f"{uri}#page={n}", blocks)
    if not out:
        if first_error:
            raise _unreadable(path, first_error)
        raise LibraryError(
            f"{path}: the PDF has no text layer (a scanned document needs OCR first)"
        )
    return title, out


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
