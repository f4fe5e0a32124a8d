"""The library bench's search-by-meaning measures (``library/semantic.py`` with the real
all-MiniLM-L6-v2 GGUF, on the CPU): answers found on a hand-written paraphrase set by bm25,
by meaning and by both; embedding throughput; hybrid query latency at the FTS bench's scale,
query embedding included; the RAM the model and the vector matrix take; the index's size
per thousand passages.

The latency index is the FTS bench's own (``bench.library.fts_latency`` builds it), its
``vectors`` table filled with random unit float16 vectors: embedding 100k real passages
would take hours on a CPU, and a matrix product costs the same whatever the vectors hold.
Without the embedding model every measure is skipped, with the reason in the table.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qwq_edge.bench.corpus import Babble
from qwq_edge.bench.paraphrases import PASSAGES, QUESTIONS
from qwq_edge.bench.report import Row
from qwq_edge.engine.embedding import Embedder
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import SearchHit
from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import passages
from qwq_edge.library.semantic import BATCH, DEPTH, Embeds, VectorIndex, embed_pending, search
from qwq_edge.models.hardware import default_threads, rss
from qwq_edge.runtime import embedding_model_path
from qwq_edge.settings import Settings

LATENCY_GOAL_MS = 50.0
QUERIES = 100
WARM = 3  # queries run first and not counted
MODES = ("bm25", "semantic", "hybrid")
FILL = 10_000  # random vectors written per transaction

Result = dict[str, Any]


def progress(what: str) -> None:
    print(f"bench: library: {what} …", file=sys.stderr, flush=True)


def _grew(before: int | None, after: int | None) -> int | None:
    return after - before if before is not None and after is not None else None


def _db_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _table_bytes(lib: Library) -> dict[str, int] | None:
    """Bytes of pages in use per table: "vectors", "fts" (FTS5's shadow tables) and "other"
    (documents, chunks and their indexes), by SQLite's ``dbstat``; None without it. The file's
    growth would not do: FTS5's segment merges leave free pages that new rows reuse."""
    try:
        with lib.locked() as conn:
            got = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.DatabaseError:
        return None
    out = {"vectors": 0, "fts": 0, "other": 0}
    for name, size in got:
        kind = "vectors" if name == "vectors" else "fts" if name.startswith("passages") else "other"
        out[kind] += int(size)
    return out


def timed(call: Callable[[str], object], queries: Sequence[str]) -> Result:
    """p50 / p95 / min / max of ``call`` over ``queries``, in ms, after ``WARM`` warm-ups."""
    for q in queries[:WARM]:
        call(q)
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        call(q)
        ms.append((time.perf_counter() - t0) * 1000)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return {"queries": len(ms), "p50_ms": statistics.median(ms), "p95_ms": p95,
            "min_ms": min(ms), "max_ms": max(ms)}  # fmt: skip


def _library(path: Path, docs: list[Document]) -> Library:
    lib = Library(path)
    lib.add_source("bench", "folder", str(path.parent))
    lib.put("bench", docs)
    return lib


def _document(key: str, title: str, text: str) -> Document:
    uri = f"bench://meaning/{key}"
    return Document(key, uri, title, "file", passages(title, uri, [("", text)]))


# -- quality ----------------------------------------------------------------------------------


def quality(tmp: Path, model: Embeds) -> Result:
    """Each paraphrase question asked by bm25, by meaning and by both, top 5; the answer's
    rank noted, split by keyword-free questions and those sharing a word."""
    progress(f"search by meaning: {len(QUESTIONS)} paraphrase questions")
    lib = _library(tmp / "paraphrases.sqlite",
                   [_document(p.key, p.title, p.text) for p in PASSAGES])  # fmt: skip
    embed_pending(lib, model)
    vectors = VectorIndex(lib)
    ask: dict[str, Callable[[str], list[SearchHit]]] = {
        "bm25": lambda q: lib.search(q, 5),
        "semantic": lambda q: search(lib, vectors, model, q, 5, "semantic"),
        "hybrid": lambda q: search(lib, vectors, model, q, 5, "hybrid"),
    }
    titles = {p.key: p.title for p in PASSAGES}
    out: Result = {"questions": len(QUESTIONS), "passages": len(PASSAGES),
                   "keyword_free": sum(q.keyword_free for q in QUESTIONS)}  # fmt: skip
    for mode, call in ask.items():
        ranks: list[int | None] = []
        misses = []
        for q in QUESTIONS:
            keys = [h.url.rsplit("/", 1)[1] for h in call(q.text)]
            rank = keys.index(q.answer) + 1 if q.answer in keys else None
            ranks.append(rank)
            if rank != 1:
                misses.append({"question": q.text, "answer": titles[q.answer], "rank": rank,
                               "keyword_free": q.keyword_free,
                               "top": titles[keys[0]] if keys else "nothing"})  # fmt: skip
        free = [r for r, q in zip(ranks, QUESTIONS, strict=True) if q.keyword_free]
        shared = [r for r, q in zip(ranks, QUESTIONS, strict=True) if not q.keyword_free]
        out[mode] = {"top1": sum(r == 1 for r in ranks), "top5": sum(r is not None for r in ranks),
                     "top1_free": sum(r == 1 for r in free),
                     "top5_free": sum(r is not None for r in free),
                     "top1_shared": sum(r == 1 for r in shared),
                     "top5_shared": sum(r is not None for r in shared),
                     "ranks": ranks, "misses": misses}  # fmt: skip
    lib.close()
    return out


# -- throughput -------------------------------------------------------------------------------


def _sentences() -> list[str]:
    return [s.strip() + "." for p in PASSAGES for s in p.text.split(". ") if s.strip(" .")]


def throughput(tmp: Path, model: Embeds, count: int, seed: int = 3) -> Result:
    """``count`` passages of 150–200 words (the paraphrase set's sentences, shuffled) embedded
    by ``embed_pending``, ``BATCH`` a call, as the library does."""
    progress(f"embedding {count} passages of 150–200 words")
    rng = random.Random(seed)
    pool = _sentences()
    docs = []
    words = 0
    for i in range(count):
        target, text = rng.randint(150, 200), list[str]()
        while sum(len(s.split()) for s in text) < target:
            text.append(rng.choice(pool))
        body = " ".join(" ".join(text).split()[:target])
        words += target
        docs.append(_document(f"t{i}", f"Notes {i}", body))
    lib = _library(tmp / "throughput.sqlite", docs)
    report = embed_pending(lib, model)
    lib.close()
    return {"passages": report.embedded, "seconds": report.seconds, "batch": BATCH,
            "words": words / max(count, 1)}  # fmt: skip


# -- latency, RAM and size at scale -----------------------------------------------------------


def _fill(lib: Library, dims: int, seed: int) -> int:
    """A random unit float16 vector for every passage; returns how many."""
    rng = np.random.default_rng(seed)
    with lib.locked() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks ORDER BY id")]
        for at in range(0, len(ids), FILL):
            part = ids[at : at + FILL]
            vecs = rng.standard_normal((len(part), dims), dtype=np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            half = vecs.astype(np.float16)
            conn.execute("BEGIN")
            rows = [(i, v.tobytes()) for i, v in zip(part, half, strict=True)]
            conn.executemany("INSERT INTO vectors (chunk, vec) VALUES (?, ?)", rows)
            conn.execute("COMMIT")
    return len(ids)


def latency(index: Path, model: Embeds, babble: Babble, queries: int = QUERIES,
            seed: int = 11) -> Result:  # fmt: skip
    """Fill the FTS bench's index (closed, at ``index``) with random vectors, then time hybrid
    search end to end and its parts: the query's embedding, the cosine over the matrix (and
    within it the product and the check that the matrix is current), and bm25's top list."""
    fts_bytes = _db_size(index)
    lib = Library(index)
    progress("search by meaning: random vectors for every passage")
    t0 = time.perf_counter()
    n = _fill(lib, model.dims, seed)
    fill_s = time.perf_counter() - t0
    vectors = VectorIndex(lib)
    before = rss()
    loaded = len(vectors)  # the first use reads every vector into one matrix
    matrix_rss = _grew(before, rss())
    matrix = vectors._matrix  # what VectorIndex.top multiplies: the product is timed alone
    qs = [babble.question() for _ in range(queries)]
    progress(f"search by meaning: {queries} hybrid queries on {n:,} passages")
    qvecs = {q: model.embed([q])[0] for q in qs}
    out: Result = {
        "passages": loaded, "dims": int(matrix.shape[1]), "fill_s": fill_s,
        "hybrid": timed(lambda q: search(lib, vectors, model, q, 5, "hybrid"), qs),
        "embed": timed(lambda q: model.embed([q]), qs),
        "cosine": timed(lambda q: vectors.top(qvecs[q], DEPTH), qs),
        "bm25": timed(lambda q: lib.ranked(q, DEPTH), qs),
        "product": timed(lambda q: matrix @ qvecs[q].astype(matrix.dtype), qs),
        "refresh": timed(lambda q: len(vectors), qs),  # its check that the vectors are current
        "dtype": str(matrix.dtype),
        "matrix_rss": matrix_rss, "matrix_bytes": int(matrix.nbytes),
        "sample_queries": qs[:3],
    }  # fmt: skip
    tables = _table_bytes(lib)
    lib.close()
    if tables is None:  # no dbstat: the file's growth, an underestimate (see _table_bytes)
        tables = {"vectors": _db_size(index) - fts_bytes, "fts": fts_bytes, "other": 0}
    out["table_bytes"] = tables
    return out


# -- all of it --------------------------------------------------------------------------------


def measure(tmp: Path, index: Path, babble: Babble, embedded: int,
            queries: int = QUERIES, model_path: Path | None = None) -> Result:  # fmt: skip
    """Every measure, on the CPU, or ``{"skipped": why}`` without the embedding model.
    ``index``: the FTS bench's closed index, which gets random vectors; ``babble``: the
    generator it was built with (the same seed), for queries in its vocabulary."""
    path = model_path or embedding_model_path(Settings())
    if not path.is_file():
        return {"skipped": f"no embedding model at {path} (`make run` or "
                           "`qwq-edge models pull all-minilm-l6-v2` fetches it)"}  # fmt: skip
    threads = default_threads()
    log = Path(tempfile.gettempdir()) / "qwq-edge-bench-llama.log"
    before = rss()
    try:
        model = Embedder(path, threads=threads, gpu=False, log_path=log)
    except QwqEdgeError as exc:
        return {"skipped": str(exc)}
    out: Result = {"model": path.name, "threads": threads, "model_rss": _grew(before, rss())}
    try:
        out["quality"] = quality(tmp, model)
        out["throughput"] = throughput(tmp, model, embedded)
        out["latency"] = latency(index, model, babble, queries)
    finally:
        model.close()
    return out


# -- the table --------------------------------------------------------------------------------


def _mb(n: int | None) -> float | None:
    return None if n is None else n / 1e6


def _quality_rows(q: Result) -> list[Row]:
    out = []
    free, n = q["keyword_free"], q["questions"]
    label = f"{n} paraphrase questions ({free} keyword-free), {q['passages']} passages"
    for mode in MODES:
        m = q[mode]
        missed = [str(i + 1) for i, rank in enumerate(m["ranks"]) if rank is None]
        note = (f"keyword-free {m['top5_free']}/{free}, sharing a word {m['top5_shared']}/"
                f"{n - free}; missed: {', '.join(missed) or 'none'}")  # fmt: skip
        out.append(Row(f"answer in top 5, {label}", mode, 100 * m["top5"] / n, unit="%",
                       note=note))  # fmt: skip
    for mode in MODES:
        m = q[mode]
        note = f"keyword-free {m['top1_free']}/{free}, sharing a word {m['top1_shared']}/{n - free}"
        out.append(Row(f"answer first, {label}", mode, 100 * m["top1"] / n, unit="%", note=note))
    return out


def rows(results: Result) -> list[Row]:
    """The search-by-meaning rows of the library table (one row saying why when skipped)."""
    if "skipped" in results:
        return [Row("search by meaning", "all-MiniLM-L6-v2", None,
                    note=f"skipped: {results['skipped']}")]  # fmt: skip
    out = _quality_rows(results["quality"])
    cpu = f"{results['model']}, CPU, {results['threads']} threads"
    t = results["throughput"]
    rate = t["passages"] / t["seconds"]
    out.append(Row(f"embedding, {t['passages']} passages of ~{t['words']:.0f} words", cpu, rate,
                   unit="passages/s", note=f"{t['seconds']:.1f} s, embed_pending, "
                   f"{t['batch']} a batch"))  # fmt: skip
    lat = results["latency"]
    n = lat["passages"]
    hours = 100_000 / rate / 3600
    h, e, c, b = (lat[k] for k in ("hybrid", "embed", "cosine", "bm25"))
    out.append(Row(
        f"hybrid query incl. embedding, {n:,} passages", "semantic.search", h["p50_ms"],
        h["min_ms"], h["max_ms"], "ms", h["p50_ms"] / LATENCY_GOAL_MS,
        f"p50 ≤ {LATENCY_GOAL_MS:g} ms", h["p50_ms"] <= LATENCY_GOAL_MS,
        f"{h['queries']} queries; {n:,} random unit float16 vectors, not embedded passages "
        f"(100k real ones at {rate:.0f}/s would take {hours:.1f} h on this CPU); query embedding "
        f"p50 {e['p50_ms']:.1f} ms, cosine {c['p50_ms']:.1f} ms, bm25 top {DEPTH} (Library.ranked) "
        f"{b['p50_ms']:.1f} ms, p95 {b['p95_ms']:.1f} ms; ratio: p50 ÷ goal",
    ))  # fmt: skip
    out.append(Row(f"hybrid query incl. embedding, {n:,} passages p95", "semantic.search",
                   h["p95_ms"], unit="ms", ratio=h["p95_ms"] / LATENCY_GOAL_MS))  # fmt: skip
    out.append(Row("query embedding", "Embedder.embed", e["p50_ms"], e["min_ms"], e["max_ms"],
                   "ms", note=f"p95 {e['p95_ms']:.1f} ms"))  # fmt: skip
    note = (f"p95 {c['p95_ms']:.1f} ms; top {DEPTH}: its check that the vectors are current "
            f"(len(VectorIndex)) p50 {lat['refresh']['p50_ms']:.1f} ms, the {lat['dtype']} "
            f"matrix × query alone p50 {lat['product']['p50_ms']:.1f} ms")  # fmt: skip
    out.append(Row(f"brute-force cosine, {n:,} vectors", "VectorIndex.top", c["p50_ms"],
                   c["min_ms"], c["max_ms"], "ms", note=note))  # fmt: skip
    unmeasured = "not measured (no /proc and no psutil)"
    model_mb = _mb(results["model_rss"])
    out.append(Row("RAM, embedding model", "Embedder", model_mb, unit="MB",
                   note="VmRSS after loading − before" if model_mb is not None
                   else unmeasured))  # fmt: skip
    matrix_mb = _mb(lat["matrix_rss"])
    out.append(Row(f"RAM, vector matrix, {n:,} passages", "VectorIndex", matrix_mb, unit="MB",
                   note=f"VmRSS after loading − before; the {lat['dtype']} array "
                   f"is {lat['matrix_bytes'] / 1e6:.1f} MB" if matrix_mb is not None
                   else unmeasured))  # fmt: skip
    size = lat["table_bytes"]
    out.append(Row("index size per 1k passages, vectors", "SQLite", size["vectors"] / n,
                   unit="kB", note=f"pages of the vectors table (dbstat), {n:,} vectors of "
                   f"{lat['dims'] * 2} B (float16)"))  # fmt: skip
    out.append(Row("index size per 1k passages, FTS", "FTS5", size["fts"] / n, unit="kB",
                   note=f"FTS5's tables; documents and chunks add "
                   f"{size['other'] / n:.0f} kB"))  # fmt: skip
    return out


def misses(results: Result) -> list[str]:
    """One line per question not ranked first by meaning or by both; bm25's in one line
    (it cannot find a keyword-free question's answer by construction)."""
    if "quality" not in results:
        return []
    q = results["quality"]
    bm25 = [str(i + 1) for i, r in enumerate(q["bm25"]["ranks"]) if r != 1]
    out = [f"bm25: not first for questions {', '.join(bm25) or 'none'}"]
    for mode in MODES[1:]:
        for m in q[mode]["misses"]:
            where = f"rank {m['rank']}" if m["rank"] else "not in the top 5"
            kind = "keyword-free" if m["keyword_free"] else "shares a word"
            out.append(f"{mode}: {m['question']!r} ({kind}) → {m['answer']!r} {where}; "
                       f"first: {m['top']!r}")  # fmt: skip
    return out
