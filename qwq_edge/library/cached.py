"""Every web result ever fetched, in the library: a search response is indexed as it is
cached, and ``sync_cache`` catches up on entries that arrived another way (a search pack or
a bundle imported, a cache written before the library existed).

A cache entry is one library document (keyed by the cache key, so a refreshed entry
replaces its passages); each of its hits becomes passages that cite the hit's own URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence

from qwq_edge.events import Origin, PageOpened, ToolResult
from qwq_edge.library.index import Document, Library
from qwq_edge.library.pages import keep_page, stored_page
from qwq_edge.library.passages import MAX_PASSAGES, Passage, passages, text_blocks
from qwq_edge.search.base import SearchResponse
from qwq_edge.search.cache import SearchCache

SOURCE = "web results"  # the library source that holds cached web results
BATCH = 200
# A hit's content is cut into passages like any document (one huge passage would make
# every search that matches it slow: issue 28), and what a page can add is bounded.
MAX_HIT_CHARS = 2_000_000


def _document(
    key: str, query: str, hits: Sequence[Mapping[str, object]], when: float, origin: Origin
) -> Document:
    parts: list[Passage] = []
    for h in hits:
        if h.get("url") and h.get("content"):
            text = str(h["content"])[:MAX_HIT_CHARS]
            parts += passages(str(h.get("title") or h["url"]), str(h["url"]), text_blocks(text))
    return Document(key, f"cache:{key}", query, origin, parts[:MAX_PASSAGES], mtime=when)


def index_response(library: Library, response: SearchResponse, origin: Origin = "cache") -> int:
    """Index one response just stored in the cache. Returns the passages written."""
    if not response.key or response.provider == "library":
        return 0
    library.add_source(SOURCE, "cache", "search cache")
    hits = [{"title": h.title, "url": h.url, "content": h.content} for h in response.hits]
    return library.put(
        SOURCE, [_document(response.key, response.query, hits, response.fetched_at, origin)]
    )


def _entries(cache: SearchCache, known: dict[str, tuple[float, int]]) -> Iterator[Document]:
    for key, when in cache.versions().items():
        if key in known and known[key][0] == when:
            continue  # indexed already, and not refreshed since
        row = cache.entry(key)
        if row is None:
            continue  # cleared meanwhile
        try:
            hits = json.loads(row["response"]).get("hits", [])
        except (ValueError, AttributeError):
            continue  # an entry the cache itself cannot decode is not worth a passage
        if isinstance(hits, list):
            yield _document(
                key, row["query"], [h for h in hits if isinstance(h, dict)], when, "cache"
            )


def index_hits(library: Library, results: Iterable[ToolResult | PageOpened]) -> int:
    """Index the library passages a session used (an imported bundle carries them, not the
    library they came from), labelled "pack", and the passages it read of pages it opened
    (kept as pages, unless this library has its own copy). Returns the documents written."""
    docs: dict[str, Document] = {}
    pages = 0
    for result in results:
        if isinstance(result, PageOpened):
            pages += _keep_read(library, result)  # its own source, "opened pages"
            continue
        for h in result.hits:
            if h.origin in ("file", "zim", "pack") and h.url and h.content:
                passage = Passage(h.title, "", " ".join(h.content.split()), h.url)
                docs[h.url] = Document(h.url, h.url, h.title, "pack", [passage])
    if docs:
        library.add_source(SOURCE, "cache", "search cache")
        library.put(SOURCE, docs.values())
    return len(docs) + pages


def _keep_read(library: Library, opened: PageOpened) -> int:
    """A bundled session's open, kept as a page when this library has no copy of it.
    Returns the documents written (0 or 1)."""
    if opened.error or not opened.passages or opened.url.startswith(("file:", "zim:")):
        return 0
    if stored_page(library, opened.url) is not None:
        return 0
    parts = [Passage(opened.title, p.heading, p.text, opened.url) for p in opened.passages]
    keep_page(library, opened.url, opened.title, parts, opened.t)
    return 1


def sync_cache(library: Library, cache: SearchCache, origin: Origin = "cache") -> int:
    """Index every cache entry the library lacks or holds an older copy of (``origin``:
    "pack" right after a pack or bundle import). Returns the documents indexed."""
    library.add_source(SOURCE, "cache", "search cache")
    known = library.known(SOURCE)
    done = 0
    batch: list[Document] = []
    for doc in _entries(cache, known):
        batch.append(Document(doc.key, doc.uri, doc.title, origin, doc.passages, doc.mtime))
        if len(batch) >= BATCH:
            library.put(SOURCE, batch)
            done, batch = done + len(batch), []
    if batch:
        library.put(SOURCE, batch)
        done += len(batch)
    library.mark(SOURCE, complete=True)
    return done
