"""Kiwix ZIM archives searched at query time with their own indexes (nothing is imported).

A ZIM (Wikipedia, Stack Exchange, Gutenberg …) already carries a Xapian full-text index and
a title index, so the library asks the archive directly instead of copying millions of
articles into its own FTS5 table. libzim returns entry paths only (no score, no snippet),
so this module reads the candidate articles, cuts them into passages and picks and ranks
the passage that best answers the query itself (docs/architecture.md, "The library").

Three libzim facts shape the code:
- libzim is GPL-3 and an optional extra, so it is imported inside functions only and the
  core works without it.
- Its query parser ANDs every word and has no boolean operators: "teasel OR wool" finds
  neither article (OR is just another word to match, and so are AND, NOT and NEAR). A
  question-shaped query finds nothing, so ``search`` relaxes it in steps (see ``_relaxed``).
- Searching is not thread-safe, so each archive searches under its own lock.
- A damaged archive makes libzim print its own complaint from C++ straight to file
  descriptor 2 ("Something went wrong opening xapian database…"), where Python cannot catch
  it, besides raising. So fd 2 points at /dev/null while libzim opens or searches an archive
  (as the tests' ZIM builder does with fd 1 for the Creator), and the failure reaches the
  user as qwq-edge's one sentence instead.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from qwq_edge.errors import LibraryError
from qwq_edge.events import SearchHit
from qwq_edge.library.index import terms
from qwq_edge.library.passages import SEP, Passage, html_blocks, passages

NO_LIBZIM = "reading ZIM archives needs the optional libzim package: pip install 'qwq-edge[zim]'"
OVERFETCH = 3  # candidates read per hit wanted: libzim ranks articles, we rank passages
TERM_WINDOW = 30  # results per single-word search when the words are searched one by one
SNIPPET_WORDS = 60  # a hit's content: about this many words around the best match
MAX_HTML = 400_000  # characters of an article parsed for passages (bounds a huge page's cost)
MAX_REDIRECTS = 8


# A libzim search backend: (query, how many) -> (entry paths best first, how many match).
Backend = Callable[[str, int], tuple[list[str], int]]


@dataclass(frozen=True)
class _Hit:
    hits: int  # distinct query words in the passage
    words: int  # distinct query words
    title: str
    url: str
    content: str

    @property
    def share(self) -> float:
        return (self.hits + 1) / (self.words + 1)


def _libzim(module: str) -> ModuleType:
    """``libzim.<module>``, imported on first use. ``importlib`` keeps mypy away from the
    package (it ships .pyi files but no py.typed marker), so its objects are ``Any`` here."""
    try:
        return importlib.import_module(f"libzim.{module}")
    except ImportError:
        raise LibraryError(NO_LIBZIM) from None


# fd 2 is the process's: threads searching two archives at once share one redirection, put
# back when the last of them is done.
_quiet_lock = threading.Lock()
_quiet_count = 0
_saved_fd = -1


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """File descriptor 2 on /dev/null for the duration (libzim writes there from C++)."""
    global _quiet_count, _saved_fd
    with _quiet_lock:
        if _quiet_count == 0:
            with contextlib.suppress(ValueError, OSError):
                sys.stderr.flush()
            null = os.open(os.devnull, os.O_WRONLY)
            _saved_fd = os.dup(2)
            os.dup2(null, 2)
            os.close(null)
        _quiet_count += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_count -= 1
            if _quiet_count == 0:
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)


def _reason(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".") or type(exc).__name__


def open_archive(path: Path, name: str | None = None) -> ZimArchive:
    """Open a ZIM for searching. Raises ``LibraryError`` (one sentence naming the file) when
    libzim is missing or the file is missing, truncated, corrupt or not a ZIM at all."""
    reader = _libzim("reader")
    path = Path(path).expanduser()
    if not path.exists():
        raise LibraryError(f"{path} does not exist, so it cannot be opened as a ZIM archive")
    if path.is_dir():
        raise LibraryError(f"{path} is a folder, not a ZIM archive")
    try:
        with quiet_stderr():
            archive = reader.Archive(path)
            # Opening reads the header and checks the recorded offsets against the file
            # size, which catches truncated and non-ZIM files. The full check
            # (``archive.check()``) MD5s the whole file, minutes for a 100 GB Wikipedia, so
            # it is not run here; a damaged cluster or index is a LibraryError when read.
            count, fulltext = int(archive.article_count), bool(archive.has_fulltext_index)
    except Exception as exc:  # libzim raises RuntimeError, but its bindings vary
        raise LibraryError(f"{path} is not a readable ZIM archive ({_reason(exc)})") from None
    return ZimArchive(archive, path, name or path.stem, count, fulltext)


class ZimArchive:
    """One open archive. Searching holds a per-archive lock (libzim's searchers are not
    thread-safe), so one ``ZimArchive`` can be shared by the agent's threads."""

    def __init__(self, archive: Any, path: Path, name: str, entry_count: int, fulltext: bool):
        self._archive = archive  # libzim.reader.Archive (untyped: see _libzim)
        self.path = path
        self.name = name
        self.entry_count = entry_count  # articles (front entries), not images or metadata
        self.has_fulltext = fulltext
        self._lock = threading.Lock()
        self._searcher: Any = None  # built once: opening the Xapian database is not free
        self._suggester: Any = None

    def __repr__(self) -> str:
        return f"ZimArchive({self.name!r}, {str(self.path)!r}, {self.entry_count} articles)"

    def close(self) -> None:
        """libzim has no close: its Archive shuts the file when it is garbage collected. So
        this only drops our references (letting that happen, so a removed source does not
        keep its file open on Windows); searching afterwards is a LibraryError."""
        with self._lock:
            self._archive = self._searcher = self._suggester = None

    # -- searching -------------------------------------------------------------------

    def search(self, query: str, limit: int = 5) -> list[SearchHit]:
        """The best passages for ``query``, one per article, best first."""
        words = terms(query)
        if limit <= 0 or not words:
            return []
        with self._lock:
            if self._archive is None:
                raise LibraryError(f"the ZIM archive {self.path} was closed")
            try:
                with quiet_stderr():
                    backend = self._fulltext if self.has_fulltext else self._titles
                    paths = _relaxed(backend, query, words, limit * OVERFETCH)
                    ranked = self._rank(paths, words, limit)
            except LibraryError:
                raise
            except Exception as exc:
                raise self._broken(exc) from None
        # The share of the query's words the passage has, lowered a little by rank so the
        # scores fall in the order of the list: (0, 1], higher is better.
        return [
            SearchHit(h.title, h.url, h.content, round(h.share / (1 + i / 10), 6), origin="zim")
            for i, h in enumerate(ranked)
        ]

    def _fulltext(self, query: str, count: int) -> tuple[list[str], int]:
        if self._searcher is None:
            self._searcher = _libzim("search").Searcher(self._archive)
        found = self._searcher.search(_libzim("search").Query().set_query(query))
        return list(found.getResults(0, count)), int(found.getEstimatedMatches())

    def _titles(self, query: str, count: int) -> tuple[list[str], int]:
        # The title index (or libzim's title listing when even that is missing). Its
        # estimate is loose (it counted 1 for a query with no result), so count the paths.
        if self._suggester is None:
            self._suggester = _libzim("suggestion").SuggestionSearcher(self._archive)
        paths = list(self._suggester.suggest(query).getResults(0, count))
        return paths, len(paths)

    def _rank(self, paths: list[str], words: list[str], limit: int) -> list[_Hit]:
        """Read each candidate, keep its best passage, and order the articles by how many
        query words that passage (with its headings) has, then by libzim's order."""
        want = _Terms(words)
        scored: list[tuple[int, int, Passage]] = []
        seen: set[str] = set()
        complete = 0
        for order, path in enumerate(paths):
            entry = self._html_entry(path)
            if entry is None or entry.path in seen:
                continue
            seen.add(entry.path)
            best = max(self._passages(entry)[1], key=want.match, default=None)
            if best is None:
                continue
            hits = want.match(best)[0]
            scored.append((-hits, order, best))
            complete += hits == len(want.stems)
            if complete >= limit:
                break  # later candidates can at best tie these, and ties keep libzim's order
        scored.sort(key=lambda s: (s[0], s[1]))
        return [
            _Hit(-neg, len(want.stems), _label(p.title, p.heading), p.uri, want.snippet(p.text))
            for neg, _, p in scored[:limit]
        ]

    def _html_entry(self, path: str) -> Any:
        """The entry at ``path`` with redirects followed, or None when it is not HTML."""
        entry = self._archive.get_entry_by_path(path)
        for _ in range(MAX_REDIRECTS):
            if not entry.is_redirect:
                break
            entry = entry.get_redirect_entry()
        if entry.is_redirect or not str(entry.get_item().mimetype).startswith("text/html"):
            return None
        return entry

    def _passages(self, entry: Any) -> tuple[str, list[Passage]]:
        html = bytes(entry.get_item().content).decode("utf-8", errors="replace")
        page_title, blocks = html_blocks(html[:MAX_HTML])
        title = str(entry.title) or page_title or str(entry.path)
        return title, passages(title, f"zim://{self.name}/{entry.path}", blocks)

    def _broken(self, exc: BaseException) -> LibraryError:
        return LibraryError(f"the ZIM archive {self.path} could not be searched ({_reason(exc)})")

    # -- reading ---------------------------------------------------------------------

    def article(self, entry_path: str) -> tuple[str, list[Passage]]:
        """An article's title and passages (opening a source shows the text around a hit).
        Redirects are followed; a missing or non-HTML entry is a ``LibraryError``."""
        with self._lock:  # reading is mostly thread-safe, but the searcher shares the file
            if self._archive is None:
                raise LibraryError(f"the ZIM archive {self.path} was closed")
            try:
                with quiet_stderr():
                    if not self._archive.has_entry_by_path(entry_path):
                        where = f"the ZIM archive {self.name}"
                        raise LibraryError(f"{where} has no entry {entry_path!r}")
                    entry = self._html_entry(entry_path)
                    if entry is None:
                        where = f"the ZIM archive {self.name}"
                        raise LibraryError(f"{entry_path!r} in {where} is not an HTML article")
                    return self._passages(entry)
            except LibraryError:
                raise
            except Exception as exc:
                raise LibraryError(
                    f"{entry_path!r} could not be read from the ZIM archive {self.path} "
                    f"({_reason(exc)})"
                ) from None


def _relaxed(search: Backend, query: str, words: list[str], want: int) -> list[str]:
    """Candidate paths for ``query``, loosening it until something matches, because libzim
    ANDs every word and has no OR:

    1. the query as written (a model's keyword query usually works as is);
    2. its words without stopwords ("what were teasel heads used for" → "teasel heads");
    3. each word on its own, the union ranked by how many of the words an article has,
       rarer words counting more (their weight is log(articles / matches), like idf).
    """
    paths, _ = search(query, want)
    if paths:
        return paths
    joined = " ".join(words)
    if joined != query.strip().casefold():
        paths, _ = search(joined, want)
        if paths:
            return paths
    if len(words) == 1:
        return []
    window = max(TERM_WINDOW, want)
    found: dict[str, list[float]] = {}  # path -> [words matched, idf sum, best position]
    runs = [(w, *search(w, window)) for w in words]
    total = max((n for _, _, n in runs), default=1) + 1
    for _, hits, n in runs:
        weight = math.log(1 + total / max(n, 1))
        for pos, path in enumerate(hits):
            got = found.setdefault(path, [0, 0.0, pos])
            got[0] += 1
            got[1] += weight
            got[2] = min(got[2], pos)
    ranked = sorted(found, key=lambda p: (-found[p][0], -found[p][1], found[p][2]))
    return ranked[:want]


def stem(word: str) -> str:
    """A crude English stem, enough to see that "heads" in a query matches "head" in the
    text (Xapian stems both sides, so its matches would otherwise look term-less here)."""
    w = word.casefold()
    if w.endswith("ss"):
        return w
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: len(w) - len(suffix)] + repl
            break
    return w[:-1] if w.endswith("e") and len(w) >= 4 else w  # raise, raised, raises: rais


class _Terms:
    """The query's words, found in text by stem. Stemming every word of every candidate in
    Python was most of a search's time, so one regex (run in C) finds the words that start
    like a query stem, and only those few are stemmed to confirm."""

    def __init__(self, words: list[str]) -> None:
        self.stems = {stem(w) for w in words}
        # A word whose stem is S starts with S, or with S minus its "y" (bodies → body).
        heads = {s[:-1] if s.endswith("y") and len(s) >= 4 else s for s in self.stems}
        alternatives = "|".join(map(re.escape, sorted(heads, key=len, reverse=True)))
        self._pattern = re.compile(rf"\b(?:{alternatives})\w*", re.IGNORECASE)

    def found(self, text: str) -> list[str]:
        """The stems of the query words in ``text``, in order, repeats kept."""
        return [s for m in self._pattern.findall(text) if (s := stem(m)) in self.stems]

    def match(self, p: Passage) -> tuple[int, int]:
        """(distinct query words in the passage or its title/headings, their count in the
        text): what picks an article's best passage and ranks the articles."""
        text = self.found(p.text)
        return len(set(text) | set(self.found(f"{p.title} {p.heading}"))), len(text)

    def snippet(self, text: str) -> str:
        """About SNIPPET_WORDS words of ``text``: the window (starting a little before a
        match) that holds the most distinct query words, the earliest on a tie."""
        words = text.split()
        if len(words) <= SNIPPET_WORDS:
            return text
        keys = [set(self.found(word)) for word in words]
        best, best_n = 0, -1
        for pos, key in enumerate(keys):
            if key:
                start = max(0, min(pos - 10, len(words) - SNIPPET_WORDS))
                n = len(set().union(*keys[start : start + SNIPPET_WORDS]))
                if n > best_n:
                    best, best_n = start, n
        end = best + SNIPPET_WORDS
        cut = " ".join(words[best:end])
        return ("… " if best else "") + cut + (" …" if end < len(words) else "")


def _label(title: str, heading: str) -> str:
    """ "Article › Section": the heading path without the article's own title at its top
    (ZIM pages repeat the title as their h1)."""
    if heading == title or not heading:
        return title
    return f"{title}{SEP}{heading.removeprefix(title + SEP)}"
