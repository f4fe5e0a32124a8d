"""Finding passages by meaning: passage vectors beside the FTS5 index, brute-force cosine
search, and hybrid ranking by reciprocal-rank fusion of bm25 and the vectors.

Vectors are float16 blobs in the library database (768 bytes a passage for 384 dimensions),
written after the full-text index, in batches that commit as they go: embedding is slow on
a CPU (passages per second, not thousands), so it is incremental and resumable, and the
library answers by bm25 meanwhile. The vectors are loaded into one matrix on first use and
reloaded when their count changes; a matrix product over 100k rows is milliseconds, so no
ANN index is needed at that size (the bench measures it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import SearchHit
from qwq_edge.library.index import Library

Mode = Literal["bm25", "semantic", "hybrid"]
RRF_K = 60  # reciprocal-rank fusion's constant (Cormack et al.; the issue measured k = 60)
DEPTH = 50  # each ranking contributes its top 50
SEMANTIC_MARGIN = 0.10  # the vectors' votes: passages within this cosine of the best
LEXICAL_MARGIN = 0.15  # bm25's votes: passages within this cosine of the best
BATCH = 32
SNIPPET_WORDS = 60


class Embeds(Protocol):
    """What the library needs of an embedding model (``engine.embedding.Embedder``)."""

    dims: int

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


@dataclass
class EmbedReport:
    embedded: int = 0  # passages embedded in this run
    total: int = 0  # passages in the library
    seconds: float = 0.0
    stopped: bool = False


def text_of(title: str, heading: str, body: str) -> str:
    """What is embedded for a passage: where it sits, then what it says."""
    where = " › ".join(p for p in (title, heading) if p)
    return f"{where}: {body}" if where else body


def counts(library: Library) -> tuple[int, int]:
    """(passages with a vector, passages)."""
    with library.locked() as conn:
        done = conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    return int(done), int(total)


def embed_pending(
    library: Library,
    model: Embeds,
    *,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
    batch: int = BATCH,
) -> EmbedReport:
    """Embed every passage that has no vector yet, ``batch`` at a time, each batch committed:
    a stopped or killed run keeps what it did and the next run goes on from there."""
    t0 = time.perf_counter()
    done, total = counts(library)
    report = EmbedReport(total=total)
    while not (stop is not None and stop.is_set()):
        with library.locked() as conn:
            rows = conn.execute(
                "SELECT c.id, p.title, p.heading, p.body FROM chunks c"
                " JOIN passages p ON p.rowid = c.id"
                " WHERE c.id NOT IN (SELECT chunk FROM vectors) ORDER BY c.id LIMIT ?",
                (batch,),
            ).fetchall()
        if not rows:
            break
        vectors = model.embed([text_of(r[1], r[2], r[3]) for r in rows]).astype(np.float16)
        with library.writing() as conn:
            # OR IGNORE: a passage dropped meanwhile (reindex) leaves no orphan behind, and
            # one embedded twice by two processes keeps its first vector.
            conn.executemany(
                "INSERT OR IGNORE INTO vectors (chunk, vec) SELECT ?, ?"
                " WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?)",
                [(r[0], v.tobytes(), r[0]) for r, v in zip(rows, vectors, strict=True)],
            )
        report.embedded += len(rows)
        if progress is not None:
            progress(done + report.embedded, total)
    report.stopped = stop is not None and stop.is_set() and counts(library)[0] < total
    report.seconds = time.perf_counter() - t0
    return report


class VectorIndex:
    """The library's vectors as one matrix, for cosine search by a matrix product."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, 0), dtype=np.float32)
        self._loaded: tuple[int, int] = (-1, -1)
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        with self.library.locked() as conn:
            # Cheap: another connection's commit bumps data_version, this one's own writes
            # bump total_changes (a COUNT(*) over 100k vectors took 18 ms a query).
            version = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
            if version == self._loaded:
                return
            rows = conn.execute("SELECT chunk, vec FROM vectors ORDER BY chunk").fetchall()
        self._ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        dims = len(rows[0][1]) // 2 if rows else 0
        # float32 in memory: numpy has no BLAS for float16, and a float16 product over 100k
        # rows took 186 ms against 8 ms in float32 (measured here); disk stays float16.
        self._matrix = (
            np.frombuffer(blob, dtype=np.float16).reshape(len(rows), dims).astype(np.float32)
        )
        self._loaded = version

    def top(self, query: npt.NDArray[np.float32], n: int) -> list[tuple[int, float]]:
        """The ``n`` passages closest to the unit vector ``query``: (id, cosine)."""
        with self._lock:
            self._refresh()
            if not len(self._ids):
                return []
            scores = self._matrix @ query.astype(np.float32)
        k = min(n, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(int(self._ids[i]), float(scores[i])) for i in best]

    def cosines(self, ids: list[int], query: npt.NDArray[np.float32]) -> dict[int, float]:
        """The cosine of each passage in ``ids`` that has a vector (others are left out)."""
        with self._lock:
            self._refresh()
            if not len(self._ids) or not ids:
                return {}
            want = np.asarray(ids, dtype=np.int64)
            at = np.clip(np.searchsorted(self._ids, want), 0, len(self._ids) - 1)
            found = self._ids[at] == want
            scores = self._matrix[at[found]] @ query.astype(np.float32)
        return {int(i): float(c) for i, c in zip(want[found], scores, strict=True)}

    def __len__(self) -> int:
        with self._lock:
            self._refresh()
            return len(self._ids)


def fuse(*rankings: list[int], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each passage scores the sum of 1 / (k + rank) over the
    rankings it appears in; best first."""
    score: dict[int, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking, 1):
            score[pid] = score.get(pid, 0.0) + 1.0 / (k + rank)
    return sorted(score.items(), key=lambda item: -item[1])


def search(
    library: Library,
    vectors: VectorIndex,
    model: Embeds,
    query: str,
    limit: int,
    mode: Mode = "hybrid",
) -> list[SearchHit]:
    """The best passages by meaning ("semantic") or by words and meaning ("hybrid"), one
    per source, shaped like the bm25 hits."""
    qvec = model.embed([query])[0]
    near = vectors.top(qvec, DEPTH)
    if mode == "semantic" or not near:
        ranking = fuse([pid for pid, _ in near])
    else:
        # Each ranking votes only for passages close in meaning to the best match: a passage
        # that merely shares a common word ("model", "reply") must not outvote the one that
        # answers a question asked in other words. Measured on the bench's 30 paraphrase and
        # 20 name questions: top 5 went from 18/30 and 20/20 (plain fusion) to 30/30, 20/20.
        best = near[0][1]
        meaning = [pid for pid, cos in near if cos >= best - SEMANTIC_MARGIN]
        lexical = library.ranked(query, DEPTH)
        cos = vectors.cosines(lexical, qvec)
        # A passage not embedded yet (embedding runs in the background) keeps its vote.
        lexical = [pid for pid in lexical if cos.get(pid, best) >= best - LEXICAL_MARGIN]
        ranking = fuse(lexical, meaning)
    if not ranking:
        return []
    top = ranking[0][1]
    ids = [pid for pid, _ in ranking]
    with library.locked() as conn:
        marks = ",".join("?" * len(ids))
        rows = {
            r[0]: r
            for r in conn.execute(
                f"SELECT rowid, title, heading, body, uri, origin FROM passages"
                f" WHERE rowid IN ({marks})",
                ids,
            )
        }
    hits: dict[str, SearchHit] = {}
    asked = {w.casefold() for w in query.split()}
    for pid, score in ranking:
        r = rows.get(pid)
        if r is None or r[4] in hits:
            continue
        title = f"{r[1]} › {r[2]}" if r[2] and r[2] != r[1] else r[1]
        hits[r[4]] = SearchHit(title, r[4], _snippet(r[3], asked), round(score / top, 6), r[5])
        if len(hits) >= limit:
            break
    return list(hits.values())


def _snippet(body: str, words: set[str]) -> str:
    """About ``SNIPPET_WORDS`` words of the passage, from just before the first query word
    it contains (its start when it shares none: a match by meaning)."""
    tokens = body.split()
    at = next((i for i, t in enumerate(tokens) if t.casefold().strip(".,;:!?") in words), 0)
    start = max(0, at - 10)
    piece = " ".join(tokens[start : start + SNIPPET_WORDS])
    return ("… " if start else "") + piece + (" …" if start + SNIPPET_WORDS < len(tokens) else "")


class Meaning:
    """Semantic or hybrid search for one library, with the embedding model loaded on the
    first search (``load``). Any failure to embed turns it off for the session: the library
    answers by bm25, and ``note`` says why, once."""

    def __init__(self, library: Library, load: Callable[[], Embeds], mode: Mode) -> None:
        self.library = library
        self.mode: Mode = mode
        self.vectors = VectorIndex(library)
        self._load = load
        self._model: Embeds | None = None
        self.note: str | None = None
        self._lock = threading.Lock()

    def search(self, query: str, limit: int) -> list[SearchHit] | None:
        """Hits, or None when the caller should rank by bm25 instead."""
        if self.mode == "bm25" or self.note is not None:
            return None
        try:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
            if not len(self.vectors):
                return None
            return search(self.library, self.vectors, self._model, query, limit, self.mode)
        except QwqEdgeError as exc:
            self.note = f"searching the library by words only: {exc}"
            return None
