"""Which model, where it is, and how it will run: from a name, a path, the config or the
environment to one checked ``ModelFile`` and one ``Plan``.

Order when nothing names a model: a pulled QwQ-32B (best quant first), then the small test
model that ``make run`` fetches. The catalog's recommendations for the chosen model fill in
the settings nobody set.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qwq_edge.errors import ConfigError
from qwq_edge.models import catalog, fit, hardware
from qwq_edge.models.catalog import Model, Quant
from qwq_edge.models.files import ModelFile, open_model
from qwq_edge.paths import Paths, paths, test_models_dir
from qwq_edge.settings import Settings

DEFAULT_TEST_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# Preferred real models, best first: a pulled QwQ-32B wins over the small test model.
PREFERRED_MODELS = (
    "qwq-32b-q4_k_m.gguf",
    "qwq-32b-q5_k_m.gguf",
    "qwq-32b-q5_0.gguf",
    "qwq-32b-q6_k.gguf",
    "qwq-32b-q8_0.gguf",
)


def looks_like_path(model: str) -> bool:
    return model.endswith(".gguf") or "/" in model or model.startswith((".", "~"))


def model_path(settings: Settings, where: Paths | None = None) -> Path:
    """The model to load: configured name or path, else a pulled QwQ-32B, else the test model."""
    p = where or paths()
    if settings.model and not looks_like_path(settings.model):
        model, quant = catalog.find(settings.model, p)
        if model.embedding:
            raise ConfigError(f"{model.name} is an embedding model; choose a chat model")
        path = catalog.local_path(model, quant, p)
        if not path.is_file():
            raise ConfigError(
                f"{model.name}:{quant.name} is not downloaded; run `qwq-edge models pull "
                f"{model.name}:{quant.name}`"
            )
        return path
    if settings.model:
        candidate = Path(settings.model).expanduser()
        if not candidate.is_absolute() and not candidate.exists():
            in_store = p.models_dir / candidate
            if in_store.exists():
                return in_store
        return candidate
    for name in PREFERRED_MODELS:
        if (p.models_dir / name).is_file():
            return p.models_dir / name
    fallback = test_models_dir() / DEFAULT_TEST_MODEL
    if fallback.is_file():
        return fallback
    raise ConfigError(
        "no model found: run `make run` to fetch the default model, or pass --model PATH.gguf"
    )


def catalog_entry(settings: Settings, where: Paths | None = None) -> tuple[Model, Quant] | None:
    """The catalog model the settings resolve to, if any (never raises)."""
    try:
        if settings.model and not looks_like_path(settings.model):
            return catalog.find(settings.model, where)
        return catalog.by_path(model_path(settings, where), where)
    except ConfigError:
        return None


def recommended(settings: Settings, where: Paths | None = None) -> Settings:
    """``settings`` with the catalog's sampling, minimum searches and thinking budget filled in
    wherever nothing was set explicitly (the test models get ``min_searches = 1``)."""
    found = catalog_entry(settings, where)
    if found is None:
        return settings
    entry = found[0]
    wanted: dict[str, object] = {
        "min_searches": entry.min_searches,
        "read_top": entry.read_top,
        "max_thinking_tokens": entry.max_thinking_tokens,
        **entry.sampling,
    }
    return settings.replace(**{k: v for k, v in wanted.items() if k not in settings.explicit})


def locate(settings: Settings, where: Paths | None = None, path: Path | None = None) -> ModelFile:
    """The checked model file the settings name (or ``path``): its header is read once here."""
    p = where or paths()
    target = path or model_path(settings, p)
    return open_model(target, catalog.by_path(target, p))


def request(settings: Settings, model: ModelFile | None = None) -> fit.Request:
    """The settings as a planner request, with the catalog's context targets for the model."""
    entry = model.entry[0] if model is not None and model.entry else None
    return fit.Request(
        n_ctx=settings.n_ctx or None,
        kv_type=None if settings.kv_type == "auto" else settings.kv_type,
        n_gpu_layers=settings.n_gpu_layers,
        target_ctx=entry.n_ctx if entry else 16384,
        min_ctx=entry.min_ctx if entry else 8192,
    )


def plan(settings: Settings, model: ModelFile, memory: fit.Memory | None = None) -> fit.Plan:
    """GPU layers, context and KV type for ``model`` here (or on ``memory``); raises FitError
    with the numbers when an explicit setting cannot fit."""
    offload = memory is None and hardware.can_offload()
    mem = memory or hardware.this_machine(offload)
    shape = fit.ModelShape.from_gguf(model.header)
    req = request(settings, model)
    if offload and mem.gpu_bytes <= 0:
        # The build offloads (ROCm, Vulkan, CUDA without nvidia-smi...) but we cannot see the
        # GPU's memory: plan the context against RAM and offload as asked, or everything.
        chosen = fit.plan(shape, mem, dataclasses.replace(req, n_gpu_layers=None))
        ngl = -1 if settings.n_gpu_layers is None else settings.n_gpu_layers
        n = shape.layers if ngl < 0 else min(ngl, shape.layers)
        note = "GPU memory unknown: offloading as configured, context planned against RAM"
        chosen = dataclasses.replace(
            chosen, n_gpu_layers=n, all_on_gpu=n == shape.layers, notes=(*chosen.notes, note)
        )
    else:
        chosen = fit.plan(shape, mem, req)
    # llama.cpp quantizes the V cache only with flash attention.
    flash = settings.flash_attn or chosen.kv_type != "f16"
    return dataclasses.replace(chosen, flash_attn=flash)
