"""The bench's library section: FTS5 query latency, ZIM search latency, indexing throughput
through the real folder walk, the index's size against its text, and retrieval quality on
made-up facts asked about in other words; then search by meaning (``bench.meaning``), with
the small embedding model only, never a chat model (``bench --library-only``).

Everything runs in a temporary folder on corpora from ``qwq_edge.bench.corpus``; each
measure returns a plain dict (the JSON keeps them) and ``rows`` turns them into the table.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qwq_edge.bench import meaning
from qwq_edge.bench.corpus import Babble, build_zim, retrieval_corpus, write_pdf
from qwq_edge.bench.report import Row
from qwq_edge.events import SearchHit
from qwq_edge.library.folders import index_folder
from qwq_edge.library.index import Document, Library
from qwq_edge.library.passages import Block, passages, text_blocks
from qwq_edge.library.zim import NO_LIBZIM, open_archive

FTS_GOAL_MS = 20.0
ZIM_GOAL_MS = 50.0
TOP5_GOAL = 0.9
BATCH = 500  # documents per Library.put (one transaction each)
WARM = 3  # queries run first and not counted: the first opens files and fills caches

Result = dict[str, Any]
Search = Callable[[str], list[SearchHit]]


@dataclass(frozen=True)
class Sizes:
    passages: int = 100_000  # in the FTS index that queries are timed on
    queries: int = 200  # timed, for FTS and for ZIM
    zim_articles: int = 10_000
    text_files: int = 10_000  # half .txt, half .md, a few passages each
    pdf_files: int = 100
    pdf_pages: int = 20  # per PDF
    embedded: int = 0  # passages embedded for throughput; 0: no search-by-meaning measures


FULL = Sizes(embedded=200)
QUICK = Sizes(passages=10_000, queries=50, zim_articles=1_000, text_files=1_000, pdf_files=10,
              pdf_pages=10, embedded=50)  # fmt: skip


def progress(what: str) -> None:
    print(f"bench: library: {what} …", file=sys.stderr, flush=True)


def _timed(search: Search, queries: Sequence[str]) -> Result:
    """Each query's wall time (after a few warm-up queries), as p50 / p95 in ms."""
    for q in queries[:WARM]:
        search(q)
    ms: list[float] = []
    empty = 0
    for q in queries:
        t0 = time.perf_counter()
        hits = search(q)
        ms.append((time.perf_counter() - t0) * 1000)
        empty += not hits
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    return {"queries": len(ms), "p50_ms": statistics.median(ms), "p95_ms": p95,
            "min_ms": min(ms), "max_ms": max(ms), "empty": empty}  # fmt: skip


def _documents(babble: Babble, uri: str, count: int) -> Iterator[Document]:
    """Generated documents of 3–8 paragraphs, cut into passages as a reader would."""
    for i in range(count):
        title, paras = babble.document(babble.rng.randint(3, 8))
        ps = passages(title, f"{uri}{i}", [("", p) for p in paras])
        yield Document(str(i), f"{uri}{i}", title, "file", ps)


def _db_size(path: Path) -> int:
    """The database on disk; call after ``Library.close`` (the last close checkpoints the
    WAL into the file and deletes it, so what is left is the index as it stays)."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def fts_latency(tmp: Path, sizes: Sizes, babble: Babble) -> Result:
    """Build an index of ``sizes.passages`` passages with ``Library.put``, then time
    question-shaped queries on it."""
    progress(f"FTS5 index of {sizes.passages:,} passages")
    path = tmp / "fts.sqlite"
    lib = Library(path)
    lib.add_source("bench", "folder", str(tmp))
    written = text = 0
    docs = _documents(babble, "bench://fts/", sys.maxsize)
    t0 = time.perf_counter()
    build = 0.0
    while written < sizes.passages:
        batch = [next(docs) for _ in range(BATCH)]
        text += sum(len(p.text.encode()) for d in batch for p in d.passages)
        t1 = time.perf_counter()
        written += lib.put("bench", batch)
        build += time.perf_counter() - t1
    made = time.perf_counter() - t0 - build
    progress(f"{sizes.queries} FTS5 queries")
    queries = [babble.question() for _ in range(sizes.queries)]
    result = _timed(lambda q: lib.search(q, 5), queries)
    lib.close()
    return {**result, "passages": written, "build_s": build, "generate_s": made,
            "text_bytes": text, "index_bytes": _db_size(path),
            "sample_queries": queries[:3]}  # fmt: skip


def zim_latency(tmp: Path, sizes: Sizes, babble: Babble) -> Result:
    """Build an uncompressed ZIM of ``sizes.zim_articles`` articles, then time searches."""
    try:
        importlib.import_module("libzim")
    except ImportError:
        return {"skipped": NO_LIBZIM}
    progress(f"ZIM archive of {sizes.zim_articles:,} articles")
    articles = []
    for i in range(sizes.zim_articles):
        title, paras = babble.document(babble.rng.randint(3, 6))
        articles.append((f"A/{i}", title, "".join(f"<p>{p}</p>" for p in paras)))
    t0 = time.perf_counter()
    path = build_zim(tmp / "bench.zim", articles, name="bench", compress=False)
    build = time.perf_counter() - t0
    progress(f"{sizes.queries} ZIM searches")
    archive = open_archive(path, "bench")
    queries = [babble.question() for _ in range(sizes.queries)]
    result = _timed(lambda q: archive.search(q, 5), queries)
    archive.close()
    return {**result, "articles": len(articles), "build_s": build,
            "archive_bytes": path.stat().st_size}  # fmt: skip


def _markdown(babble: Babble, title: str) -> str:
    parts = [f"# {title}"]
    for _ in range(babble.rng.randint(2, 4)):
        parts += [f"## {babble.title()}", babble.paragraph(), babble.paragraph()]
    return "\n\n".join(parts) + "\n"


def _index(tmp: Path, name: str, root: Path) -> Result:
    path = tmp / f"{name}.sqlite"
    lib = Library(path)
    report = index_folder(lib, name, root, batch=64)
    text = lib.source(name).bytes
    lib.close()
    return {"files": report.seen, "passages": report.passages, "seconds": report.seconds,
            "failed": len(report.failed), "text_bytes": text,
            "index_bytes": _db_size(path)}  # fmt: skip


def indexing(tmp: Path, sizes: Sizes, babble: Babble) -> Result:
    """``index_folder`` on a folder of text and Markdown files, then on one of PDFs."""
    progress(f"indexing {sizes.text_files:,} text and Markdown files")
    root = tmp / "notes"
    for i in range(sizes.text_files):
        sub = root / f"shelf{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        title, paras = babble.document(babble.rng.randint(2, 8))
        if i % 2:
            (sub / f"{i}.md").write_text(_markdown(babble, title), encoding="utf-8")
        else:
            (sub / f"{i}.txt").write_text("\n\n".join(paras) + "\n", encoding="utf-8")
    text = _index(tmp, "notes", root)
    progress(f"indexing {sizes.pdf_files * sizes.pdf_pages:,} PDF pages")
    for i in range(sizes.pdf_files):
        write_pdf(tmp / "pdfs" / f"{i}.pdf", babble.pdf_pages(sizes.pdf_pages), babble.title())
    pdf = _index(tmp, "pdfs", tmp / "pdfs")
    pdf["pages"] = sizes.pdf_files * sizes.pdf_pages
    return {"text": text, "pdf": pdf}


def _score(search: Search, questions: list[tuple[str, int]], uris: list[str],
           titles: list[str]) -> Result:  # fmt: skip
    ranks: list[int | None] = []
    misses = []
    for question, answer in questions:
        hits = search(question)
        urls = [h.url.split("#")[0] for h in hits]
        rank = urls.index(uris[answer]) + 1 if uris[answer] in urls else None
        ranks.append(rank)
        if rank != 1:
            top = hits[0].title if hits else "nothing"
            misses.append({"question": question, "answer": titles[answer], "rank": rank,
                           "top": top})  # fmt: skip
    n = len(questions)
    return {"questions": n, "top1": sum(r == 1 for r in ranks), "top5": sum(
        r is not None for r in ranks), "ranks": ranks, "misses": misses}  # fmt: skip


def retrieval(tmp: Path) -> Result:
    """The made-up facts among generated documents of the same kinds; each hand-written
    question is asked through ``Library.search`` (and through a ZIM of the same documents,
    when libzim is there) and the answer's rank noted."""
    progress("retrieval: 20 questions asked in other words")
    docs, questions = retrieval_corpus()
    titles = [title for title, _ in docs]
    lib = Library(tmp / "facts.sqlite")
    lib.add_source("facts", "folder", str(tmp))
    uris = [f"bench://facts/{i}" for i in range(len(docs))]
    blocks: list[list[Block]] = [[b for p in paras for b in text_blocks(p)] for _, paras in docs]
    lib.put("facts", [
        Document(str(i), uris[i], title, "file", passages(title, uris[i], blocks[i]))
        for i, (title, _) in enumerate(docs)
    ])  # fmt: skip
    out = {"documents": len(docs), "fts": _score(lambda q: lib.search(q, 5), questions, uris,
                                                 titles)}  # fmt: skip
    lib.close()
    try:
        importlib.import_module("libzim")
    except ImportError:
        return out
    articles = [(f"A/{i}", title, "".join(f"<p>{p}</p>" for p in paras))
                for i, (title, paras) in enumerate(docs)]  # fmt: skip
    archive = open_archive(build_zim(tmp / "facts.zim", articles, name="facts"), "facts")
    zim_uris = [f"zim://facts/A/{i}" for i in range(len(docs))]
    out["zim"] = _score(lambda q: archive.search(q, 5), questions, zim_uris, titles)
    archive.close()
    return out


def measure(sizes: Sizes, seed: int = 7) -> Result:
    """Every library measure at ``sizes``, in a temporary folder removed afterwards."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qwq-edge-bench-") as name:
        tmp = Path(name)
        out: Result = {"sizes": asdict(sizes)}
        out["fts"] = fts_latency(tmp, sizes, Babble(seed))
        out["zim"] = zim_latency(tmp, sizes, Babble(seed + 1))
        out["indexing"] = indexing(tmp, sizes, Babble(seed + 2))
        out["retrieval"] = retrieval(tmp)
        if sizes.embedded:  # on the FTS index above, the same seed for queries in its words
            out["meaning"] = meaning.measure(tmp, tmp / "fts.sqlite", Babble(seed), sizes.embedded)
    out["seconds"] = time.perf_counter() - t0
    return out


def _latency_rows(metric: str, loop: str, r: Result, goal_ms: float, extra: str) -> list[Row]:
    p50 = r["p50_ms"]
    note = f"{r['queries']} queries, {r['empty']} found nothing; {extra}; ratio: p50 ÷ goal"
    return [
        Row(metric, loop, p50, r["min_ms"], r["max_ms"], "ms", p50 / goal_ms,
            f"p50 ≤ {goal_ms:g} ms", p50 <= goal_ms, note),
        Row(metric + " p95", loop, r["p95_ms"], unit="ms", ratio=r["p95_ms"] / goal_ms),
    ]  # fmt: skip


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def rows(results: Result) -> list[Row]:
    """The library table: one row per figure, goals as the model rows state them."""
    out: list[Row] = []
    fts = results["fts"]
    n = fts["passages"]
    out += _latency_rows(f"FTS query, {n:,} passages", "FTS5", fts, FTS_GOAL_MS,
                         "bm25, one passage per document")  # fmt: skip
    out.append(Row(f"FTS build, {n:,} passages", "Library.put", n / fts["build_s"],
                   unit="passages/s", note=f"{fts['build_s']:.1f} s, {BATCH} documents a "
                   "transaction"))  # fmt: skip
    out.append(Row(f"index size ÷ text, {n:,} passages", "FTS5",
                   fts["index_bytes"] / fts["text_bytes"], unit="×",
                   note=f"{_mb(fts['index_bytes'])} ÷ {_mb(fts['text_bytes'])}"))  # fmt: skip
    zim = results["zim"]
    if "skipped" in zim:
        out.append(Row("ZIM search", "libzim", None, note=f"skipped: {zim['skipped']}"))
    else:
        extra = f"built in {zim['build_s']:.1f} s, uncompressed, {_mb(zim['archive_bytes'])}"
        out += _latency_rows(f"ZIM search, {zim['articles']:,} articles", "libzim", zim,
                             ZIM_GOAL_MS, extra)  # fmt: skip
    text, pdf = results["indexing"]["text"], results["indexing"]["pdf"]
    failed = f"; {text['failed'] + pdf['failed']} files failed" if text["failed"] or pdf[
        "failed"] else ""  # fmt: skip
    out.append(Row("folder indexing, text and Markdown", "index_folder",
                   text["passages"] / text["seconds"], unit="passages/s",
                   note=f"{text['files']:,} files, {text['passages']:,} passages in "
                   f"{text['seconds']:.1f} s{failed}"))  # fmt: skip
    out.append(Row("folder indexing, PDF", "index_folder (pypdf)", pdf["pages"] / pdf["seconds"],
                   unit="pages/s", note=f"{pdf['files']} files, {pdf['pages']:,} pages in "
                   f"{pdf['seconds']:.1f} s"))  # fmt: skip
    out.append(Row("index size ÷ text, text and Markdown folder", "index_folder",
                   text["index_bytes"] / text["text_bytes"], unit="×",
                   note=f"{_mb(text['index_bytes'])} ÷ {_mb(text['text_bytes'])}"))  # fmt: skip
    ret = results["retrieval"]
    for key, loop in (("fts", "FTS5"), ("zim", "libzim")):
        if key not in ret:
            continue
        r = ret[key]
        top5, top1 = 100 * r["top5"] / r["questions"], 100 * r["top1"] / r["questions"]
        label = f"{r['questions']} questions in other words, {ret['documents']} documents"
        missed = [str(i + 1) for i, rank in enumerate(r["ranks"]) if rank is None]
        note = f"missed: {', '.join(missed)}" if missed else "none missed"
        row = Row(f"answer in top 5, {label}", loop, top5, unit="%", note=note)
        if key == "fts":
            row.goal, row.met = f"≥ {TOP5_GOAL:.0%}", top5 >= 100 * TOP5_GOAL
        out.append(row)
        out.append(Row(f"answer first, {label}", loop, top1, unit="%"))
    return out + (meaning.rows(results["meaning"]) if "meaning" in results else [])


def misses(results: Result) -> list[str]:
    """One line per question whose answer was not ranked first, for below the table."""
    out = []
    for key, loop in (("fts", "FTS5"), ("zim", "libzim")):
        for m in results["retrieval"].get(key, {}).get("misses", []):
            where = f"rank {m['rank']}" if m["rank"] else "not in the top 5"
            out.append(f"{loop}: {m['question']!r} → {m['answer']!r} {where}; "
                       f"first: {m['top']!r}")  # fmt: skip
    return out


def section(quick: bool, sizes: Sizes | None = None) -> tuple[list[Row], Result]:
    """The whole section: its rows and the raw results."""
    results = measure(sizes or (QUICK if quick else FULL))
    return rows(results), results
