"""``qwq-edge doctor`` (the build, the GPU, the paths and the model's fit, here or on a
machine described on the command line) and ``qwq-edge bench``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwq_edge import __version__
from qwq_edge.cli.common import fail
from qwq_edge.errors import ConfigError, QwqEdgeError
from qwq_edge.models import catalog, resolve
from qwq_edge.settings import Settings, redact_url
from qwq_edge.settings import load as load_settings

if TYPE_CHECKING:
    from qwq_edge.models.catalog import Model
    from qwq_edge.models.fit import Memory, ModelShape, Plan, Request


def register(sub: Any) -> None:
    doctor = sub.add_parser(
        "doctor", help="build, GPU, model fit and paths: what qwq-edge will use here"
    )
    doctor.add_argument("--model", help="plan for this model (catalog name or .gguf path)")
    doctor.add_argument("--memory", help="plan for another machine: GPU or unified memory, 24GiB")
    doctor.add_argument(
        "--device",
        choices=["cuda", "metal", "cpu"],
        help="with --memory: an NVIDIA GPU (default), an Apple Silicon Mac, or CPU only",
    )
    doctor.add_argument("--gpu", default="", help="with --memory: GPU or chip name, for bandwidth")
    doctor.add_argument("--server", help="report on this llama-server (default: the setting)")
    doctor.set_defaults(handler=cmd_doctor)
    bench = sub.add_parser(
        "bench", help="benchmark against llama-bench, a raw loop and the seed-style loop"
    )
    bench.add_argument("--quick", action="store_true", help="about a minute; no llama-bench")
    bench.add_argument("--model", help="GGUF to measure (default: the Qwen2.5 0.5B test model)")
    bench.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    bench.add_argument("--json", dest="json_path", help="where to write the JSON results")
    bench.add_argument(
        "--library-only",
        action="store_true",
        help="only the local library: search latency, indexing, retrieval; no model loaded",
    )
    bench.set_defaults(handler=cmd_bench)


def _shape_for(spec: str | None) -> tuple[ModelShape, Request, str]:
    """The model to plan for: a file's real header, else the catalog's published shape."""
    from qwq_edge.models.fit import ModelShape

    settings = load_settings({"model": spec})
    if spec and not resolve.looks_like_path(spec):
        model, quant = catalog.find(spec)
        path = catalog.local_path(model, quant)
        if not path.is_file():
            if not model.shape:
                raise ConfigError(f"{model.name} has no published shape to plan with")
            shape = ModelShape.estimate(
                f"{model.name}:{quant.name}", file_size=quant.size, **model.shape
            )
            entry = fit_request_for_entry(settings, model)
            return shape, entry, "not downloaded: estimated from the catalog"
    checked = resolve.locate(settings)
    shape = ModelShape.from_gguf(checked.header)
    return shape, resolve.request(settings, checked), str(checked.path)


def _machine(args: argparse.Namespace) -> Memory:
    from qwq_edge.models import hardware

    if args.memory:
        try:
            size = hardware.parse_size(args.memory)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        return hardware.hypothetical(size, args.device or "cuda", gpu=args.gpu)
    return hardware.this_machine(hardware.can_offload(), measure=True)


def fit_report(args: argparse.Namespace) -> int:
    from qwq_edge.models.fit import FitError, GiB, plan

    shape, request, source = _shape_for(args.model)
    mem = _machine(args)
    print(f"\nfit: {shape.name} ({source})")
    print(f"  machine: {mem.label}")
    kv = "  KV per token: " + ", ".join(
        f"{k} {shape.kv_per_token(k) / 1024:.0f} KiB" for k in ("f16", "q8_0", "q4_0")
    )
    print(kv + f" · weights {shape.weight_bytes / GiB:.1f} GiB in {shape.layers} layers")
    try:
        p: Plan = plan(shape, mem, request)
    except FitError as exc:
        print(f"  does not fit: {exc}")
        return 1
    gpu = "" if not p.n_gpu_layers else f" (GPU holds {p.gpu_bytes / GiB:.1f} GiB)"
    print(f"  layers on GPU: {p.n_gpu_layers}/{p.layers}{gpu}")
    print("  largest context: " + ", ".join(f"{k} {v:,}" for k, v in p.max_ctx.items()))
    print(f"  recommended: {p.summary()} · flash attention on")
    for note in p.notes:
        print(f"  note: {note}")
    if p.tok_s_ceiling is None:
        print("  speed ceiling: unknown bandwidth (pass --gpu NAME)")
    else:
        print(
            f"  speed ceiling: {p.tok_s_ceiling:.0f} tok/s decode (memory bandwidth ÷ bytes read "
            "per token; real speed is lower)"
        )
    per_token = p.kv_per_token[p.kv_type]
    cap = load_settings().kv_snapshot_max_gb
    print(
        f"  KV snapshots: {per_token / 1024:.0f} KiB per token at {p.kv_type} "
        f"({8192 * per_token / GiB:.1f} GiB for an 8k-token session); at most {cap:g} GB kept "
        "(kv_snapshot_max_gb), least recently used deleted first"
    )
    return 0


def gpu_build_report() -> None:
    """Whether this llama.cpp can offload, and the rebuild command when a GPU sits idle."""
    from qwq_edge.models import hardware

    try:
        import llama_cpp
    except ImportError:
        return
    offload = hardware.can_offload()
    gpus = hardware.nvidia_gpus()
    apple = hardware.is_apple_silicon()
    present = gpus[0].name if gpus else ("Apple Silicon (Metal)" if apple else None)
    if present is None:
        print("GPU: none found; llama.cpp runs on the CPU")
        return
    if offload:
        print(f"GPU: {present} · this llama.cpp build offloads to it")
        return
    flag = "-DGGML_CUDA=on" if gpus else "-DGGML_METAL=on"
    backend = "cuda" if gpus else "metal"
    print(f"GPU: {present} is present but this llama.cpp build cannot use it. Rebuild with:")
    print(
        f'  CMAKE_ARGS="{flag}" {sys.executable} -m pip install --force-reinstall '
        f"--no-cache-dir --no-deps llama-cpp-python=={llama_cpp.__version__}"
    )
    print(f"  (in a checkout: make setup GPU={backend})")


def fit_request_for_entry(settings: Settings, model: Model) -> Request:
    """A planner request for a catalog model that is not on disk yet."""
    from dataclasses import replace

    return replace(resolve.request(settings), target_ctx=model.n_ctx, min_ctx=model.min_ctx)


def library_report(settings: Settings) -> None:
    """Search sources: SearXNG, the library's index (FTS5) and ZIM support (libzim)."""
    import importlib.util

    from qwq_edge.library.index import NO_FTS, fts_available
    from qwq_edge.library.provider import library_provider
    from qwq_edge.paths import paths

    if settings.search == "searxng":
        url = redact_url(settings.searxng_url) if settings.searxng_url else "NOT SET (searxng_url)"
        print(f"searxng: {url}")
    if not fts_available():
        print(f"library: {NO_FTS}")
        return
    zim = "yes" if importlib.util.find_spec("libzim") else "no (pip install 'qwq-edge[zim]')"
    provider = library_provider(paths().library)
    try:
        sources, passages = provider.library.counts() if provider.library else (0, 0)
        print(f"library: {sources} sources · {passages:,} passages · ZIM support: {zim}")
        for note in provider.notes:
            print(f"  note: {note}")
    finally:
        provider.close()
    embedding_report(settings)


def embedding_report(settings: Settings) -> None:
    """The embedding model for search by meaning: where it is, and the memory it takes
    once loaded (measured by loading it)."""
    from qwq_edge.engine.embedding import Embedder
    from qwq_edge.models.hardware import rss
    from qwq_edge.paths import paths
    from qwq_edge.runtime import embedding_model_path

    if settings.library_mode == "bm25":
        print("  search by meaning: off (library_mode = bm25)")
        return
    path = embedding_model_path(settings)
    if not path.is_file():
        print(f"  search by meaning: off, {path} is missing (`make run` fetches it)")
        return
    before = rss()
    try:
        model = Embedder(path, threads=settings.threads, log_path=paths().llama_log)
    except QwqEdgeError as exc:
        print(f"  search by meaning: off, {exc}")
        return
    after = rss()
    added = after - before if after is not None and before is not None else 0
    model.close()
    size = path.stat().st_size / 2**20
    ram = f"{added / 2**20:.0f} MiB of RAM when loaded" if added > 0 else "RAM not measured here"
    print(f"  embedding model: {path.name} ({size:.0f} MiB, {model.dims} dimensions; {ram})")


def server_report(settings: Settings) -> int:
    """The model a llama-server runs (``server`` set): what it is, its context and slots,
    its build, and whether it drafts tokens (speculative decoding stays on the server)."""
    from qwq_edge.engine.remote import RemoteEngine

    assert settings.server is not None
    try:
        eng = RemoteEngine(
            settings.server, settings.server_key, timeout=settings.server_timeout, on_wait=print
        )
    except QwqEdgeError as exc:
        return fail(str(exc))
    info, gen = eng.info, eng.props.get("default_generation_settings", {})
    print(f"server: {redact_url(settings.server)} · build {info.build or 'unknown'}")
    print(f"  model: {Path(info.path).name} ({info.file_size / 2**30:.2f} GiB) · {info.quant}")
    print(f"  context {info.n_ctx} per slot · {eng.slots} slot(s) · trained {info.n_ctx_train}")
    spec = gen.get("params", {}).get("speculative.types", "")
    print(f"  speculative decoding on the server: {spec or 'not reported'}")
    eng.close()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    if args.memory or args.model:  # planning for another machine or model: just the fit
        return fit_report(args)
    from qwq_edge.models.gguf import SUPPORTED_ARCHITECTURES, read_gguf
    from qwq_edge.paths import paths

    p = paths()
    print(f"qwq-edge {__version__} · Python {sys.version.split()[0]} · {sys.platform}")
    try:
        import llama_cpp

        from qwq_edge.models.hardware import can_offload

        offload = can_offload()
        print(
            f"llama-cpp-python {llama_cpp.__version__} · GPU offload: {'yes' if offload else 'no'}"
        )
        print("system:", llama_cpp.llama_print_system_info().decode(errors="replace").strip())
    except ImportError:
        print("llama-cpp-python: NOT INSTALLED (run `make run`)")
    gpu_build_report()
    for label, path in (
        ("config", p.config_file),
        ("data", p.data_dir),
        ("cache", p.cache_dir),
        ("logs", p.log_dir),
    ):
        print(f"{label:>7}: {path}")
    try:
        settings = load_settings({"server": getattr(args, "server", None)})
    except QwqEdgeError as exc:
        return fail(str(exc))
    key = settings.tavily_api_key
    print(f"tavily: {'key set (' + key[:4] + '…)' if key else 'NO KEY (set TAVILY_API_KEY)'}")
    if settings.tavily_url:
        print(f"tavily url: {redact_url(settings.tavily_url)}")
    library_report(settings)
    if settings.server:
        return server_report(settings)
    try:
        model = resolve.model_path(settings, p)
        info = read_gguf(model)
    except QwqEdgeError as exc:
        print(f"model: {exc}")
        return 1
    print(f"model: {model} ({info.file_size / 2**30:.2f} GiB)")
    arch_ok = "" if info.architecture in SUPPORTED_ARCHITECTURES else "  (NOT SUPPORTED)"
    print(f"  {info.name} · {info.architecture}{arch_ok} · {info.quant}")
    print(
        f"  layers {info.arch_value('block_count')} · trained context "
        f"{info.arch_value('context_length')} · n_ctx {settings.n_ctx or 'auto'}"
    )
    return fit_report(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from qwq_edge.bench.suite import library_only, run
    from qwq_edge.paths import test_models_dir

    if args.library_only:
        json_out = Path(args.json_path) if args.json_path else None
        return library_only(args.quick, json_out)
    if args.model:
        model = resolve.model_path(Settings(model=args.model))
    else:
        model = test_models_dir() / resolve.DEFAULT_TEST_MODEL
        if not model.is_file():
            return fail(f"no test model at {model}: run `make test-models` or pass --model")
    json_path = Path(args.json_path) if args.json_path else None
    return run(model, quick=args.quick, threads=args.threads, json_path=json_path)
