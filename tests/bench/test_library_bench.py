"""The bench's library section at a tiny scale: real SQLite FTS5, a real ZIM, real folders
and PDFs in a tmp dir. Timings are only checked for shape; retrieval quality is a real
threshold (the corpus and the questions are fixed, so it is deterministic)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.bench import library, suite
from qwq_edge.bench.corpus import FACTS, Babble, retrieval_corpus, write_pdf
from qwq_edge.bench.report import Row
from qwq_edge.cli import build_parser
from qwq_edge.cli.doctor import cmd_bench
from qwq_edge.library.readers import read_document

TINY = library.Sizes(passages=2000, queries=30, zim_articles=200, text_files=40, pdf_files=3,
                     pdf_pages=4)  # fmt: skip


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    return library.measure(TINY)


def _positive(x: object) -> bool:
    return isinstance(x, float) and x > 0


def test_latencies_are_measured_at_the_requested_scale(results: dict[str, Any]) -> None:
    fts = results["fts"]
    assert fts["passages"] >= TINY.passages and fts["queries"] == TINY.queries
    for r in (fts, results["zim"]):
        assert all(_positive(r[k]) for k in ("p50_ms", "p95_ms", "min_ms", "max_ms"))
        assert r["min_ms"] <= r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]
        assert r["empty"] < r["queries"] // 2  # the queries share words with the corpus
    assert results["zim"]["articles"] == TINY.zim_articles
    assert fts["index_bytes"] > fts["text_bytes"] > 0


def test_indexing_goes_through_the_folder_walk(results: dict[str, Any]) -> None:
    text, pdf = results["indexing"]["text"], results["indexing"]["pdf"]
    assert text["files"] == TINY.text_files and pdf["files"] == TINY.pdf_files
    assert text["failed"] == pdf["failed"] == 0
    assert text["passages"] >= TINY.text_files and pdf["passages"] >= pdf["pages"] == 12
    assert _positive(text["seconds"]) and _positive(pdf["seconds"])
    assert text["index_bytes"] > 0 and text["text_bytes"] > 0


def test_retrieval_finds_most_answers_asked_in_other_words(results: dict[str, Any]) -> None:
    fts = results["retrieval"]["fts"]
    assert fts["questions"] == len(FACTS) == 20
    assert fts["top5"] >= 18, library.misses(results)  # the issue's goal: 90 % in the top 5
    assert fts["top1"] <= fts["top5"]
    assert len(fts["misses"]) == fts["questions"] - fts["top1"]
    assert "zim" in results["retrieval"]  # libzim is installed for the tests


def test_rows_make_a_table_with_goals(results: dict[str, Any]) -> None:
    rows = library.rows(results)
    assert all(isinstance(r, Row) for r in rows)
    metrics = " / ".join(r.metric for r in rows)
    for needed in ("FTS query", "ZIM search", "folder indexing, PDF", "index size ÷ text",
                   "answer in top 5"):  # fmt: skip
        assert needed in metrics, needed
    goals = {r.goal for r in rows if r.goal}
    assert {"p50 ≤ 20 ms", "p50 ≤ 50 ms", "≥ 90%"} <= goals
    latency = [r for r in rows if r.unit == "ms"]
    assert latency and all(r.median is not None and r.median > 0 for r in latency)


def test_zim_is_skipped_with_a_reason_without_libzim(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(library.importlib, "import_module", missing)
    out = library.zim_latency(tmp_path, TINY, Babble(1))
    assert "libzim" in out["skipped"]
    row = [r for r in library.rows({**_fake(), "zim": out}) if r.metric == "ZIM search"]
    assert row[0].median is None and row[0].note.startswith("skipped: ")


def _fake() -> dict[str, Any]:
    lat = {"queries": 2, "p50_ms": 1.0, "p95_ms": 2.0, "min_ms": 1.0, "max_ms": 2.0, "empty": 0}
    idx = {"files": 1, "passages": 1, "seconds": 1.0, "failed": 0, "text_bytes": 1,
           "index_bytes": 2}  # fmt: skip
    score = {"questions": 1, "top1": 1, "top5": 1, "ranks": [1], "misses": []}
    return {"fts": {**lat, "passages": 1, "build_s": 1.0, "text_bytes": 1, "index_bytes": 2},
            "indexing": {"text": idx, "pdf": {**idx, "pages": 1}},
            "retrieval": {"documents": 1, "fts": score}}  # fmt: skip


def test_corpus_is_deterministic_and_holds_every_fact() -> None:
    docs, questions = retrieval_corpus()
    assert (docs, questions) == retrieval_corpus()
    assert len(docs) == 200 and len(questions) == 20
    for (question, at), (title, fact, asked, _) in zip(questions, FACTS, strict=True):
        assert question == asked and docs[at][0] == title and fact in " ".join(docs[at][1])
    assert Babble(3).paragraph() == Babble(3).paragraph()


def test_written_pdf_reads_back_page_by_page(tmp_path: Path) -> None:
    pages = Babble(2).pdf_pages(2)
    path = write_pdf(tmp_path / "x.pdf", pages, title="Made Up")
    title, parts = read_document(path)
    assert title == "Made Up"
    assert {p.uri.rsplit("#", 1)[1] for p in parts} == {"page=1", "page=2"}
    assert pages[1].split("\n")[3].split()[0] in " ".join(p.text for p in parts)


def test_library_only_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library, "measure", lambda sizes: {**_fake(), "zim": {"skipped": "x"},
                                                           "seconds": 0.5})  # fmt: skip
    out = tmp_path / "lib.json"
    assert suite.library_only(True, out, TINY) == 0
    printed = capsys.readouterr().out
    assert "Library" in printed and "| FTS query, 1 passages | FTS5 |" in printed
    assert "goals met:" in printed
    data = json.loads(out.read_text())
    assert data["meta"]["mode"] == "library-only quick" and data["library"]


def test_library_only_flag_skips_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["bench", "--library-only", "--quick"])
    assert isinstance(args, argparse.Namespace) and args.library_only and args.quick
    seen: list[tuple[bool, Path | None]] = []
    monkeypatch.setattr(suite, "library_only", lambda q, j: seen.append((q, j)) or 0)
    monkeypatch.setattr(suite, "run", lambda *a, **k: pytest.fail("the model bench ran"))
    assert cmd_bench(args) == 0 and seen == [(True, None)]
