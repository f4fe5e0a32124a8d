"""Reading single documents: real files, real pypdf, the committed fixtures."""

from __future__ import annotations

import logging
import os
import random
import shutil
from pathlib import Path

import pytest
from pypdf import PdfWriter

from qwq_edge.errors import LibraryError
from qwq_edge.library.passages import SEP
from qwq_edge.library.readers import read_document

FIXTURES = Path(__file__).parent / "fixtures"
PDF = FIXTURES / "lighthouses.pdf"


def _no_output(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
    assert [r for r in caplog.records if r.name.startswith("pypdf")] == []


def _one_sentence(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message
    assert message.count(". ") == 0, message  # one sentence, not a paragraph


def test_markdown_title_and_heading_paths() -> None:
    title, parts = read_document(FIXTURES / "teasel-ale.md")
    assert title == "Brewing Guide for Teasel Ale"
    by_heading = {p.heading: p.text for p in parts}
    assert by_heading["Brewing Guide for Teasel Ale"].startswith("Teasel ale is a fictional")
    assert "Orrin bloom" in by_heading[f"Brewing Guide for Teasel Ale{SEP}Ingredients"]
    fermenting = f"Brewing Guide for Teasel Ale{SEP}Method{SEP}Fermenting"
    assert by_heading[fermenting] == "Ferment for nine days in a cool cellar before bottling."
    uri = (FIXTURES / "teasel-ale.md").resolve().as_uri()
    assert uri.startswith("file:///") and all(p.uri == uri for p in parts)
    assert all(p.title == title for p in parts)


def test_markdown_without_heading_takes_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "loose-notes.markdown"
    path.write_text("Just a paragraph about quinces.\n", encoding="utf-8")
    title, parts = read_document(path)
    assert title == "loose-notes"
    assert [p.text for p in parts] == ["Just a paragraph about quinces."]


def test_plain_text_paragraphs_and_stem_title() -> None:
    title, parts = read_document(FIXTURES / "marsh-notes.txt")
    assert title == "marsh-notes"
    assert len(parts) == 1  # three short paragraphs pack into one passage
    text = parts[0].text
    assert "four hundred and twelve avocets" in text and "Quellin sluice" in text
    assert parts[0].heading == ""


def test_html_title_text_without_script_or_style(tmp_path: Path) -> None:
    path = tmp_path / "page.HTM"  # suffixes are case-insensitive
    path.write_text(
        "<html><head><title>Kiln  Notes</title><style>p { color: red }</style></head><body>"
        "<script>var secret = 'do not index';</script>"
        "<h1>Firing</h1><p>Cone six reached in <b>eleven</b> hours.</p>"
        "<h2>Cooling</h2><p>Open the spy hole at 300 degrees.</p></body></html>",
        encoding="utf-8",
    )
    title, parts = read_document(path)
    assert title == "Kiln Notes"
    joined = " ".join(p.text for p in parts)
    assert "do not index" not in joined and "color" not in joined
    assert [(p.heading, p.text) for p in parts] == [
        ("Firing", "Cone six reached in eleven hours."),
        (f"Firing{SEP}Cooling", "Open the spy hole at 300 degrees."),
    ]


def test_stray_bytes_are_replaced_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"Caf\xe9 opening hours are nine to five.\n")
    _, parts = read_document(path)
    assert parts[0].text == "Caf\ufffd opening hours are nine to five."


def test_utf16_text_with_bom_is_text(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("Grüße aus Tromsø.".encode("utf-16"))
    _, parts = read_document(path)
    assert parts[0].text == "Grüße aus Tromsø."


def test_binary_named_txt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(b"ELF\x00\x01\x02" + bytes(range(256)))
    with pytest.raises(LibraryError) as err:
        read_document(path)
    assert str(err.value) == f"{path}: the file holds binary data, not text"


def test_pdf_pages_uris_and_fact_on_page_two() -> None:
    title, parts = read_document(PDF)
    assert title == "Lighthouses of the Skerrow Coast"  # from the PDF's metadata
    base = PDF.resolve().as_uri()
    assert [p.uri for p in parts] == [f"{base}#page={n}" for n in (1, 2, 3)]
    assert [p.heading for p in parts] == ["page 1", "page 2", "page 3"]
    fact = "The Varnholt lighthouse was lit for the first time in 1887 by keeper Ilse Brandvik."
    assert fact in parts[1].text
    assert "Varnholt" not in parts[0].text + parts[2].text
    assert "Gannet Reef" in parts[2].text


def test_pdf_without_metadata_title_takes_stem(tmp_path: Path) -> None:
    path = tmp_path / "untitled-report.pdf"
    path.write_bytes(PDF.read_bytes().replace(b"/Title (", b"/Xitle ("))
    title, parts = read_document(path)
    assert title == "untitled-report" and len(parts) == 3


@pytest.mark.parametrize("kind", ["random", "truncated", "empty", "header-only"])
def test_corrupt_pdf_is_one_sentence_and_silent(
    kind: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = {
        "random": random.Random(7).randbytes(3000),
        "truncated": PDF.read_bytes()[: len(PDF.read_bytes()) // 2],
        "empty": b"",
        "header-only": b"%PDF-1.7\n",
    }[kind]
    path = tmp_path / f"{kind}.pdf"
    path.write_bytes(data)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LibraryError) as err:
        read_document(path)
    message = str(err.value)
    assert message.startswith(f"{path}: the PDF could not be read (") and message.endswith(")")
    _one_sentence(message)
    _no_output(capsys, caplog)
    assert logging.getLogger("pypdf").level == logging.NOTSET  # put back after reading


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    path = tmp_path / "scan.pdf"
    with path.open("wb") as f:
        writer.write(f)
    with pytest.raises(LibraryError, match="has no text layer") as err:
        read_document(path)
    _one_sentence(str(err.value))


def _encrypted(tmp_path: Path, user_password: str) -> Path:
    writer = PdfWriter(clone_from=PDF)
    writer.encrypt(user_password, "owner-secret", algorithm="RC4-128")
    path = tmp_path / f"locked-{bool(user_password)}.pdf"
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_encrypted_pdf_with_empty_password_is_read(tmp_path: Path) -> None:
    _, parts = read_document(_encrypted(tmp_path, ""))
    assert "Ilse Brandvik" in parts[1].text


def test_encrypted_pdf_with_password_is_refused(tmp_path: Path) -> None:
    path = _encrypted(tmp_path, "hunter2")
    with pytest.raises(LibraryError) as err:
        read_document(path)
    assert str(err.value) == f"{path}: the PDF could not be read (it is encrypted with a password)"


def test_vanished_file(tmp_path: Path) -> None:
    for name in ("gone.txt", "gone.pdf"):
        with pytest.raises(LibraryError) as err:
            read_document(tmp_path / name)
        assert str(err.value) == f"{tmp_path / name}: the file vanished before it could be read"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, which reads any file whatever its mode: deny the open instead
    # (the reader opens through os.open, without blocking: a FIFO must not hang it).
    real_open = os.open

    def guarded(name: str, flags: int, *args: int, **kwargs: int) -> int:
        if os.path.basename(name).startswith("secret"):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    for name in ("secret.md", "secret.pdf"):
        shutil.copy(PDF, tmp_path / name)
    monkeypatch.setattr(os, "open", guarded)
    for name in ("secret.md", "secret.pdf"):
        path = tmp_path / name
        with pytest.raises(LibraryError) as err:
            read_document(path)
        assert str(err.value) == f"{path}: the file could not be read (permission denied)"


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(LibraryError, match=r"does not read \.xlsx"):
        read_document(path)
