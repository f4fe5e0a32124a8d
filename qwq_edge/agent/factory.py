"""Build the real engine, search provider and agent from settings (shared by every front end)."""

from __future__ import annotations

from qwq_edge.agent.loop import Agent
from qwq_edge.config import Settings, resolve_model
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.paths import Paths, paths
from qwq_edge.search.cache import CachedProvider, CacheMode, SearchCache
from qwq_edge.search.tavily import TavilyProvider


def load_engine(settings: Settings, where: Paths | None = None) -> LlamaEngine:
    p = where or paths()
    return LlamaEngine(
        resolve_model(settings, p),
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        flash_attn=settings.flash_attn,
        kv_type=settings.kv_type,
        threads=settings.threads,
        log_path=p.llama_log,
    )


def open_cache(where: Paths | None = None) -> SearchCache:
    return SearchCache((where or paths()).cache_dir / "search.sqlite3")


def make_provider(settings: Settings, cache: SearchCache | None = None) -> CachedProvider:
    """Tavily behind the disk cache, in the mode the settings ask for."""
    tavily = TavilyProvider(
        settings.tavily_api_key,
        base_url=settings.tavily_url,
        timeout=settings.search_timeout,
        search_depth=settings.search_depth,
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


def build_agent(
    settings: Settings, engine: LlamaEngine | None = None, cache: SearchCache | None = None
) -> Agent:
    return Agent(engine or load_engine(settings), make_provider(settings, cache), settings)
