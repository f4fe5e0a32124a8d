"""Build the real engine, search provider and agent from settings (shared by every front end)."""

from __future__ import annotations

from qwq_edge.agent.loop import Agent
from qwq_edge.config import Settings, resolve_model
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.paths import Paths, paths
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


def make_provider(settings: Settings) -> TavilyProvider:
    return TavilyProvider(
        settings.tavily_api_key,
        base_url=settings.tavily_url,
        timeout=settings.search_timeout,
        search_depth=settings.search_depth,
    )


def build_agent(settings: Settings, engine: LlamaEngine | None = None) -> Agent:
    return Agent(engine or load_engine(settings), make_provider(settings), settings)
