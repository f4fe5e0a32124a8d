"""``qwq-edge ask``, ``chat`` and ``tui``: questions, answered in the terminal or the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qwq_edge.cli.common import EXIT_INTERRUPTED, add_run_options, fail, run_overrides
from qwq_edge.errors import QwqEdgeError

if TYPE_CHECKING:
    from qwq_edge.events import Event
    from qwq_edge.settings import Settings


def register(sub: Any) -> None:
    ask = sub.add_parser("ask", help="answer one question in the terminal")
    ask.add_argument("question", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="write one JSON event per line")
    ask.add_argument("--no-stats", action="store_true", help="hide the closing speed line")
    add_run_options(ask)
    ask.set_defaults(handler=cmd_ask)

    chat = sub.add_parser("chat", help="a line-by-line conversation; follow-ups continue it")
    add_run_options(chat)
    chat.set_defaults(handler=cmd_chat)

    tui = sub.add_parser("tui", help="the full-screen app (the default with no command)")
    add_run_options(tui)
    tui.set_defaults(handler=cmd_tui)


def settings_from(args: argparse.Namespace) -> Settings:
    from qwq_edge.runtime import load_settings

    return load_settings(run_overrides(args))


def cmd_ask(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import JsonRenderer, TextRenderer
    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.events import ErrorEvent

    render: Callable[[Event], None] = (
        JsonRenderer() if args.json else TextRenderer(stats=not args.no_stats)
    )
    runner = EngineThread()
    try:
        agent = runner.call(runtime.build_agent, settings_from(args))
    except QwqEdgeError as exc:
        if args.json:
            render(ErrorEvent(str(exc), kind=exc.kind))
        return fail(str(exc))
    journal = runtime.open_journal()
    runtime.say_notice(journal)
    recorder = runtime.recorder_for(journal, agent.engine)
    reason = runtime.run_in_foreground(runner, agent, args.question, render, recorder=recorder)
    if reason == "cancelled":
        return EXIT_INTERRUPTED
    return 0 if reason in ("eos", "budget", "max_tokens") else 1


def cmd_chat(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import TextRenderer
    from qwq_edge.engine.thread import EngineThread

    settings = settings_from(args)
    print("loading the model…", file=sys.stderr)
    runner = EngineThread()
    try:
        agent = runner.call(runtime.build_agent, settings)
    except QwqEdgeError as exc:
        return fail(str(exc))
    info = agent.engine.info
    where = f"{info.n_gpu_layers} layers on GPU" if info.n_gpu_layers else "CPU"
    print(f"{info.name} ({info.quant}, {where}, {info.n_ctx} ctx). Empty line or Ctrl+D quits.")
    if info.fit:
        print(f"fit: {info.fit}")
    journal = runtime.open_journal()
    runtime.say_notice(journal)
    recorder = runtime.recorder_for(journal, agent.engine)
    render = TextRenderer()
    while True:
        try:
            question = input("\n› ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        runtime.run_in_foreground(runner, agent, question, render, recorder=recorder)


def cmd_tui(args: argparse.Namespace) -> int:
    from qwq_edge.tui.app import run

    run(settings_from(args))
    return 0
