"""Build the real engine, search provider and agent from settings (shared by every front end)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import cast

from qwq_edge.agent.loop import Agent
from qwq_edge.config import KvType, Settings, catalog_entry, resolve_model
from qwq_edge.engine import fit, hardware
from qwq_edge.engine.gguf import check_architecture, read_gguf
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.paths import Paths, paths
from qwq_edge.search.cache import CachedProvider, CacheMode, SearchCache
from qwq_edge.search.tavily import TavilyProvider


def can_offload() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def fit_request(settings: Settings, where: Paths | None = None) -> fit.Request:
    """The settings as a planner request, with the catalog's context targets for the model."""
    entry = catalog_entry(settings, where)
    return fit.Request(
        n_ctx=settings.n_ctx or None,
        kv_type=None if settings.kv_type == "auto" else settings.kv_type,
        n_gpu_layers=settings.n_gpu_layers,
        target_ctx=entry.n_ctx if entry else 16384,
        min_ctx=entry.min_ctx if entry else 8192,
    )


def plan_model(
    settings: Settings, path: Path, memory: fit.Memory | None = None, where: Paths | None = None
) -> fit.Plan:
    """Plan GPU layers, context and KV type for ``path``; raises FitError with the numbers
    when an explicit setting cannot fit."""
    header = read_gguf(path)
    check_architecture(header)
    offload = memory is None and can_offload()
    mem = memory or hardware.this_machine(offload)
    shape = fit.ModelShape.from_gguf(header)
    request = fit_request(settings, where)
    if offload and mem.gpu_bytes <= 0:
        # The build offloads (ROCm, Vulkan, CUDA without nvidia-smi...) but we cannot see the
        # GPU's memory: plan the context against RAM and offload as asked, or everything.
        plan = fit.plan(shape, mem, dataclasses.replace(request, n_gpu_layers=None))
        ngl = -1 if settings.n_gpu_layers is None else settings.n_gpu_layers
        n = shape.layers if ngl < 0 else min(ngl, shape.layers)
        note = "GPU memory unknown: offloading as configured, context planned against RAM"
        return dataclasses.replace(
            plan, n_gpu_layers=n, all_on_gpu=n == shape.layers, notes=(*plan.notes, note)
        )
    return fit.plan(shape, mem, request)


def load_engine(
    settings: Settings, where: Paths | None = None, path: Path | None = None
) -> LlamaEngine:
    p = where or paths()
    path = path or resolve_model(settings, p)
    plan = plan_model(settings, path, where=p)
    summary = plan.summary() + "".join(f"; {n}" for n in plan.notes)
    return LlamaEngine(
        path,
        n_ctx=plan.n_ctx,
        n_gpu_layers=plan.llama_gpu_layers,
        flash_attn=settings.flash_attn or plan.kv_type != "f16",
        kv_type=cast(KvType, plan.kv_type),
        threads=settings.threads,
        log_path=p.llama_log,
        fit=summary,
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
