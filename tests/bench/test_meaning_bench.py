"""The library bench's search-by-meaning measures at a tiny scale (2k passages for latency),
with the real all-MiniLM-L6-v2 GGUF: the results' shape, positive latencies, and hybrid
finding at least as many paraphrased answers in its top 5 as bm25 (a real check: the set
is fixed). The paraphrase set's keyword-free labels are checked lexically, without a model,
and so is the row that says why the measures were skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qwq_edge.bench import library, meaning, suite
from qwq_edge.bench.corpus import Babble
from qwq_edge.bench.paraphrases import PASSAGES, QUESTIONS
from qwq_edge.library.index import Document, Library, terms
from qwq_edge.library.passages import passages
from qwq_edge.runtime import embedding_model_path
from qwq_edge.settings import Settings

TINY = library.Sizes(passages=2000, queries=10, embedded=8)
QUERIES = 10


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = embedding_model_path(Settings())
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `python scripts/fetch_test_models.py embedding`")
    tmp = tmp_path_factory.mktemp("meaning")
    library.fts_latency(tmp, TINY, Babble(7))
    return meaning.measure(tmp, tmp / "fts.sqlite", Babble(7), TINY.embedded, QUERIES)


def _timing(r: dict[str, Any], queries: int) -> None:
    assert r["queries"] == queries
    assert 0 < r["min_ms"] <= r["p50_ms"] <= r["p95_ms"] <= r["max_ms"]


@pytest.mark.model
def test_measures_have_their_shape_and_positive_timings(results: dict[str, Any]) -> None:
    assert "skipped" not in results, results.get("skipped")
    assert results["threads"] >= 1 and results["model"].endswith(".gguf")
    t = results["throughput"]
    assert t["passages"] == TINY.embedded and t["seconds"] > 0 and 150 <= t["words"] <= 200
    lat = results["latency"]
    assert lat["passages"] >= TINY.passages and lat["dims"] == 384
    for key in ("hybrid", "embed", "cosine", "bm25", "product", "refresh"):
        _timing(lat[key], QUERIES)
    width = {"float16": 2, "float32": 4}[lat["dtype"]]  # VectorIndex's matrix in memory
    assert lat["matrix_bytes"] == lat["passages"] * 384 * width
    size = lat["table_bytes"]
    assert size["vectors"] >= lat["passages"] * 384 * 2 and size["fts"] > size["other"] > 0
    assert results["model_rss"] is None or results["model_rss"] > 0


@pytest.mark.model
def test_hybrid_finds_at_least_what_bm25_finds(results: dict[str, Any]) -> None:
    q = results["quality"]
    assert q["questions"] == len(QUESTIONS) and q["passages"] == len(PASSAGES)
    for mode in meaning.MODES:
        m = q[mode]
        assert len(m["ranks"]) == q["questions"]
        assert m["top1"] <= m["top5"] == m["top5_free"] + m["top5_shared"]
        assert len(m["misses"]) == q["questions"] - m["top1"]
    assert q["bm25"]["top5_free"] == 0  # no shared word: bm25 cannot match the answer
    assert q["hybrid"]["top5"] >= q["bm25"]["top5"], meaning.misses(results)
    assert q["hybrid"]["top5_free"] > 0 and q["semantic"]["top5_free"] > 0


@pytest.mark.model
def test_rows_and_misses_make_the_table(
    results: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    rows = meaning.rows(results)
    metrics = " / ".join(r.metric for r in rows)
    for needed in ("answer in top 5, 30 paraphrase", "embedding, 8 passages", "hybrid query incl.",
                   "brute-force cosine", "RAM, embedding model", "RAM, vector matrix",
                   "per 1k passages, vectors", "per 1k passages, FTS"):  # fmt: skip
        assert needed in metrics, needed
    assert {r.loop for r in rows} >= set(meaning.MODES)
    hybrid = next(r for r in rows if r.metric.startswith("hybrid query"))
    assert hybrid.goal == "p50 ≤ 50 ms" and hybrid.median and hybrid.median > 0
    assert "random unit float16 vectors" in hybrid.note
    lines = meaning.misses(results)
    assert lines[0].startswith("bm25: not first for questions")
    suite._library_table(rows, {"retrieval": {}, "meaning": results})
    assert "paraphrase questions not ranked first" in capsys.readouterr().out


def test_measures_are_skipped_with_a_reason_without_the_model(tmp_path: Path) -> None:
    out = meaning.measure(tmp_path, tmp_path / "fts.sqlite", Babble(1), 5,
                          model_path=tmp_path / "missing.gguf")  # fmt: skip
    assert "missing.gguf" in out["skipped"]
    rows = meaning.rows(out)
    assert len(rows) == 1 and rows[0].median is None and rows[0].note.startswith("skipped: ")
    assert meaning.misses(out) == []


def test_paraphrase_labels_hold_lexically(tmp_path: Path) -> None:
    """A keyword-free question shares no indexed term with its passage (title included),
    after the FTS5 tokenizer, the Porter stemmer and the stopwords; the others exactly one."""
    keys = [p.key for p in PASSAGES]
    assert len(set(keys)) == len(PASSAGES) == 40 and len(QUESTIONS) == 30
    assert sum(q.keyword_free for q in QUESTIONS) >= 20
    lib = Library(tmp_path / "p.sqlite")
    lib.add_source("p", "folder", str(tmp_path))
    docs = [Document(p.key, f"p://{p.key}", p.title, "file",
                     passages(p.title, f"p://{p.key}", [("", p.text)]))
            for p in PASSAGES]  # fmt: skip
    lib.put("p", docs)
    with lib.locked() as conn:
        for q in QUESTIONS:
            shared = [w for w in terms(q.text) if conn.execute(
                "SELECT 1 FROM passages WHERE passages MATCH ? AND uri = ?",
                (f'"{w}"', f"p://{q.answer}")).fetchone()]  # fmt: skip
            assert len(shared) == (0 if q.keyword_free else 1), (q.text, shared)
    lib.close()
