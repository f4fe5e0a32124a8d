"""Settings: every option is one dataclass field that carries its type, default, env name,
command-line flag and help. The TOML file, the environment and the command line are all
parsed from those fields, so adding an option is one edit.

Precedence, lowest first: defaults < config file < environment < command-line flags. The
catalog's recommendations for a model fill in what none of them set; that needs the disk,
so it happens in ``models.resolve``, never here (settings do no disk probing).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from qwq_edge.errors import ConfigError
from qwq_edge.paths import Paths, paths
from qwq_edge.settings_parse import bounds_problem as out_of_bounds
from qwq_edge.settings_parse import coerce_value
from qwq_edge.settings_parse import redact_url as redact_url  # where the rest import it

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

INT32_MAX = 2**31 - 1  # llama.cpp's int32 settings (context, layers, top-k), and seeds
MAX_THREADS = 512  # ggml's GGML_MAX_N_THREADS
PromptFormat = Literal["seed", "qwen"]
KvType = Literal["f16", "q8_0", "q4_0"]
KvSetting = Literal["auto", "f16", "q8_0", "q4_0"]
SearchDepth = Literal["basic", "advanced"]
WebSearch = Literal["tavily", "searxng"]
Speculation = Literal["auto", "off"]
LibraryMode = Literal["hybrid", "bm25", "semantic"]
# Where a session's searches can go, as the status bar and the welcome panel say it
# (runtime.search_mode decides): web search works; the web is a source but has no key or
# server; searches come from the cache and library only; the library is the only source.
SearchMode = Literal["web", "no search key", "offline", "library only"]


def opt(
    default: Any,
    help: str = "",
    *,
    env: str | None = None,
    flag: str | None = None,
    group: str | None = None,
    secret: bool = False,
    min: float | None = None,
    max: float | None = None,
) -> Any:
    """A setting: ``flag`` makes it a run option of ask/chat/tui; ``group`` makes flags of
    the same group mutually exclusive; a ``secret`` never appears in repr or ``public()``;
    ``min``/``max`` bound a number wherever it comes from (file, environment, flag)."""
    meta = {
        "help": help, "env": env, "flag": flag, "group": group, "secret": secret,
        "min": min, "max": max,
    }  # fmt: skip
    return field(default=default, repr=not secret, metadata=meta)


@dataclass(frozen=True)
class Sampling:
    """QwQ-32B's recommended sampling. min_p is explicit: llama-cpp-python's default is 0.05."""

    temperature: float = opt(0.6, "sampling temperature (default 0.6)", flag="--temperature", min=0)
    top_p: float = opt(0.95, "nucleus sampling", min=0, max=1)
    top_k: int = opt(40, "top-k sampling", min=0, max=INT32_MAX)
    min_p: float = opt(0.0, "min-p sampling", min=0, max=1)
    repeat_penalty: float = opt(1.0, "repetition penalty (1: none)", min=0)
    # A question's engine calls use seed, seed + 1, ...; llama.cpp takes a uint32 and reads
    # 0xFFFFFFFF as "random", so seeds stay below 2**31 as the random ones do.
    seed: int = opt(
        -1, "sampling seed, 0 to 2147483647 (default: random per question)", flag="--seed",
        min=-1, max=INT32_MAX,
    )  # fmt: skip


@dataclass(frozen=True)
class Settings:
    model: str | None = opt(
        None, "model: NAME[:QUANT] or a .gguf path", env="QWQ_EDGE_MODEL", flag="--model"
    )
    # 0: the fit planner picks from the model's header and this machine.
    n_ctx: int = opt(
        0,
        "context length in tokens (default: what fits)",
        env="QWQ_EDGE_N_CTX",
        flag="--n-ctx",
        min=0,
        max=INT32_MAX,  # then the planner holds it to the model and this machine's memory
    )
    n_gpu_layers: int | None = opt(
        None,
        "layers to offload (-1: all; default: what fits)",
        env="QWQ_EDGE_GPU_LAYERS",
        flag="--gpu-layers",
        min=-1,
        max=INT32_MAX,  # past the model's layers it means all of them (llama.cpp's 99)
    )
    flash_attn: bool = opt(True, "flash attention")
    kv_type: KvSetting = opt(
        "auto", "KV cache type (default: auto, what fits)", env="QWQ_EDGE_KV_TYPE", flag="--kv-type"
    )
    # At most ggml's GGML_MAX_N_THREADS; the engine holds it to this machine's CPUs.
    threads: int | None = opt(
        None, "CPU threads for llama.cpp", flag="--threads", min=1, max=MAX_THREADS
    )
    prompt_format: PromptFormat = opt(
        "seed", "prompt format", env="QWQ_EDGE_FORMAT", flag="--format"
    )
    max_searches: int = opt(5, "search budget (default 5)", flag="--max-searches", min=0)
    min_searches: int = opt(
        0,
        "force the first N searches (for small models that never open a call)",
        flag="--min-searches",
        min=0,
    )
    max_results: int = opt(5, "results per search", min=1)
    result_tokens: int = opt(300, "cap per search result, in tokens", min=1)
    response_tokens: int = opt(1500, "cap per <tool_response> block, in tokens", min=1)
    answer_reserve: int = opt(512, "context kept free for the answer after a tool response", min=0)
    max_tokens: int = opt(
        0, "token limit per question (0: the context)", flag="--max-tokens", min=0
    )
    speculation: Speculation = opt(
        "auto",
        "draft tokens from the context and verify them in one batch (auto or off)",
        env="QWQ_EDGE_SPECULATION",
        flag="--speculation",
    )
    max_thinking_tokens: int = opt(
        0,
        "thinking tokens per question before the model must answer (0: no limit)",
        flag="--think-budget",
        min=0,
    )
    # Reading what the model cites (the `open` tool): docs/architecture.md, "Reading".
    max_opens: int = opt(3, "pages the model may open per question", flag="--max-opens", min=0)
    read_top: int = opt(
        0, "open the top K results of each search for the model (small models rarely open)",
        env="QWQ_EDGE_READ_TOP", flag="--read-top", min=0, max=5,
    )  # fmt: skip
    open_max_tokens: int = opt(1500, "what one open adds to the context, in tokens", min=100)
    open_timeout: float = opt(20.0, "seconds fetching one page may take", min=0.1)
    open_max_bytes: int = opt(8_000_000, "cap per fetched page, in bytes", min=1024)
    open_allow_private: bool = opt(
        False, "let the model open pages on loopback and private networks (an intranet wiki)",
        env="QWQ_EDGE_OPEN_ALLOW_PRIVATE",
    )  # fmt: skip
    open_any: bool = opt(
        False, "let the model open URLs no result, page or message of yours gave it",
        flag="--open-any",
    )  # fmt: skip
    # The whole search, not each read: a server that drips one byte at a time still ends.
    search_timeout: float = opt(20.0, "seconds a whole search may take", min=0.1)
    search_max_bytes: int = opt(
        2_000_000, "cap per search response, in bytes; a longer one is cut", min=1024
    )
    server: str | None = opt(
        None, "run the model on this llama-server (its URL)", env="QWQ_EDGE_SERVER",
        flag="--server",
    )  # fmt: skip
    server_key: str | None = opt(
        None, "API key for the llama-server", env="QWQ_EDGE_SERVER_KEY", flag="--server-key",
        secret=True,
    )  # fmt: skip
    server_timeout: float = opt(
        300.0, "seconds a llama-server request may go unanswered before it is given up",
        env="QWQ_EDGE_SERVER_TIMEOUT", min=1, max=86400,
    )  # fmt: skip
    tavily_api_key: str | None = opt(None, "Tavily API key", env="TAVILY_API_KEY", secret=True)
    tavily_url: str | None = opt(None, "a Tavily-compatible server", env="QWQ_EDGE_TAVILY_URL")
    search_depth: SearchDepth = opt("basic", "Tavily search depth")
    search: WebSearch = opt(
        "tavily", "web search: tavily or searxng", env="QWQ_EDGE_SEARCH", flag="--search"
    )
    searxng_url: str | None = opt(
        None, "a SearXNG instance (its JSON API)", env="QWQ_EDGE_SEARXNG_URL"
    )
    # "auto": web and library when web search is configured, the library alone otherwise.
    sources: str = opt("auto", "where searches go: web, library or web,library", flag="--sources")
    library_folders: str = opt(
        "", f"document folders for the library (separated by {os.pathsep!r})"
    )
    library_mode: LibraryMode = opt(
        "hybrid",
        "how the library ranks: hybrid (words and meaning), bm25 or semantic",
        env="QWQ_EDGE_LIBRARY_MODE",
    )
    embedding_model: str | None = opt(
        None,
        "the library's embedding model: a catalog name or a .gguf (default all-minilm-l6-v2)",
        env="QWQ_EDGE_EMBEDDING_MODEL",
    )
    results_per_origin: int = opt(
        3, "most results one origin (web, cache, zim, file) gives a search", min=1
    )
    offline: bool = opt(
        False,
        "answer searches from the disk cache only",
        env="QWQ_EDGE_OFFLINE",
        flag="--offline",
        group="mode",
    )
    refresh: bool = opt(
        False, "always search, then update the cache", flag="--refresh", group="mode"
    )
    cache_max_age_days: float = opt(
        0.0, "0: cached results never expire (their age is shown)", min=0
    )
    kv_snapshots: bool = opt(True, "save each session's KV cache after every turn")
    kv_snapshot_max_gb: float = opt(8.0, "KV snapshots kept on disk, least recently used go", min=0)
    sampling: Sampling = field(default_factory=Sampling)
    # The keys set by the file, the environment or a flag (the catalog fills in the rest).
    explicit: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def replace(self, **changes: Any) -> Settings:
        samp = {k: changes.pop(k) for k in list(changes) if k in SAMPLING_KEYS}
        new = dataclasses.replace(self, **changes)
        if samp:
            new = dataclasses.replace(new, sampling=dataclasses.replace(new.sampling, **samp))
        return new

    def public(self) -> dict[str, Any]:
        """Everything but secrets: what a journal or ``--json`` output may record."""
        data = dataclasses.asdict(self)
        data.pop("explicit", None)
        for f in OPTIONS.values():
            if f.metadata.get("secret"):
                data.pop(f.name, None)
        for key in ("tavily_url", "searxng_url", "server"):
            if data.get(key):
                data[key] = redact_url(data[key])
        return data


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls) if f.metadata}


SAMPLING_KEYS = frozenset(_fields(Sampling))
# Every option by name, Sampling's included (the TOML file may put them in any table).
OPTIONS: dict[str, dataclasses.Field[Any]] = {**_fields(Settings), **_fields(Sampling)}
_HINTS = {**get_type_hints(Settings), **get_type_hints(Sampling)}


def kind_of(name: str) -> tuple[type, tuple[str, ...], bool]:
    """(base type, allowed values, optional) of a setting, read from its annotation."""
    hint = _HINTS[name]
    optional = False
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]
    if get_origin(hint) is Literal:
        return str, tuple(get_args(hint)), optional
    return hint, (), optional


def coerce(key: str, value: Any, where: str) -> Any:
    """``value`` (from TOML, the environment or a flag) as the type of setting ``key``."""
    base, choices, optional = kind_of(key)
    unset = value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto"))
    if unset and (base in (int, float) or optional):
        return OPTIONS[key].default  # "auto": the planner decides
    meta = OPTIONS[key].metadata
    bounds = (meta.get("min"), meta.get("max"))
    return coerce_value(key, value, where, base=base, choices=choices, bounds=bounds)


SOURCE_NAMES = ("web", "library")


def source_set(settings: Settings) -> frozenset[str]:
    """The ``sources`` setting as a set. "auto" is both: web search that is not configured
    (no key, no SearXNG URL) drops out by itself, and offline "web" means the search cache."""
    raw = settings.sources.strip().lower()
    if raw in ("", "auto"):
        return frozenset(SOURCE_NAMES)
    names = frozenset(p.strip() for p in raw.split(",") if p.strip())
    unknown = sorted(names - set(SOURCE_NAMES))
    if unknown or not names:
        raise ConfigError(f"sources must be web, library or web,library, not {settings.sources!r}")
    return names


def library_folders(settings: Settings) -> list[Path]:
    """The configured document folders, with ``~`` expanded."""
    return [Path(p).expanduser() for p in settings.library_folders.split(os.pathsep) if p.strip()]


def bounds_problem(key: str, value: float) -> str | None:
    """Why ``value`` is out of setting ``key``'s range (``opt(min=, max=)``), or None."""
    meta = OPTIONS[key].metadata
    return out_of_bounds(value, meta.get("min"), meta.get("max"))


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
    unknown = sorted(set(flat) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}; see the README for the names")
    return {k: coerce(k, v, str(path)) for k, v in flat.items()}


def from_env() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, f in OPTIONS.items():
        env = f.metadata.get("env")
        if env and os.environ.get(env):
            values[name] = coerce(name, os.environ[env], env)
    return values


def load(overrides: dict[str, Any] | None = None, where: Paths | None = None) -> Settings:
    """Defaults, then the config file, then the environment, then ``overrides`` (flags)."""
    values = load_file((where or paths()).config_file)
    values.update(from_env())
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return Settings(explicit=frozenset(values)).replace(**values)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON escapes are valid TOML escapes


def save_file(updates: dict[str, Any], path: Path | None = None) -> Path:
    """Merge ``updates`` into the config file, created 0600 (it may hold the Tavily key).
    A value of None removes the key."""
    target = path or paths().config_file
    current = load_file(target)
    current.update(updates)
    top = {k: v for k, v in current.items() if k not in SAMPLING_KEYS and v is not None}
    samp = {k: v for k, v in current.items() if k in SAMPLING_KEYS and v is not None}
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
