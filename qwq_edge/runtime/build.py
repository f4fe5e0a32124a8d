"""The composition root: the real engine, search providers, journal and agent, built from
settings. Every front end (CLI, TUI, bench) builds through here and nowhere else."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from qwq_edge.agent.loop import Agent
from qwq_edge.engine.base import Engine
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.models import resolve
from qwq_edge.paths import Paths, paths
from qwq_edge.search.base import SearchProvider
from qwq_edge.search.cache import CachedProvider, CacheMode, SearchCache
from qwq_edge.search.tavily import TavilyProvider
from qwq_edge.settings import Settings, load
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder


def load_settings(overrides: dict[str, Any] | None = None, where: Paths | None = None) -> Settings:
    """Defaults < config file < environment < ``overrides``, then the catalog's
    recommendations for the chosen model wherever nothing was set."""
    return resolve.recommended(load(overrides, where), where)


def load_engine(
    settings: Settings,
    where: Paths | None = None,
    path: Path | None = None,
    *,
    log_path: Path | None = None,
) -> LlamaEngine:
    """Resolve, check and plan the model once, then load it as planned (``path``: this file
    instead of the one the settings name; ``log_path``: where llama.cpp's log goes)."""
    p = where or paths()
    model = resolve.locate(settings, p, path)
    plan = resolve.plan(settings, model)
    return LlamaEngine(model, plan, threads=settings.threads, log_path=log_path or p.llama_log)


def open_cache(where: Paths | None = None) -> SearchCache:
    return SearchCache((where or paths()).cache_dir / "search.sqlite3")


def open_journal(where: Paths | None = None) -> Journal:
    return Journal((where or paths()).data_dir / "journal.sqlite3")


def say_notice(store: Journal | SearchCache | None) -> None:
    """A store that set a corrupt file aside says so once (CLI commands)."""
    if store is not None and store.notice:
        print(f"qwq-edge: note: {store.notice}", file=sys.stderr)


def cache_of(provider: SearchProvider | None) -> SearchCache | None:
    """The disk cache behind a provider (``make_provider``'s), if it has one: its
    ``notice`` says whether a corrupt cache file was set aside when it opened."""
    cache = getattr(provider, "cache", None)
    return cache if isinstance(cache, SearchCache) else None


def make_provider(settings: Settings, cache: SearchCache | None = None) -> CachedProvider:
    """Tavily behind the disk cache, in the mode the settings ask for."""
    tavily = TavilyProvider(
        settings.tavily_api_key,
        base_url=settings.tavily_url,
        timeout=settings.search_timeout,
        search_depth=settings.search_depth,
        max_bytes=settings.search_max_bytes,
    )
    mode: CacheMode = "offline" if settings.offline else "refresh" if settings.refresh else "online"
    days = settings.cache_max_age_days
    return CachedProvider(
        tavily,
        cache or open_cache(),
        mode=mode,
        max_age=days * 86400 if days > 0 else None,
        params={"search_depth": settings.search_depth},
    )


def offline_provider(cache: SearchCache | None = None) -> CachedProvider:
    """Searches from the disk cache only: what a re-run falls back on, never the network."""
    return CachedProvider(None, cache or open_cache(), mode="offline")


def recorder_for(journal: Journal, engine: Engine, session_id: str | None = None) -> Recorder:
    """The journal's consumer for a session on ``engine`` (``session_id``: continue one)."""
    info = engine.info
    path = Path(info.path)
    return Recorder(
        journal,
        model_path=path if path.is_file() else None,
        quant=info.quant,
        session_id=session_id,
    )


def build_agent(
    settings: Settings,
    engine: Engine | None = None,
    provider: SearchProvider | None = None,
    *,
    session_id: str | None = None,
) -> Agent:
    engine = engine or load_engine(settings)
    return Agent(engine, provider or make_provider(settings), settings, session_id=session_id)
