"""``qwq-edge research TOPIC``: a report with a plan you approve, sections researched one at
a time, every cited claim checked, and Markdown with BibTeX, RIS and CSL-JSON beside it.

The plan is shown, then approved (y), edited in ``$VISUAL``/``$EDITOR`` (e) or rejected
(n); ``--yes`` skips the question. Ctrl+C stops the run where it is and still writes the
report, marked partial; ``--continue ID`` finishes it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from qwq_edge.cli.common import EXIT_INTERRUPTED, add_run_options, fail, run_overrides
from qwq_edge.errors import QwqEdgeError
from qwq_edge.text import printable

if TYPE_CHECKING:
    from collections.abc import Callable

    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.events import Event, ReportPlanned
    from qwq_edge.runtime.research import Phase, Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("research", help="write a research report: plan, sections, checked claims")
    p.add_argument("words", nargs="*", metavar="TOPIC", help="what the report is about")
    p.add_argument("--yes", "-y", action="store_true", help="run the plan without asking")
    p.add_argument("--sections", type=int, default=5, metavar="N",
                   help="at most N sections (default 5, at most 10)")  # fmt: skip
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="where the files go (default: reports/ID in the data folder)")  # fmt: skip
    p.add_argument("--plan-only", action="store_true", help="write the plan and stop")
    p.add_argument("--fix", action="store_true",
                   help="rewrite or drop each sentence its sources do not support")  # fmt: skip
    p.add_argument("--continue", dest="resume", metavar="ID",
                   help="finish a report that stopped (its id, or a unique prefix)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="write one JSON event per line")
    add_run_options(p)
    p.set_defaults(handler=cmd_research)


def cmd_research(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import JsonRenderer, TextRenderer
    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.research.run import ReportOptions
    from qwq_edge.runtime import research

    topic = " ".join(args.words).strip()
    if not 1 <= args.sections <= 10:
        return fail("--sections takes 1 to 10")
    if not topic and not args.resume:
        return fail('say what the report is about: qwq-edge research "TOPIC"')
    render: Callable[[Event], None] = JsonRenderer() if args.json else TextRenderer()
    options = ReportOptions(sections=args.sections, fix=args.fix)
    runner = EngineThread()
    try:
        settings = runtime.load_settings(run_overrides(args))
        journal = runtime.open_journal()
        runtime.say_notice(journal)
        sid = runtime.session_ref(journal, args.resume) if args.resume else ""
        if sid and journal.session(sid).kind != "report":  # said before the model loads
            raise QwqEdgeError(f"session {sid} is not a report; `qwq-edge ask --continue` it")
        engine = runner.call(runtime.load_engine, settings)
        if args.resume:  # as it was started; --fix may be added now
            options = research.report_options(list(journal.events(sid)))
            options = dataclasses.replace(options, fix=options.fix or args.fix)
            session, told = runner.call(research.resume, settings, engine, journal, sid, options)
            for event in told:
                render(event)
        else:
            session = runner.call(research.start, settings, engine, journal, options)
    except QwqEdgeError as exc:
        return fail(str(exc))
    runtime.say_notice(session.research.agent.provider)
    plan = session.research.plan
    if plan is None:
        reason = _phase(runner, session, lambda c: session.research.propose(topic, c), render)
        plan = session.research.plan
        if reason in ("cancelled", "error") or plan is None:
            return _end(runner, session, args, render, reason)
        if args.plan_only:
            sid = session.session_id
            print(f"the plan is saved; run it: qwq-edge research --continue {sid}", file=sys.stderr)
            return 0
    if plan.status == "proposed":
        try:
            decided = plan if args.yes else _approve(plan)
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return EXIT_INTERRUPTED
        except QwqEdgeError as exc:
            return fail(str(exc))
        _phase(runner, session, lambda _c: session.research.decide(decided), render)
        if decided is None:
            print("the plan was rejected; nothing was researched", file=sys.stderr)
            return 0
    reason = _phase(runner, session, session.research.write, render)
    return _end(runner, session, args, render, reason)


def _phase(
    runner: EngineThread, session: Session, phase: Phase, render: Callable[[Event], None]
) -> str:
    from qwq_edge.runtime import foreground
    from qwq_edge.runtime.research import run_phase

    return foreground(runner, lambda c, emit: run_phase(session, phase, emit, c), render)


def _end(
    runner: EngineThread,
    session: Session,
    args: argparse.Namespace,
    render: Callable[[Event], None],
    reason: str,
) -> int:
    """The report, written whatever happened; the exit status says how it went."""
    from qwq_edge.runtime.research import finish

    done = runner.call(finish, session, args.out, render)
    if reason == "cancelled":
        return EXIT_INTERRUPTED
    return 1 if reason == "error" or not done.files else 0


def _approve(plan: ReportPlanned) -> ReportPlanned | None:
    """y / e / n at the terminal: the plan, an edited plan, or None (rejected)."""
    from qwq_edge.research.plan import outline, parse_outline

    if not sys.stdin.isatty():
        raise QwqEdgeError("the plan needs an answer and stdin is not a terminal; "
                           "pass --yes to run it without asking")  # fmt: skip
    while True:
        try:
            answer = input("Run this plan? [y]es, [e]dit, [n]o: ").strip().lower()
        except EOFError:
            return None
        if answer in ("y", "yes"):
            return plan
        if answer in ("n", "no"):
            return None
        if answer in ("e", "edit"):
            try:
                plan = parse_outline(_edit(outline(plan)), plan)
            except QwqEdgeError as exc:
                print(f"qwq-edge: {printable(str(exc))}", file=sys.stderr)
                continue
            print(printable(outline(plan)))


def _edit(text: str) -> str:
    """``text`` edited in the user's editor (``$VISUAL``, ``$EDITOR``, else vi)."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="qwq-edge-plan-") as folder:
        path = Path(folder) / "plan.md"
        path.write_text(text, encoding="utf-8")
        try:
            subprocess.run([*shlex.split(editor), str(path)], check=True)
        except (OSError, subprocess.CalledProcessError, ValueError) as exc:
            raise QwqEdgeError(f"the editor {editor!r} did not run: {exc}") from None
        return path.read_text(encoding="utf-8", errors="replace")  # an editor's own encoding
