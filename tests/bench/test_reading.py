"""The reading bench's metrics on tiny inline pages, offline (the real corpus is fetched by
``scripts/fetch_reading_corpus.py`` and not needed here): a page whose navigation an
extractor keeps scores lower on furniture dropped; main text kept, the hit test's word
matching, the question set's shape, and the section end to end on a two-page corpus."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from qwq_edge.bench import reading
from qwq_edge.library.index import terms
from qwq_edge.library.passages import html_blocks
from qwq_edge.library.zim import stem

MAIN = """<div class="body" role="main"><h1>Tide tables</h1>
<p>The harbour master publishes the tide tables every Monday before noon, and the ferry
timetable follows them closely through the whole season.</p>
<p>Spring tides arrive two days after the full moon, so the Thursday crossing is often
moved to the early morning when the water is deepest.</p></div>"""
FURNITURE = """<div class="related"><h3>Navigation</h3><ul>
<li><a href="i.html">General index</a></li><li><a href="m.html">Module listing</a></li>
<li><a href="p.html">Previous topic</a></li>
</ul></div><div class="sphinxsidebar"><h3>Quick search</h3><form><input name="q"></form>
<a href="s.html">Show source of this page</a></div><div class="footer">Copyright 2024,
the Lighthouse Society. Last updated on Jan 01, 2024.</div>"""


def page(furniture: str) -> str:
    return f"<html><head><title>Tides</title></head><body>{furniture}{MAIN}</body></html>"


KEPT = page(FURNITURE)  # html_blocks reads these divs: the furniture is kept
DROPPED = page(f"<nav>{FURNITURE}</nav>")  # the same inside <nav>, which html_blocks skips


def test_truth_splits_main_text_from_furniture() -> None:
    t = reading.truth(KEPT, "python")
    assert t.main[:2] == ["tide", "tables"] and "moon" in t.main and "index" not in t.main
    lines = {" ".join(ws) for ws in t.furniture}
    assert {"general index", "module listing", "quick search"} <= lines
    assert "tide tables" not in lines  # words the main text also says are not furniture


def test_a_page_whose_nav_is_kept_scores_lower_on_furniture_dropped() -> None:
    kept = reading.score(reading.truth(KEPT, "python"), html_blocks(KEPT)[1])
    dropped = reading.score(reading.truth(DROPPED, "python"), html_blocks(DROPPED)[1])
    assert kept["kept"] == dropped["kept"] == 1.0  # all the main text, both times
    assert kept["dropped"] is not None and dropped["dropped"] is not None
    assert kept["dropped"] < 0.5 < dropped["dropped"] == 1.0
    assert kept["precision"] < dropped["precision"] == 1.0


def test_main_text_kept_counts_shingles_lost() -> None:
    t = reading.truth(KEPT, "python")
    first_only = [("Tide tables", p) for p in MAIN.split("<p>")[1:2]]
    half = reading.score(t, first_only)
    assert half["kept"] is not None and 0.3 < half["kept"] < 0.7
    assert reading.score(t, [])["kept"] == 0.0


def test_contains_compares_words_in_order_not_markup() -> None:
    text = "**Note** that `foo_bar`\n  is *set* first.\n\nThen more."
    assert reading.contains(text, "Note that foo_bar is set first.")
    assert not reading.contains(text, "Note that foo_bar is first set.")
    assert not reading.contains("a notes b", "note")  # whole words only


def test_questions_are_paraphrased_split_and_on_fetched_pages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = importlib.util.spec_from_file_location(
        "fetch_reading_corpus",
        Path(__file__).parents[2] / "scripts" / "fetch_reading_corpus.py",
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # its dataclasses look it up
    spec.loader.exec_module(script)
    fetched = {f"{s.name}/{p}" for s in script.SITES for p in s.pages}
    assert len(fetched) >= 20 and len({s.generator for s in script.SITES}) >= 2
    asked = reading.questions()
    assert len(asked) >= 20
    halves = {h: [q for q in asked if q.half == h] for h in reading.HALVES}
    assert abs(len(halves["tuning"]) - len(halves["test"])) <= 1
    for q in asked:
        assert q.page in fetched and q.half in reading.HALVES
        shared = {stem(w) for w in terms(q.ask)} & {stem(w) for w in terms(q.answer)}
        assert len(shared) <= 3, (q.ask, shared)


def test_missing_corpus_is_one_row_saying_so(tmp_path: Path) -> None:
    rows, results = reading.section(root=tmp_path)
    assert "skipped" in results and len(rows) == 1 and rows[0].median is None
    assert "fetch_reading_corpus.py" in rows[0].note


def test_section_on_a_two_page_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"python/a.html": KEPT, "python/b.html": DROPPED}
    for name, html in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(html, encoding="utf-8")
    manifest = [{"site": "python", "generator": "Sphinx", "page": n.split("/", 1)[1],
                 "file": n, "package": "inline", "version": "1"} for n in files]  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({"pages": manifest}), encoding="utf-8")
    asks = [
        reading.Question("python/a.html", "tuning", "When does the boat leave on Thursdays?",
                         "the Thursday crossing is often moved to the early morning"),
        reading.Question("python/b.html", "test", "Who prints the schedule of the sea?",
                         "The harbour master publishes the tide tables every Monday"),
    ]  # fmt: skip
    monkeypatch.setattr(reading, "questions", lambda: asks)
    rows, results = reading.section(root=tmp_path)
    assert results["pages"] == 2 and results["focus"]["opens"] == 2
    for half in reading.HALVES:  # a one-passage page: whatever the focus, it is all read
        assert results["focus"][half] == {"hit": 1, "baseline": 1, "in_page": 1, "n": 1}
    assert reading.misses(results) == []
    stdlib = results["extraction"]["stdlib html_blocks"]["dropped"]
    assert (stdlib["min"], stdlib["max"]) == (0.0, 1.0)  # page a's divs kept, page b's nav not
    metrics = {r.metric.split(",")[0] for r in rows}
    assert {"main text kept", "furniture dropped", "time per open"} <= metrics
    assert all(r.median is not None and r.median >= 0 for r in rows)
