"""``qwq-edge ask``, ``chat`` and ``tui``: questions, answered in the terminal or the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qwq_edge.cli.common import EXIT_INTERRUPTED, add_run_options, fail, run_overrides
from qwq_edge.errors import QwqEdgeError
from qwq_edge.text import printable

if TYPE_CHECKING:
    from qwq_edge.agent.loop import Agent
    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.events import Event
    from qwq_edge.settings import Settings
    from qwq_edge.store.journal import Journal
    from qwq_edge.store.recorder import Recorder
    from qwq_edge.store.snapshots import Snapshots


@dataclass
class Prepared:
    agent: Agent
    recorder: Recorder | None  # None: the journal cannot be opened (a full disk)
    snapshots: Snapshots | None
    said: set[str] = field(default_factory=set)  # storage problems already told

    def tell_problems(self) -> None:
        """A log or cache the disk refused: one sentence each, once (the answer stands)."""
        from qwq_edge import runtime
        from qwq_edge.engine import native_log

        web = runtime.web_part(self.agent.provider)
        for note in (native_log.problem(), web.problem if web is not None else None):
            if note and note not in self.said:
                self.said.add(note)
                print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)


def register(sub: Any) -> None:
    ask = sub.add_parser("ask", help="answer one question in the terminal")
    ask.add_argument("words", nargs="*", metavar="QUESTION", help="the question (quote it)")
    ask.add_argument("--json", action="store_true", help="write one JSON event per line")
    ask.add_argument("--no-stats", action="store_true", help="hide the closing speed line")
    _add_continue_options(ask)
    add_run_options(ask)
    ask.set_defaults(handler=cmd_ask)

    chat = sub.add_parser("chat", help="a line-by-line conversation; follow-ups continue it")
    _add_continue_options(chat)
    add_run_options(chat)
    chat.set_defaults(handler=cmd_chat)

    tui = sub.add_parser("tui", help="the full-screen app (the default with no command)")
    add_run_options(tui)
    tui.set_defaults(handler=cmd_tui)


def _add_continue_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--continue",
        dest="resume",
        nargs="?",
        const="last",
        metavar="ID",
        help="continue a session exactly (no ID: the last session)",
    )
    p.add_argument(
        "--from-turn",
        dest="from_turn",
        type=int,
        metavar="N",
        help="with --continue: a new session sharing turns 1..N of it (a branch)",
    )


def _question_and_session(args: argparse.Namespace) -> tuple[str, str | None]:
    """``ask Q``, ``ask --continue Q`` (the last session) or ``ask --continue ID Q``."""
    question = " ".join(args.words).strip()
    if args.resume is None or args.resume == "last":
        return question, None
    if not question:  # `ask --continue "follow-up"`: argparse took the question for an ID
        return args.resume.strip(), None
    return question, args.resume


def _prepare(args: argparse.Namespace, runner: EngineThread, session: str | None) -> Prepared:
    """The agent (new, or continuing a session), its journal recorder and the snapshots."""
    from qwq_edge import runtime

    settings = settings_from(args)
    if args.from_turn is not None and args.resume is None:
        raise QwqEdgeError("--from-turn goes with --continue")
    if args.from_turn is not None and args.from_turn < 1:
        raise QwqEdgeError("--from-turn counts turns from 1")
    snapshots = runtime.open_snapshots(settings)
    if args.resume is None:
        journal = _journal_or_none()
        agent = runner.call(runtime.build_agent, settings)
        runtime.say_notice(agent.provider)  # a corrupt cache set aside, the library
        recorder = None if journal is None else runtime.recorder_for(journal, agent.engine)
        return Prepared(agent, recorder, snapshots)
    journal = runtime.open_journal()  # continuing needs the journal: its failure is the error
    runtime.say_notice(journal)
    sid = runtime.session_ref(journal, session)
    engine = runner.call(runtime.load_engine, settings)
    done = runner.call(
        lambda: runtime.continue_session(
            settings, engine, journal, sid, snapshots=snapshots, from_turn=args.from_turn
        )
    )
    for note in done.notes:
        print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)
    agent = done.agent
    runtime.say_notice(agent.provider)
    return Prepared(agent, runtime.recorder_for(journal, engine, agent.session_id), snapshots)


def _journal_or_none() -> Journal | None:
    """The journal for a new question; one that cannot be opened (a full or read-only
    disk) is one sentence, and the question is answered unrecorded."""
    import sqlite3

    from qwq_edge import runtime

    try:
        journal = runtime.open_journal()
    except (QwqEdgeError, sqlite3.Error, OSError) as exc:
        print(
            f"qwq-edge: note: {printable(str(exc))}; this answer is not recorded", file=sys.stderr
        )
        return None
    runtime.say_notice(journal)
    return journal


def settings_from(args: argparse.Namespace) -> Settings:
    from qwq_edge.runtime import load_settings

    return load_settings(run_overrides(args))


def cmd_ask(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import LIMITS, JsonRenderer, TextRenderer
    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.events import ErrorEvent

    render: Callable[[Event], None] = (
        JsonRenderer() if args.json else TextRenderer(stats=not args.no_stats)
    )
    runner = EngineThread()
    try:
        question, session = _question_and_session(args)
        if not question:
            raise QwqEdgeError("the question is empty; ask something")
        ready = _prepare(args, runner, session)
    except QwqEdgeError as exc:
        if args.json:
            render(ErrorEvent(str(exc), kind=exc.kind))
        return fail(str(exc))
    ready.tell_problems()
    reason = runtime.run_in_foreground(
        runner, ready.agent, question, render,
        recorder=ready.recorder, snapshots=ready.snapshots,
    )  # fmt: skip
    ready.tell_problems()
    if reason == "cancelled":
        return EXIT_INTERRUPTED
    return 0 if reason == "eos" or reason in LIMITS else 1  # a limit reached is not a failure


def cmd_chat(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import TextRenderer
    from qwq_edge.engine.thread import EngineThread

    print("loading the model…", file=sys.stderr)
    runner = EngineThread()
    try:
        ready = _prepare(args, runner, None if args.resume == "last" else args.resume)
    except QwqEdgeError as exc:
        return fail(str(exc))
    agent = ready.agent
    info = agent.engine.info
    where = f"{info.n_gpu_layers} layers on GPU" if info.n_gpu_layers else "CPU"
    # The model's name is its file's metadata, and an id may be an old import's: untrusted.
    print(printable(f"{info.name} ({info.quant}, {where}, {info.n_ctx} ctx)."), end=" ")
    print("Empty line or Ctrl+D quits.")
    if info.fit:
        print(printable(f"fit: {info.fit}"))
    if args.resume is not None:
        print(printable(f"continuing session {agent.session_id} (turn {agent.turn} so far)"))
    render = TextRenderer()
    while True:
        try:
            question = input("\n› ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        runtime.run_in_foreground(
            runner, agent, question, render, recorder=ready.recorder, snapshots=ready.snapshots
        )
        ready.tell_problems()


def cmd_tui(args: argparse.Namespace) -> int:
    from qwq_edge.tui.app import run

    run(settings_from(args))
    return 0
