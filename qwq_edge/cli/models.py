"""``qwq-edge models ...`` and ``model-path``: the catalog, downloads, which model loads.

Everything heavy (huggingface_hub, llama_cpp) is imported inside the command that needs it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from qwq_edge.cli.common import fail
from qwq_edge.errors import ConfigError, QwqEdgeError
from qwq_edge.models import catalog, files, resolve
from qwq_edge.settings import Settings, save_file
from qwq_edge.settings import load as load_settings

if TYPE_CHECKING:
    from qwq_edge.models.files import Progress

GB = 1e9


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = sub.add_parser("models", help="the model catalog: list, pull, use, verify, rm, add")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION")
    msub.add_parser("list", help="every known model and what is on disk (the default)")
    pull = msub.add_parser("pull", help="download NAME[:QUANT] (resumes an interrupted pull)")
    pull.add_argument("name", help="e.g. qwq-32b or qwq-32b:q8_0")
    pull.add_argument("--use", action="store_true", help="make it the default afterwards")
    use = msub.add_parser("use", help="make NAME[:QUANT] the model qwq-edge loads")
    use.add_argument("name")
    verify = msub.add_parser("verify", help="check a downloaded model's size, header and sha256")
    verify.add_argument("name")
    rm = msub.add_parser("rm", help="delete a downloaded model (or forget an added one)")
    rm.add_argument("name")
    add = msub.add_parser("add", help="register a local .gguf under a name (it is not copied)")
    add.add_argument("path")
    add.add_argument("--name", required=True, help="the name to use it by")
    models.set_defaults(handler=cmd_models)
    mp = sub.add_parser("model-path", help="print the model that would be loaded (exit 3: none)")
    mp.add_argument("--model", help=argparse.SUPPRESS)
    mp.set_defaults(handler=cmd_model_path)


def _human(n: float) -> str:
    return f"{n / GB:.1f} GB" if n >= GB else f"{n / 1e6:.0f} MB"


def _default_path() -> Path | None:
    try:
        return resolve.model_path(Settings(model=load_settings().model))
    except QwqEdgeError:
        return None


def cmd_list() -> int:
    default = _default_path()
    rows = [("", "MODEL", "SIZE", "ON DISK", "")]
    for model in catalog.load().values():
        for quant in model.quants.values():
            path = catalog.local_path(model, quant)
            part = files.partial_path(path)
            if path.is_file():
                state = "yes"
            elif part.is_file() and quant.size:
                state = f"partial {100 * part.stat().st_size / quant.size:.0f}%"
            else:
                state = "-"
            mark = "*" if default is not None and path == default else ""
            tag = " (added)" if model.user else " (test)" if model.test_model else ""
            rows.append((mark, f"{model.name}:{quant.name}", _human(quant.size), state, tag))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print("\n* the model qwq-edge loads.", end=" ")
    print("`qwq-edge models pull qwq-32b` fetches QwQ-32B (19.9 GB).")
    return 0


def _draw(p: Progress) -> None:
    if p.phase == "verify":
        line = f"verifying sha256 {100 * p.done / (p.total or 1):5.1f}%"
    else:
        pct = f"{100 * p.done / p.total:5.1f}%" if p.total else "     "
        total = f"/{_human(p.total)}" if p.total else ""
        eta = p.eta
        eta_s = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta is not None else "--:--:--"
        line = f"{pct} {_human(p.done)}{total} · {p.rate / 1e6:.1f} MB/s · ETA {eta_s}"
    print(f"\r{line:<60}", end="", file=sys.stderr, flush=True)


def cmd_pull(spec: str, use: bool) -> int:
    from qwq_edge.models.pull import pull, refuse_if_offline

    model, quant = catalog.find(spec)
    dest = catalog.local_path(model, quant)
    if model.user or model.test_model or not model.repo:
        where = "it is a local file" if model.user else "`make test-models` fetches it"
        raise ConfigError(f"{model.name} is not pulled from the Hub: {where}")
    if dest.is_file():
        print(f"{model.name}:{quant.name} is already at {dest}")
    else:
        refuse_if_offline()
        print(f"pulling {model.repo}/{quant.file} ({_human(quant.size)}) into {dest.parent}")
        last = [0.0, 0.0]  # last draw time, whether anything was drawn

        def draw(p: Progress) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.2 or (p.total and p.done >= p.total):
                last[0], last[1] = now, 1.0
                _draw(p)

        try:
            pull(model.repo, quant.file, dest, expected_sha256=quant.sha256, progress=draw)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            print(
                "qwq-edge: pull interrupted; the partial file is kept, run the same command "
                "to resume",
                file=sys.stderr,
            )
            return 130
        finally:
            if last[1]:
                print(file=sys.stderr)
        print(f"saved {dest}")
    if use:
        return cmd_use(f"{model.name}:{quant.name}")
    if _default_path() == dest:
        print("qwq-edge will load it by default (`qwq-edge doctor` shows the fit).")
    else:
        print(f"`qwq-edge models use {model.name}:{quant.name}` makes it the default.")
    return 0


def cmd_use(spec: str) -> int:
    model, quant = catalog.find(spec)
    if model.embedding:
        raise ConfigError(
            f"{model.name} is the library's embedding model, not a chat model; set "
            f'embedding_model = "{model.name}" to use it for search by meaning'
        )
    path = catalog.local_path(model, quant)
    if not path.is_file():
        raise ConfigError(
            f"{model.name}:{quant.name} is not on disk; `qwq-edge models pull "
            f"{model.name}:{quant.name}` first"
        )
    target = save_file({"model": f"{model.name}:{quant.name}"})
    print(f"qwq-edge now loads {model.name}:{quant.name} ({path}); saved in {target}")
    return 0


def cmd_verify(spec: str) -> int:
    model, quant = catalog.find(spec)
    path = catalog.local_path(model, quant)
    if not path.is_file():
        raise ConfigError(f"{model.name}:{quant.name} is not on disk ({path})")
    checked = files.open_model(path)  # raises with one sentence when truncated or not a GGUF
    info = checked.header
    size = path.stat().st_size
    print(f"{path}: GGUF v{info.version}, {info.architecture}, {info.quant}, {size:,} bytes")
    want = quant.sha256 or files.read_sidecar(path)
    if not model.user and quant.size and abs(size - quant.size) > 0.01 * quant.size:
        print(f"size differs from the catalog's {quant.size:,} bytes", file=sys.stderr)
        return 1
    got = checked.sha256()
    if want is None:
        print(f"sha256 {got} (no published checksum to compare with)")
        return 0
    if got != want:
        print(f"qwq-edge: sha256 mismatch: expected {want}, got {got}", file=sys.stderr)
        return 1
    print(f"sha256 {got} matches")
    return 0


def cmd_rm(spec: str) -> int:
    model, quant = catalog.find(spec)
    if model.user:
        catalog.remove_user_model(model.name)
        print(f"forgot {model.name}; its file {quant.path} was left in place")
        return 0
    path = catalog.local_path(model, quant)
    if model.test_model:
        raise ConfigError(
            f"{model.name} lives in the test-model cache shared by checkouts; delete {path} "
            "by hand if you must"
        )
    removed = []
    for p in files.related_files(path):
        if p.is_file():
            size = p.stat().st_size
            p.unlink()
            removed.append(size)
    if not removed:
        print(f"{model.name}:{quant.name} is not on disk")
        return 1
    if load_settings().model in (model.name, f"{model.name}:{quant.name}"):
        save_file({"model": None})
    print(f"deleted {model.name}:{quant.name} ({_human(sum(removed))} freed)")
    return 0


def cmd_add(path_text: str, name: str) -> int:
    path = Path(path_text).expanduser().resolve()
    info = files.open_model(path).header  # not a GGUF, truncated: one sentence
    catalog.add_user_model(name, path, info.quant.lower(), info.file_size)
    print(
        f"added {name} ({info.name}, {info.architecture}, {info.quant}, {_human(info.file_size)})"
    )
    print(f"`qwq-edge models use {name}` makes it the default.")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    action = args.models_command or "list"
    if action == "list":
        return cmd_list()
    if action == "pull":
        return cmd_pull(args.name, args.use)
    if action == "use":
        return cmd_use(args.name)
    if action == "verify":
        return cmd_verify(args.name)
    if action == "rm":
        return cmd_rm(args.name)
    return cmd_add(args.path, args.name)


def cmd_model_path(args: argparse.Namespace) -> int:
    try:
        settings = load_settings({"model": args.model})
        model = resolve.model_path(settings)
    except QwqEdgeError as exc:
        return fail(str(exc), 3)
    if not model.is_file():
        return fail(f"model file not found: {model}", 3)
    print(model)
    return 0
