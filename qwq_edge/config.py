"""Settings: defaults (QwQ-32B's sampling), the TOML config file, then environment overrides.

Precedence, lowest first: defaults < config file < environment < command-line flags.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qwq_edge import catalog
from qwq_edge.errors import ConfigError
from qwq_edge.paths import Paths, paths, test_models_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PromptFormat = Literal["seed", "qwen"]
KvType = Literal["f16", "q8_0", "q4_0"]
KvSetting = Literal["auto", "f16", "q8_0", "q4_0"]

DEFAULT_TEST_MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
# Preferred real models, best first: a pulled QwQ-32B wins over the small test model.
PREFERRED_MODELS = (
    "qwq-32b-q4_k_m.gguf",
    "qwq-32b-q5_k_m.gguf",
    "qwq-32b-q5_0.gguf",
    "qwq-32b-q6_k.gguf",
    "qwq-32b-q8_0.gguf",
)


@dataclass(frozen=True)
class Sampling:
    """QwQ-32B's recommended sampling (DESIGN §7). min_p is explicit: llama-cpp-python's is 0.05."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int = -1  # -1: a fresh random seed per question


@dataclass(frozen=True)
class Settings:
    model: str | None = None
    # 0 / None / "auto": the fit planner picks from the model's header and this machine.
    n_ctx: int = 0
    n_gpu_layers: int | None = None  # -1: every layer
    flash_attn: bool = True
    kv_type: KvSetting = "auto"
    threads: int | None = None
    prompt_format: PromptFormat = "seed"
    max_searches: int = 5
    min_searches: int = 0
    max_results: int = 5
    result_tokens: int = 300  # cap per search result, in tokens
    response_tokens: int = 1500  # cap per <tool_response> block, in tokens
    answer_reserve: int = 512  # context kept free for the answer after a tool response
    max_tokens: int = 0  # per question; 0: up to the context limit
    search_timeout: float = 20.0
    tavily_api_key: str | None = field(default=None, repr=False)
    tavily_url: str | None = None
    search_depth: Literal["basic", "advanced"] = "basic"
    offline: bool = False  # answer searches from the disk cache only
    refresh: bool = False  # always fetch, then update the cache
    cache_max_age_days: float = 0.0  # 0: cached results never expire (their age is shown)
    sampling: Sampling = field(default_factory=Sampling)

    def replace(self, **changes: Any) -> Settings:
        sampling_keys = {f.name for f in dataclasses.fields(Sampling)}
        samp = {k: changes.pop(k) for k in list(changes) if k in sampling_keys}
        new = dataclasses.replace(self, **changes)
        if samp:
            new = dataclasses.replace(new, sampling=dataclasses.replace(new.sampling, **samp))
        return new

    def public(self) -> dict[str, Any]:
        """Everything but secrets: what a journal or ``--json`` output may record."""
        data = dataclasses.asdict(self)
        data.pop("tavily_api_key", None)
        return data


_INT = {"n_ctx", "max_searches", "min_searches", "max_results", "result_tokens"}
_INT |= {"response_tokens", "answer_reserve", "max_tokens", "threads", "n_gpu_layers"}
_FLOAT = {"search_timeout", "temperature", "top_p", "min_p", "repeat_penalty"}
_FLOAT |= {"cache_max_age_days"}
_BOOL = {"flash_attn", "offline", "refresh"}
_CHOICES: dict[str, tuple[str, ...]] = {
    "prompt_format": ("seed", "qwen"),
    "kv_type": ("auto", "f16", "q8_0", "q4_0"),
    "search_depth": ("basic", "advanced"),
}
ENV = {
    "QWQ_EDGE_MODEL": "model",
    "TAVILY_API_KEY": "tavily_api_key",
    "QWQ_EDGE_TAVILY_URL": "tavily_url",
    "QWQ_EDGE_N_CTX": "n_ctx",
    "QWQ_EDGE_GPU_LAYERS": "n_gpu_layers",
    "QWQ_EDGE_KV_TYPE": "kv_type",
    "QWQ_EDGE_FORMAT": "prompt_format",
    "QWQ_EDGE_OFFLINE": "offline",
}


def _coerce(key: str, value: Any, where: str) -> Any:
    try:
        if key in _INT or key in {"top_k", "seed"}:
            if key == "n_gpu_layers" and value in ("auto", None, ""):
                return None
            if key == "n_ctx" and value in ("auto", None, ""):
                return 0
            return int(value)
        if key in _FLOAT:
            return float(value)
        if key in _BOOL:
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    if key in _CHOICES and value not in _CHOICES[key]:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(_CHOICES[key])}")
    return value


def _known_keys() -> set[str]:
    return {f.name for f in dataclasses.fields(Settings)} | {
        f.name for f in dataclasses.fields(Sampling)
    }


def load_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from None
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, dict):  # [sampling] / [search] tables are allowed
            flat.update(value)
        else:
            flat[key] = value
    known = _known_keys()
    unknown = sorted(set(flat) - known)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; see the README for the names")
    return {k: _coerce(k, v, str(path)) for k, v in flat.items()}


def load(overrides: dict[str, Any] | None = None, where: Paths | None = None) -> Settings:
    """Defaults, then the config file, then the environment, then ``overrides`` (flags)."""
    p = where or paths()
    values = load_file(p.config_file)
    for env, key in ENV.items():
        if os.environ.get(env):
            values[key] = _coerce(key, os.environ[env], env)
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    settings = Settings().replace(**values)
    # The catalog's recommendations for this model fill in whatever was not set explicitly.
    entry = catalog_entry(settings, p)
    if entry is not None:
        keys = set(_known_keys()) - set(values)
        recommended: dict[str, Any] = {"min_searches": entry.min_searches, **entry.sampling}
        settings = settings.replace(**{k: v for k, v in recommended.items() if k in keys})
    return settings


def catalog_entry(settings: Settings, where: Paths | None = None) -> catalog.Model | None:
    """The catalog model the settings resolve to, if any (never raises)."""
    try:
        if settings.model and not _looks_like_path(settings.model):
            return catalog.find(settings.model, where)[0]
        found = catalog.by_path(resolve_model(settings, where), where)
    except ConfigError:
        return None
    return found[0] if found else None


def _looks_like_path(model: str) -> bool:
    return model.endswith(".gguf") or "/" in model or model.startswith((".", "~"))


def resolve_model(settings: Settings, where: Paths | None = None) -> Path:
    """The model to load: configured name or path, else a pulled QwQ-32B, else the test model."""
    p = where or paths()
    if settings.model and not _looks_like_path(settings.model):
        model, quant = catalog.find(settings.model, p)
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


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    # JSON string escapes are valid TOML basic-string escapes.
    import json

    return json.dumps(str(value), ensure_ascii=False)


def save_file(updates: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``updates`` into the config file, created 0600 (it may hold the Tavily key).
    A value of None removes the key."""
    target = path or paths().config_file
    current = load_file(target)
    current.update(updates)
    sampling_keys = {f.name for f in dataclasses.fields(Sampling)}
    top = {k: v for k, v in current.items() if k not in sampling_keys and v is not None}
    samp = {k: v for k, v in current.items() if k in sampling_keys and v is not None}
    lines = ["# qwq-edge settings (written by the settings screen; edit freely)"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in sorted(top.items())]
    if samp:
        lines += ["", "[sampling]"] + [f"{k} = {_toml_value(v)}" for k, v in sorted(samp.items())]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return target
