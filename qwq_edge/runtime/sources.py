"""Where searches go, built from settings: web search (Tavily or SearXNG) behind the disk
cache, and the local library, fanned out behind the one tool the model calls.

Every web result stored in the cache is indexed into the library at once, and a library
that opens catches up on cache entries it has not seen (packs, bundles, older caches).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from qwq_edge.engine.embedding import Embedder
from qwq_edge.errors import ConfigError
from qwq_edge.events import PageOpened, ToolResult
from qwq_edge.library.cached import index_hits, index_response, sync_cache
from qwq_edge.library.index import Library
from qwq_edge.library.provider import LibraryProvider, library_provider
from qwq_edge.library.semantic import Meaning, counts
from qwq_edge.models import catalog
from qwq_edge.paths import Paths, paths, test_models_dir
from qwq_edge.reading.reader import Reader
from qwq_edge.search.base import SearchProvider
from qwq_edge.search.cache import CachedProvider, CacheMode, SearchCache
from qwq_edge.search.fanout import FanoutProvider
from qwq_edge.search.searxng import SearxngProvider
from qwq_edge.search.tavily import TavilyProvider
from qwq_edge.settings import SearchMode, Settings, source_set


def open_cache(where: Paths | None = None) -> SearchCache:
    return SearchCache((where or paths()).cache_dir / "search.sqlite3")


def web_provider(settings: Settings) -> SearchProvider:
    """The configured web search, uncached."""
    if settings.search == "searxng":
        return SearxngProvider(
            settings.searxng_url,
            timeout=settings.search_timeout,
            max_bytes=settings.search_max_bytes,
        )
    return TavilyProvider(
        settings.tavily_api_key,
        base_url=settings.tavily_url,
        timeout=settings.search_timeout,
        search_depth=settings.search_depth,
        max_bytes=settings.search_max_bytes,
    )


EMBEDDING_MODEL = "all-minilm-l6-v2"
EMBEDDING_FILE = "all-MiniLM-L6-v2.f16.gguf"  # what `make run` converts into the model cache


def embedding_model_path(settings: Settings, where: Paths | None = None) -> Path:
    """The embedding model: ``embedding_model`` as a path or a catalog name, else the
    catalog's all-MiniLM-L6-v2, else the copy `make run` converted."""
    spec = settings.embedding_model
    if spec and (spec.endswith(".gguf") or "/" in spec):
        return Path(spec).expanduser()
    try:
        model, quant = catalog.find(spec or EMBEDDING_MODEL, where)
        path = catalog.local_path(model, quant, where)
    except ConfigError:
        if spec:
            raise
        path = test_models_dir() / EMBEDDING_FILE
    return path if path.is_file() or spec else test_models_dir() / EMBEDDING_FILE


def meaning_for(library: Library, settings: Settings, where: Paths | None = None) -> Meaning:
    """Semantic search for ``library``, its model loaded on the first search."""
    p = where or paths()
    path = embedding_model_path(settings, p)

    def load() -> Embedder:
        return Embedder(path, threads=settings.threads, log_path=p.llama_log)

    meaning = Meaning(library, load, settings.library_mode)
    if settings.library_mode == "bm25":
        return meaning
    embedded, total = counts(library)
    if not path.is_file():
        meaning.note = (
            f"searching the library by words only: the embedding model {path} is missing "
            "(`make run` or `qwq-edge models pull all-minilm-l6-v2` fetches it)"
        )
    elif total and not embedded:
        meaning.note = (
            "searching the library by words only: its passages have no vectors yet "
            "(`qwq-edge library embed` makes them)"
        )
    return meaning


def open_library(
    where: Paths | None = None,
    cache: SearchCache | None = None,
    settings: Settings | None = None,
) -> LibraryProvider:
    """The library and its archives, caught up with ``cache``; with ``settings``, searched
    by meaning too (``library_mode``)."""
    library = library_provider((where or paths()).library)
    if library.library is not None and cache is not None:
        try:
            sync_cache(library.library, cache)
        except (sqlite3.Error, OSError) as exc:  # a full disk: search what is indexed
            library.notes.append(f"the library could not take in new cached results ({exc})")
    if library.library is not None and settings is not None:
        library.meaning = meaning_for(library.library, settings, where)
        if library.meaning.note:
            library.notes.append(library.meaning.note)
    return library


def index_imported(
    cache: SearchCache,
    results: Iterable[ToolResult | PageOpened] = (),
    where: Paths | None = None,
) -> int:
    """Index what just arrived from a pack or a bundle (origin "pack"): new cache entries,
    and the library passages a bundled session used. Returns the documents indexed."""
    library = library_provider((where or paths()).library)
    if library.library is None:
        return 0
    try:
        return sync_cache(library.library, cache, "pack") + index_hits(library.library, results)
    finally:
        library.close()


def make_provider(
    settings: Settings,
    cache: SearchCache | None = None,
    where: Paths | None = None,
) -> FanoutProvider:
    """The sources the settings ask for (``sources``), behind one provider."""
    names = source_set(settings)
    cache = cache or open_cache(where)
    library = open_library(where, cache, settings)
    parts: list[SearchProvider] = []
    if "web" in names:
        mode: CacheMode = (
            "offline" if settings.offline else "refresh" if settings.refresh else "online"
        )
        days = settings.cache_max_age_days
        index = library.library
        parts.append(
            CachedProvider(
                web_provider(settings),
                cache,
                mode=mode,
                max_age=days * 86400 if days > 0 else None,
                params={"search_depth": settings.search_depth}
                if settings.search == "tavily"
                else {},
                on_store=(lambda r: index_response(index, r)) if index is not None else None,
            )
        )
    if "library" in names:
        parts.append(library)
    return FanoutProvider(parts, per_origin=settings.results_per_origin)


def make_reader(
    settings: Settings, provider: SearchProvider | None, *, offline: bool = False
) -> Reader:
    """What ``open`` reads through: the library inside ``provider`` (its documents, archives
    and kept pages) and the web, offline whenever the session's web search is (or always,
    for a re-run)."""
    cached = web_part(provider)

    def is_offline() -> bool:
        return offline or settings.offline or (cached is not None and cached.mode == "offline")

    return Reader(
        library_part(provider),
        timeout=settings.open_timeout,
        max_bytes=settings.open_max_bytes,
        allow_private=settings.open_allow_private,
        offline=is_offline,
    )


def offline_provider(cache: SearchCache | None = None) -> CachedProvider:
    """Searches from the disk cache only: what a re-run falls back on, never the network."""
    return CachedProvider(None, cache or open_cache(), mode="offline")


P = TypeVar("P")


def _part(provider: SearchProvider | None, kind: type[P]) -> P | None:
    """``provider`` itself, or its part of that kind when it is a fan-out."""
    if isinstance(provider, kind):
        return provider
    if isinstance(provider, FanoutProvider):
        return next((p for p in provider.parts if isinstance(p, kind)), None)
    return None


def web_part(provider: SearchProvider | None) -> CachedProvider | None:
    """The cached web search inside ``provider``."""
    return _part(provider, CachedProvider)


def library_part(provider: SearchProvider | None) -> LibraryProvider | None:
    """The library inside ``provider``."""
    return _part(provider, LibraryProvider)


def can_search_web(settings: Settings) -> bool:
    """Whether the configured web search has what it needs: a Tavily key, or a SearXNG URL."""
    return web_provider(settings).unavailable() is None


def search_mode(settings: Settings, provider: SearchProvider | None) -> SearchMode:
    """Where searches can go, in the words the app shows: "library only" when the web is not
    among the sources, "offline" when the setting says so or the session's web search found
    the network unreachable, "library only" when the web cannot be searched (no key, no
    server) but the library can, "no search key" when nothing can, else "web".

    ``provider`` is the session's (None: no session yet, so the settings say); without one a
    library among the sources is taken as searchable. Never touches the disk or network."""
    if provider is None:
        try:
            names = source_set(settings)
        except ConfigError:
            names = frozenset({"web"})  # the settings screen and the first question say why
        web, library = "web" in names, "library" in names
        offline, ready = settings.offline, can_search_web(settings)
    else:
        cached, part = web_part(provider), library_part(provider)
        # Some other search (a test's, a re-run's) is taken as the web.
        web = cached is not None or part is None
        library = part is not None and (part.library is not None or bool(part.archives))
        # went_offline sets the mode, and going back online clears it: the mode says all.
        offline = settings.offline or (cached is not None and cached.mode == "offline")
        inner = cached.inner if cached is not None else provider
        ready = inner is not None and inner.unavailable() is None
    if not web:
        return "library only"
    if offline:
        return "offline"
    if not ready:
        return "library only" if library else "no search key"
    return "web"


def cache_of(provider: SearchProvider | None) -> SearchCache | None:
    """The disk cache behind a provider, if it has one."""
    web = web_part(provider)
    return web.cache if web is not None else None


def provider_notices(provider: SearchProvider | None) -> list[str]:
    """What the user should hear once about the sources: a corrupt cache or library set
    aside, no FTS5, a ZIM that would not open."""
    out: list[str] = []
    cache = cache_of(provider)
    if cache is not None and cache.notice:
        out.append(cache.notice)
    library = library_part(provider)
    if library is not None:
        out += library.notes
    return out
