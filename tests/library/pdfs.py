"""Hostile PDFs for the library's bounds, built with pypdf: tiny files whose pages draw
megabytes of text (issue 28: a 26 KB PDF whose 20 pages share one 6 MiB content stream)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

LINE = b"BT /F1 10 Tf 10 700 Td (lorem ipsum dolor sit amet consectetur adipiscing) Tj ET\n"


def _font(writer: PdfWriter) -> DictionaryObject:
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    return DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )


def text_stream_pdf(path: Path, pages: int, mib: float, *, shared: bool) -> Path:
    """``pages`` pages, each drawing ``mib`` MiB of text operators: one compressed content
    stream that every page points at (``shared``), or one stream of its own per page."""
    writer = PdfWriter()
    resources = _font(writer)
    data = LINE * int(mib * 2**20 // len(LINE))

    def stream() -> object:
        raw = DecodedStreamObject()
        raw.set_data(data)
        return writer._add_object(raw.flate_encode())

    one = stream() if shared else None
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = one if one is not None else stream()
        page[NameObject("/Resources")] = resources
    with path.open("wb") as f:
        writer.write(f)
    return path
