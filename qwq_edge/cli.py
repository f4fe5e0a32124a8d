"""The ``qwq-edge`` command line: a front end that parses input and renders events.

Heavy modules (llama_cpp, tavily, textual) are imported inside the commands that need them,
so ``qwq-edge --help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qwq_edge import __version__
from qwq_edge.errors import QwqEdgeError

if TYPE_CHECKING:
    from qwq_edge.agent.loop import Agent
    from qwq_edge.agent.runner import EngineThread
    from qwq_edge.config import Settings
    from qwq_edge.events import Event

EXIT_INTERRUPTED = 130


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="path of a .gguf model (or QWQ_EDGE_MODEL)")
    p.add_argument("--format", dest="prompt_format", choices=["seed", "qwen"], help="prompt format")
    p.add_argument(
        "--max-searches", dest="max_searches", type=int, help="search budget (default 5)"
    )
    p.add_argument(
        "--min-searches",
        dest="min_searches",
        type=int,
        help="force the first N searches (for small models that never open a call)",
    )
    p.add_argument(
        "--n-ctx", dest="n_ctx", type=int, help="context length in tokens (default: what fits)"
    )
    p.add_argument(
        "--gpu-layers",
        dest="n_gpu_layers",
        type=int,
        help="layers to offload (-1: all; default: what fits)",
    )
    p.add_argument(
        "--kv-type",
        dest="kv_type",
        choices=["auto", "f16", "q8_0", "q4_0"],
        help="KV cache type (default: auto, what fits)",
    )
    p.add_argument("--seed", type=int, help="sampling seed (default: random per question)")
    p.add_argument("--temperature", type=float, help="sampling temperature (default 0.6)")
    p.add_argument("--max-tokens", dest="max_tokens", type=int, help="token limit per question")
    p.add_argument("--threads", type=int, help="CPU threads for llama.cpp")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="answer searches from the disk cache only",
    )
    mode.add_argument(
        "--refresh", action="store_true", default=None, help="always search, then update the cache"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwq-edge",
        description="An offline research agent: a local GGUF reasoning model that searches the "
        "web, cites its sources, and keeps everything on disk.",
    )
    parser.add_argument("--version", action="version", version=f"qwq-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question in the terminal")
    ask.add_argument("question", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="write one JSON event per line")
    ask.add_argument("--no-stats", action="store_true", help="hide the closing speed line")
    _add_run_options(ask)

    chat = sub.add_parser("chat", help="a line-by-line conversation; follow-ups continue it")
    _add_run_options(chat)

    tui = sub.add_parser("tui", help="the full-screen app (the default with no command)")
    _add_run_options(tui)

    from qwq_edge import cli_models, cli_offline

    cli_offline.add_parsers(sub)
    cli_models.add_parsers(sub)
    bench = sub.add_parser(
        "bench", help="benchmark against llama-bench, a raw loop and the seed-style loop"
    )
    bench.add_argument("--quick", action="store_true", help="about a minute; no llama-bench")
    bench.add_argument("--model", help="GGUF to measure (default: the Qwen2.5 0.5B test model)")
    bench.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    bench.add_argument("--json", dest="json_path", help="where to write the JSON results")
    doctor = sub.add_parser(
        "doctor", help="build, GPU, model fit and paths: what qwq-edge will use here"
    )
    cli_models.add_doctor_options(doctor)
    mp = sub.add_parser("model-path", help="print the model that would be loaded (exit 3: none)")
    mp.add_argument("--model", help=argparse.SUPPRESS)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    from qwq_edge import config

    keys = [
        "model", "prompt_format", "max_searches", "min_searches", "n_ctx", "n_gpu_layers",
        "seed", "temperature", "max_tokens", "threads", "offline", "refresh", "kv_type",
    ]  # fmt: skip
    return config.load({k: getattr(args, k, None) for k in keys})


def _fail(message: str, code: int = 1) -> int:
    print(f"qwq-edge: {message}", file=sys.stderr)
    return code


def run_turn(
    agent: Agent, question: str, render: Callable[[Event], None], runner: EngineThread | None = None
) -> str:
    """Run one question on the engine thread; Ctrl+C cancels it cleanly. Returns the reason."""
    from qwq_edge.agent.loop import Controls
    from qwq_edge.events import ErrorEvent, Finished

    controls = Controls()
    events: queue.Queue[Any] = queue.Queue()
    done = object()

    def work() -> None:
        try:
            for event in agent.ask(question, controls):
                events.put(event)
        except BaseException as exc:  # surfaced on the main thread
            events.put(exc)
        finally:
            events.put(done)

    if runner is None:
        worker = threading.Thread(target=work, name="qwq-edge-agent", daemon=True)
        worker.start()
    else:
        runner.submit(work)
    reason = "error"
    while True:
        try:
            item = events.get()
        except KeyboardInterrupt:
            controls.cancel()  # the engine stops between tokens, or aborts its prefill
            continue
        if item is done:
            break
        if isinstance(item, Exception):
            # One line for the user; the journal keeps every event up to here.
            detail = (
                str(item) if isinstance(item, QwqEdgeError) else f"{type(item).__name__}: {item}"
            )
            render(ErrorEvent(f"the answer stopped: {detail}", kind="error"))
            reason = "error"
            continue
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Finished):
            reason = item.reason
        try:
            render(item)
        except KeyboardInterrupt:
            controls.cancel()
    return reason


def journaled(agent: Agent, render: Callable[[Event], None]) -> Callable[[Event], None]:
    """Record every event in the session journal before it is rendered."""
    from pathlib import Path

    from qwq_edge.paths import paths
    from qwq_edge.store.journal import Journal
    from qwq_edge.store.recorder import Recorder

    journal = Journal(paths().data_dir / "journal.sqlite3")
    if journal.notice:
        print(f"qwq-edge: note: {journal.notice}", file=sys.stderr)
    info = agent.engine.info
    recorder = Recorder(journal, model_path=Path(info.path), quant=info.quant)

    def both(event: Event) -> None:
        recorder(event)
        render(event)

    return both


def cmd_ask(args: argparse.Namespace) -> int:
    from qwq_edge.agent.factory import build_agent
    from qwq_edge.agent.runner import EngineThread
    from qwq_edge.events import ErrorEvent
    from qwq_edge.render import JsonRenderer, TextRenderer

    render: Callable[[Event], None] = (
        JsonRenderer() if args.json else TextRenderer(stats=not args.no_stats)
    )
    runner = EngineThread()
    try:
        agent = runner.call(build_agent, _settings(args))
    except QwqEdgeError as exc:
        if args.json:
            render(ErrorEvent(str(exc), kind=exc.kind))
        return _fail(str(exc))
    reason = run_turn(agent, args.question, journaled(agent, render), runner)
    if reason == "cancelled":
        return EXIT_INTERRUPTED
    return 0 if reason in ("eos", "budget", "max_tokens") else 1


def cmd_chat(args: argparse.Namespace) -> int:
    from qwq_edge.agent.factory import build_agent
    from qwq_edge.agent.runner import EngineThread
    from qwq_edge.render import TextRenderer

    settings = _settings(args)
    print("loading the model…", file=sys.stderr)
    runner = EngineThread()
    try:
        agent = runner.call(build_agent, settings)
    except QwqEdgeError as exc:
        return _fail(str(exc))
    info = agent.engine.info
    where = f"{info.n_gpu_layers} layers on GPU" if info.n_gpu_layers else "CPU"
    print(f"{info.name} ({info.quant}, {where}, {info.n_ctx} ctx). Empty line or Ctrl+D quits.")
    if info.fit:
        print(f"fit: {info.fit}")
    render = journaled(agent, TextRenderer())
    while True:
        try:
            question = input("\n› ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        run_turn(agent, question, render, runner)


def cmd_tui(args: argparse.Namespace) -> int:
    from qwq_edge.tui.app import run

    try:
        settings = _settings(args)
    except QwqEdgeError as exc:
        return _fail(str(exc))
    run(settings)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from qwq_edge import cli_models, config
    from qwq_edge.engine.gguf import SUPPORTED_ARCHITECTURES, read_gguf
    from qwq_edge.paths import paths

    if args.memory or args.model:  # planning for another machine or model: just the fit
        return cli_models.fit_report(args)

    p = paths()
    print(f"qwq-edge {__version__} · Python {sys.version.split()[0]} · {sys.platform}")
    try:
        import llama_cpp

        offload = bool(llama_cpp.llama_supports_gpu_offload())
        print(
            f"llama-cpp-python {llama_cpp.__version__} · GPU offload: {'yes' if offload else 'no'}"
        )
        print("system:", llama_cpp.llama_print_system_info().decode(errors="replace").strip())
    except ImportError:
        print("llama-cpp-python: NOT INSTALLED (run `make run`)")
    cli_models.gpu_build_report()
    for label, path in (
        ("config", p.config_file),
        ("data", p.data_dir),
        ("cache", p.cache_dir),
        ("logs", p.log_dir),
    ):
        print(f"{label:>7}: {path}")
    try:
        settings = config.load()
    except QwqEdgeError as exc:
        return _fail(str(exc))
    key = settings.tavily_api_key
    print(f"tavily: {'key set (' + key[:4] + '…)' if key else 'NO KEY (set TAVILY_API_KEY)'}")
    if settings.tavily_url:
        print(f"tavily url: {settings.tavily_url}")
    try:
        model = config.resolve_model(settings, p)
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
    return cli_models.fit_report(args)


def cmd_model_path(args: argparse.Namespace) -> int:
    from qwq_edge import config

    try:
        settings = config.load({"model": args.model})
        model = config.resolve_model(settings)
    except QwqEdgeError as exc:
        return _fail(str(exc), 3)
    if not model.is_file():
        return _fail(f"model file not found: {model}", 3)
    print(model)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qwq_edge import config
    from qwq_edge.bench.suite import run
    from qwq_edge.paths import test_models_dir

    if args.model:
        model = config.resolve_model(config.Settings(model=args.model))
    else:
        model = test_models_dir() / config.DEFAULT_TEST_MODEL
        if not model.is_file():
            return _fail(f"no test model at {model}: run `make test-models` or pass --model")
    json_path = Path(args.json_path) if args.json_path else None
    return run(model, quick=args.quick, threads=args.threads, json_path=json_path)


def _offline_commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from qwq_edge import cli_models, cli_offline

    return {**cli_offline.COMMANDS, "models": cli_models.cmd_models}


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "ask": cmd_ask,
    "chat": cmd_chat,
    "tui": cmd_tui,
    "doctor": cmd_doctor,
    "model-path": cmd_model_path,
    "bench": cmd_bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    commands = {"ask", "chat", "tui", "sessions", "replay", "cache", "doctor", "model-path"}
    commands |= {"models", "bench"}
    if not words or (words[0] not in commands and words[0] not in ("-h", "--help", "--version")):
        words = ["tui", *words]  # no command: the app, with any run options given
    args = parser.parse_args(words)
    command = args.command
    handler = COMMANDS.get(command) or _offline_commands()[command]
    try:
        return handler(args)
    except QwqEdgeError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (OSError, sqlite3.Error) as exc:  # a disk or database problem: one line, no trace
        return _fail(f"{type(exc).__name__}: {exc}")
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
