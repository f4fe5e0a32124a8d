"""Indexing document folders: real files in tmp_path, real SQLite FTS5, real pypdf."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.errors import LibraryError
from qwq_edge.library.folders import index_folder
from qwq_edge.library.index import Library
from qwq_edge.library.passages import Passage
from qwq_edge.library.readers import read_document

FIXTURES = Path(__file__).parent / "fixtures"
READER = "qwq_edge.library.folders.read_document"  # what the folder walk calls
VARNHOLT = "who lit the Varnholt lighthouse first?"


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(tmp_path / "db" / "library.sqlite")
    yield lib
    lib.close()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """The three fixtures, a nested folder, and things the walk must skip."""
    root = tmp_path / "docs"
    (root / "coast").mkdir(parents=True)
    shutil.copy(FIXTURES / "lighthouses.pdf", root / "coast" / "lighthouses.pdf")
    shutil.copy(FIXTURES / "marsh-notes.txt", root / "marsh-notes.txt")
    shutil.copy(FIXTURES / "teasel-ale.md", root / "Teasel-Ale.MD")  # suffix case-insensitive
    (root / ".git").mkdir()
    (root / ".git" / "notes.md").write_text("# Hidden\n\nzzhiddenword\n")
    (root / ".draft.md").write_text("# Draft\n\nzzhiddenword\n")
    (root / "photo.png").write_bytes(b"\x89PNG\r\n")
    return root


def _touch(path: Path, text: str, bump: float) -> None:
    """Rewrite a file and move its mtime clearly forward (coarse filesystem clocks)."""
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime + bump
    os.utime(path, (stamp, stamp))


def _uris(library: Library, query: str) -> list[str]:
    return [hit.url for hit in library.search(query)]


def test_first_index_then_search_finds_the_pdf_page(library: Library, docs: Path) -> None:
    report = index_folder(library, "docs", docs)
    assert (report.seen, report.added, report.updated, report.unchanged) == (3, 3, 0, 0)
    # 3 PDF pages + 1 passage of marsh notes + 4 Markdown sections with text
    assert report.passages == 8
    assert (report.removed, report.failed, report.stopped) == (0, [], False)
    assert set(library.known("docs")) == {"coast/lighthouses.pdf", "marsh-notes.txt",
                                          "Teasel-Ale.MD"}  # fmt: skip
    hits = library.search(VARNHOLT)
    page2 = (docs / "coast" / "lighthouses.pdf").resolve().as_uri() + "#page=2"
    assert hits[0].url == page2 and hits[0].origin == "file"
    assert "Ilse Brandvik" in hits[0].content
    assert library.search("zzhiddenword") == []  # hidden files and folders are not indexed
    info = library.source("docs")
    assert (info.kind, info.path) == ("folder", str(docs.resolve()))
    assert (info.complete, info.failed) == (True, 0)
    assert (info.documents, info.passages) == (3, 8)


def test_second_run_changes_nothing(library: Library, docs: Path) -> None:
    index_folder(library, "docs", docs)
    report = index_folder(library, "docs", docs)
    assert (report.seen, report.unchanged, report.added, report.updated) == (3, 3, 0, 0)
    assert (report.passages, report.removed) == (0, 0)
    assert library.source("docs").passages == 8


def test_changed_file_is_reindexed(library: Library, docs: Path) -> None:
    index_folder(library, "docs", docs)
    assert _uris(library, "avocets")
    _touch(docs / "marsh-notes.txt", "The sluice keeper fed nine otters at dusk.\n", 10)
    report = index_folder(library, "docs", docs)
    assert (report.updated, report.added, report.unchanged, report.passages) == (1, 0, 2, 1)
    uri = (docs / "marsh-notes.txt").resolve().as_uri()
    assert _uris(library, "otters") == [uri]
    assert _uris(library, "avocets") == []  # the old text is gone, not kept beside the new


def test_deleted_file_is_removed(library: Library, docs: Path) -> None:
    index_folder(library, "docs", docs)
    (docs / "Teasel-Ale.MD").unlink()
    report = index_folder(library, "docs", docs)
    assert (report.removed, report.unchanged, report.seen) == (1, 2, 2)
    assert _uris(library, "teasel Orrin bloom") == []
    assert "Teasel-Ale.MD" not in library.known("docs")
    assert library.source("docs").passages == 4


def test_broken_pdf_fails_alone_and_is_retried(
    library: Library, docs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    report = index_folder(library, "docs", docs)
    assert report.added == 3 and report.seen == 4
    reason = "the PDF could not be read (Stream has ended unexpectedly)"
    assert report.failed == [("broken.pdf", reason)]
    assert "broken.pdf" not in library.known("docs")
    assert library.source("docs").failed == 1
    assert _uris(library, VARNHOLT)
    assert capsys.readouterr() == ("", "")  # pypdf's complaints do not reach the terminal
    again = index_folder(library, "docs", docs)  # no document, so it is tried again
    assert [key for key, _ in again.failed] == ["broken.pdf"] and again.unchanged == 3


def test_file_that_turns_bad_loses_its_old_passages(library: Library, docs: Path) -> None:
    index_folder(library, "docs", docs)
    pdf = docs / "coast" / "lighthouses.pdf"
    pdf.write_bytes(b"not a pdf any more")
    stamp = time.time() + 20
    os.utime(pdf, (stamp, stamp))
    report = index_folder(library, "docs", docs)
    assert [key for key, _ in report.failed] == ["coast/lighthouses.pdf"]
    assert _uris(library, "Varnholt Brandvik") == []
    assert "coast/lighthouses.pdf" not in library.known("docs")


def test_file_vanishing_after_the_walk(library: Library, docs: Path) -> None:
    victim = docs / "marsh-notes.txt"

    def progress(done: int, total: int) -> None:
        if done == 0:  # the walk has listed it; nothing has been read yet
            victim.unlink()

    report = index_folder(library, "docs", docs, progress=progress)
    assert report.failed == [("marsh-notes.txt", "the file vanished before it could be read")]
    assert report.added == 2 and set(library.known("docs")) == {"coast/lighthouses.pdf",
                                                                 "Teasel-Ale.MD"}  # fmt: skip


def test_reader_crash_is_a_failure_not_the_end(
    library: Library, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = read_document

    def flaky(path: Path, **kw: Any) -> tuple[str, list[Passage]]:
        if path.name == "Teasel-Ale.MD":
            raise ValueError("unexpected markup")
        return real(path, **kw)

    monkeypatch.setattr(READER, flaky)
    report = index_folder(library, "docs", docs)
    assert report.failed == [("Teasel-Ale.MD", "ValueError: unexpected markup")]
    assert report.added == 2


def _numbered(root: Path, count: int, start: int = 0) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (root / f"note-{i:04d}.txt").write_text(f"Note {i} mentions zzword{i}.\n")


def test_interrupted_run_keeps_its_batches_and_resumes(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "notes"
    _numbered(root, 7)
    reads: list[str] = []
    real = read_document

    def counting(path: Path, **kw: Any) -> tuple[str, list[Passage]]:
        reads.append(path.name)
        return real(path, **kw)

    monkeypatch.setattr(READER, counting)
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == 2:  # the first batch of two has just been written
            stop.set()

    first = index_folder(library, "notes", root, progress=progress, stop=stop, batch=2)
    assert first.stopped and (first.added, first.passages) == (2, 2)
    assert reads == ["note-0000.txt", "note-0001.txt"]
    assert sorted(library.known("notes")) == ["note-0000.txt", "note-0001.txt"]
    assert library.source("notes").complete is False

    reads.clear()
    second = index_folder(library, "notes", root, batch=2)
    assert not second.stopped and library.source("notes").complete is True
    assert (second.unchanged, second.added, second.passages) == (2, 5, 5)
    assert reads == [f"note-{i:04d}.txt" for i in range(2, 7)]  # the first two not re-read
    assert len(library.known("notes")) == 7


def test_stopped_run_does_not_drop_anything(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    _numbered(root, 3)
    index_folder(library, "notes", root)
    (root / "note-0000.txt").unlink()
    stop = threading.Event()
    stop.set()
    report = index_folder(library, "notes", root, stop=stop)
    assert report.stopped and report.removed == 0 and report.added == 0
    assert "note-0000.txt" in library.known("notes")  # a partial run cannot tell what vanished
    assert index_folder(library, "notes", root).removed == 1


def test_keyboard_interrupt_writes_what_was_read(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "notes"
    _numbered(root, 5)
    real = read_document

    def interrupted(path: Path, **kw: Any) -> tuple[str, list[Passage]]:
        if path.name == "note-0003.txt":
            raise KeyboardInterrupt
        return real(path, **kw)

    monkeypatch.setattr(READER, interrupted)
    with pytest.raises(KeyboardInterrupt):
        index_folder(library, "notes", root, batch=64)
    assert sorted(library.known("notes")) == [f"note-{i:04d}.txt" for i in range(3)]
    assert library.source("notes").complete is False


def test_unlisted_folder_keeps_its_documents(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "notes"
    _numbered(root / "locked", 2)
    _numbered(root, 1, start=10)
    index_folder(library, "notes", root)
    real = os.scandir
    locked = {"locked"}

    def scandir(path: str | Path) -> object:
        if Path(path).name in locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)  # the walk's only way to list
    report = index_folder(library, "notes", root)
    assert report.failed == [("locked/", "the folder could not be listed (Permission denied)")]
    assert report.removed == 0 and len(library.known("notes")) == 3
    locked.add("notes")  # now the root itself: nothing to go on, so nothing is dropped
    with pytest.raises(LibraryError) as err:
        index_folder(library, "notes", root)
    assert str(err.value) == f"{root}: the folder could not be listed (Permission denied)"
    assert len(library.known("notes")) == 3


def test_symlinked_folders_are_not_followed(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    _numbered(root / "real", 2)
    (root / "deep").mkdir()
    (root / "deep" / "kept.txt").write_text("A kept note about zzword300.\n")
    outside = tmp_path / "elsewhere"
    _numbered(outside, 4, start=100)
    try:
        (root / "loop").symlink_to(root, target_is_directory=True)
        (root / "away").symlink_to(outside, target_is_directory=True)
        (root / "linked-note.txt").symlink_to(outside / "note-0100.txt")
        (root / "shortcut.txt").symlink_to(root / "deep" / "kept.txt")
    except OSError:
        pytest.skip("this filesystem cannot make symlinks")
    report = index_folder(library, "notes", root)
    assert sorted(library.known("notes")) == ["deep/kept.txt", "real/note-0000.txt",
                                              "real/note-0001.txt", "shortcut.txt"]  # fmt: skip
    assert report.seen == 4
    # a link out of the folder is not followed (issue 28: it could be /etc/shadow), and
    # the report says so
    assert _uris(library, "zzword100") == []
    outside_note = "a link to a file outside the folder, not followed"
    assert report.notes == [("linked-note.txt", outside_note)]
    # a link inside it is read, and its citation opens the file it points to; the others
    # are already real paths
    target = (root / "deep" / "kept.txt").resolve().as_uri()
    assert _uris(library, "zzword300") == [target]
    assert _uris(library, "zzword1") == [(root / "real" / "note-0001.txt").resolve().as_uri()]


def test_many_files_and_progress_reaches_total(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(30):
        _numbered(root / f"box-{d:02d}", 100, start=d * 100)
    calls: list[tuple[int, int]] = []
    started = time.monotonic()
    report = index_folder(library, "many", root, progress=lambda d, t: calls.append((d, t)))
    elapsed = time.monotonic() - started
    assert (report.seen, report.added, report.passages, report.failed) == (3000, 3000, 3000, [])
    assert calls[0] == (0, 3000) and calls[-1] == (3000, 3000)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert elapsed < 30, elapsed
    assert _uris(library, "zzword2345") == [(root / "box-23" / "note-2345.txt").resolve().as_uri()]
    calls.clear()
    again = index_folder(library, "many", root, progress=lambda d, t: calls.append((d, t)))
    assert again.unchanged == 3000 and again.passages == 0
    assert calls[-1] == (3000, 3000) and len(calls) < 20  # skipping is reported sparsely


def test_missing_root_or_file_root(library: Library, tmp_path: Path) -> None:
    with pytest.raises(LibraryError) as err:
        index_folder(library, "x", tmp_path / "nowhere")
    assert str(err.value) == f"{tmp_path / 'nowhere'}: no such folder"
    (tmp_path / "a.txt").write_text("text")
    with pytest.raises(LibraryError, match="is a file, not a folder"):
        index_folder(library, "x", tmp_path / "a.txt")
    assert library.sources() == []  # nothing registered for a root that is not there
