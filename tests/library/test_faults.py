"""The library under the fault probe of issue 28: huge web results, PDFs and text files that
would hold an index run for hours, a FIFO swapped in mid-run, links out of the folder, and a
ZIM damaged after it was added. Real files, real SQLite, real pypdf and libzim."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwq_edge.errors import LibraryError
from qwq_edge.events import SearchHit
from qwq_edge.library import locking, readers
from qwq_edge.library.cached import index_response
from qwq_edge.library.folders import IndexReport, index_folder
from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import Passage
from qwq_edge.library.provider import library_provider
from qwq_edge.runtime.library import add_source
from qwq_edge.search.base import SearchResponse
from tests.library.pdfs import text_stream_pdf
from tests.support.zim import build_zim


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    lib = Library(tmp_path / "db" / "library.sqlite")
    yield lib
    lib.close()


def _dense(size: int) -> str:
    """``size`` characters of nothing but query words: the worst case for snippet()."""
    return ("alpha bravo charlie delta " * (size // 26 + 1))[:size]


def test_a_large_web_result_is_split_into_passages(library: Library) -> None:
    hit = SearchHit("Big page", "https://example.com/big", _dense(100_000), 1.0, "web")
    response = SearchResponse("alpha", (hit,), "tavily", key="k1", fetched_at=time.time())
    written = index_response(library, response)
    assert written > 10  # one passage of 100 KB would make every later search slow
    with library.locked() as conn:
        longest = conn.execute("SELECT MAX(length(body)) FROM passages").fetchone()[0]
    assert longest <= 4000
    started = time.monotonic()
    hits = library.search("alpha bravo charlie", 8)
    assert time.monotonic() - started < 2.0
    assert hits and hits[0].url == "https://example.com/big"


def test_a_huge_passage_already_in_the_index_keeps_search_fast(library: Library) -> None:
    # An index written before passages were bounded (or a bundle's hit) may hold one.
    uri = "https://example.com/huge"
    passage = Passage("Huge", "", _dense(200_000), uri)
    library.add_source("old", "cache", "old")
    library.put("old", [Document("huge", uri, "Huge", "cache", [passage])])
    started = time.monotonic()
    hits = library.search("alpha bravo charlie", 8)
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"a search took {elapsed:.1f} s"
    assert hits[0].url == uri and 0 < len(hits[0].content) < 1000


def test_a_pdf_whose_pages_share_one_big_content_stream_is_cut_and_said(
    library: Library, tmp_path: Path
) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    text_stream_pdf(root / "bomb.pdf", 20, 1, shared=True)  # 7 KB on disk
    (root / "fine.md").write_text("# Fine\n\nA fine note about zzquince.\n")
    started = time.monotonic()
    report = index_folder(library, "docs", root)
    elapsed = time.monotonic() - started
    assert report.failed == [] and report.added == 2
    assert [rel for rel, _ in report.notes] == ["bomb.pdf"]
    why = report.notes[0][1]
    assert "page 1 was cut at 100,000 characters" in why
    assert "pages 2–20 repeat an earlier page's content" in why
    assert report.passages < 200  # not 20 pages × 600,000 characters
    assert elapsed < 30, elapsed


def test_a_pdf_page_with_megabytes_of_instructions_is_skipped(tmp_path: Path) -> None:
    path = text_stream_pdf(tmp_path / "probe.pdf", 20, 6, shared=True)  # the probe's file
    started = time.monotonic()
    with pytest.raises(LibraryError) as err:
        readers.read_document(path)
    assert time.monotonic() - started < 10
    message = str(err.value)
    assert message.startswith(f"{path}: no text was read from the PDF (page 1 has over 4 MiB")
    assert "\n" not in message


def test_a_long_text_file_is_cut_and_said(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "MAX_DOC_CHARS", 50_000)
    root = tmp_path / "docs"
    root.mkdir()
    (root / "dump.txt").write_text(_dense(200_000) + " zzlastword\n")
    report = index_folder(library, "docs", root)
    assert report.notes == [
        ("dump.txt", "cut: the text after its first 50,000 characters was left out")
    ]
    assert library.search("zzlastword") == []  # past the cut
    assert library.search("alpha")


def test_stop_is_heeded_inside_a_long_document(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    text_stream_pdf(root / "long.pdf", 20, 1, shared=False)  # 20 pages, each slow
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        report = index_folder(library, "docs", root, stop=stop)
    finally:
        timer.cancel()
    assert report.stopped and time.monotonic() - started < 15
    assert library.known("docs") == {}  # the document in hand is read again next run
    assert library.source("docs").complete is False


def test_a_file_replaced_by_a_fifo_mid_run_is_skipped(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text(f"Note {name} mentions zz{name[0]}word.\n")
    fifo = root / "b.txt"

    def progress(done: int, total: int) -> None:
        if done == 1:  # a.txt is read; b.txt becomes a FIFO before it is opened
            fifo.unlink()
            os.mkfifo(fifo)

    out: list[IndexReport] = []
    run = threading.Thread(
        target=lambda: out.append(index_folder(library, "notes", root, progress=progress)),
        daemon=True,
    )
    run.start()
    run.join(15)
    if run.is_alive():
        with fifo.open("wb"):  # let the blocked open() return, so the thread ends
            pass
        run.join(15)
        pytest.fail("indexing blocked opening a FIFO")
    (report,) = out
    assert report.failed == [("b.txt", "is not a regular file (a pipe, socket or device)")]
    assert sorted(library.known("notes")) == ["a.txt", "c.txt"]


def test_links_are_followed_only_inside_the_folder(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "notes"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.md").write_text("# Real\n\nThe zzinside note.\n")
    secret = tmp_path / "shadow.txt"
    secret.write_text("root:zzsecrethash:19000:0:99999:7:::\n")
    try:
        (root / "leak.txt").symlink_to(secret)
        (root / "alias.md").symlink_to(root / "sub" / "real.md")
    except OSError:
        pytest.skip("this filesystem cannot make symlinks")
    report = index_folder(library, "notes", root)
    assert sorted(library.known("notes")) == ["alias.md", "sub/real.md"]
    assert library.search("zzsecrethash") == []
    assert report.notes == [("leak.txt", "a link to a file outside the folder, not followed")]
    # A file swapped for such a link after the walk is refused when it is read, too.
    plain = root / "plain.txt"
    plain.write_text("A plain zzplain note.\n")

    def swap(done: int, total: int) -> None:
        if done == 0:  # the walk is over, nothing is read yet
            plain.unlink()
            plain.symlink_to(secret)

    report = index_folder(library, "notes", root, progress=swap)
    assert library.search("zzsecrethash") == []
    assert report.notes == [
        ("leak.txt", "a link to a file outside the folder, not followed"),
        ("plain.txt", "a link to a file outside the folder, not followed"),
    ]


def test_a_zim_damaged_after_it_was_added_is_a_note_not_libzim_noise(
    library: Library, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    body = " ".join(f"word{j}" for j in range(200))
    articles = [(f"A/T{i}", f"Teasel {i}", f"<p>Teasel {i} grows. {body}</p>") for i in range(50)]
    path = build_zim(tmp_path / "wiki.zim", articles, name="wiki")
    library.add_source("wiki", "zim", str(path))
    data = bytearray(path.read_bytes())
    a, b = len(data) // 4, 3 * len(data) // 4
    data[a:b] = bytes(b - a)  # same size, the middle zeroed
    path.write_bytes(bytes(data))
    capfd.readouterr()
    provider = library_provider(library.path)
    try:
        provider.search("teasel", max_results=5)
    finally:
        provider.close()
    out, err = capfd.readouterr()
    assert "Something went wrong" not in out + err and "dbOffest" not in out + err  # libzim's
    assert any(str(path) in note for note in provider.notes), provider.notes


HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the library's write lock for ``seconds``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


def test_a_write_waits_for_another_process_and_says_so(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locking, "QUIET_WAIT", 0.2)
    told: list[str] = []
    library.waiting = lambda: told.append("waiting")
    root = tmp_path / "notes"
    root.mkdir()
    (root / "a.txt").write_text("A zzwaited note.\n")
    holder = _hold(library.path, 2.0)
    try:
        added = add_source(library, root)
    finally:
        holder.wait(30)
    assert added.report is not None and added.report.added == 1
    assert told == ["waiting"]  # said once, however many writes waited


def test_a_lock_held_too_long_is_one_sentence_and_leaves_nothing(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(locking, "QUIET_WAIT", 0.1)
    monkeypatch.setattr(locking, "LOCK_WAIT", 0.5)
    root = tmp_path / "notes"
    root.mkdir()
    (root / "a.txt").write_text("A zzlocked note.\n")
    holder = _hold(library.path, 3.0)
    try:
        with pytest.raises(LibraryError) as err:
            add_source(library, root)
    finally:
        holder.wait(30)
    assert str(err.value) == locking.BUSY and "\n" not in locking.BUSY
    assert [s.name for s in library.sources()] == []
