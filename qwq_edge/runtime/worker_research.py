"""The worker's research reports (``runtime/research.py``), as commands of the app's engine
worker: ``research`` writes the plan and sends it back (``PlanProposed``), the person's
answer comes as ``research_decide`` (a plan, or None for rejected), and the sections are
researched and the files written; ``research_continue`` finishes a report that stopped.

Every phase runs on the engine thread with the worker's own consumer, so its events reach
the app as a turn's do, and takes the running ``Controls``: Esc (``cancel``) stops it, and
the report is still written, marked partial. A mixin of ``Worker``: the state it uses is
declared below for the type checker. The worker's replies are imported where they are
used, because ``worker.py`` imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qwq_edge.agent.state import Controls
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import ReportPlanned
from qwq_edge.research.run import ReportOptions
from qwq_edge.runtime import research as rt
from qwq_edge.runtime.research import report_options
from qwq_edge.runtime.sources import provider_notices

if TYPE_CHECKING:
    from collections.abc import Callable

    from qwq_edge.agent.loop import Agent
    from qwq_edge.engine.base import Engine
    from qwq_edge.engine.thread import EngineThread
    from qwq_edge.runtime.worker import Coalesced, Out, ProviderFactory, Severity
    from qwq_edge.search.base import SearchProvider
    from qwq_edge.settings import Settings
    from qwq_edge.store.journal import Journal


_INFO: Severity = "information"


@dataclass(frozen=True)
class PlanProposed:
    """A report's plan, written: the app shows it, and answers with ``research_decide``
    (the plan as the person left it, or None for rejected)."""

    plan: ReportPlanned


class ReportCommands:
    """``research``, ``research_decide`` and ``research_continue`` for ``Worker``."""

    report: rt.Session | None = None  # the report whose plan waits for a decision

    if TYPE_CHECKING:
        out: Out
        journal: Journal | None
        engine: Engine | None
        settings: Settings
        runner: EngineThread
        controls: Controls | None
        agent: Agent | None
        resume_id: str | None
        provider_factory: ProviderFactory
        _confirm_open: Callable[[str], bool]

    # -- commands (any thread): each runs on the engine thread, in order ------------------

    def research(self, topic: str, sections: int, fix: bool) -> None:
        """A new report on ``topic``: its plan, sent back as ``PlanProposed``."""
        self.controls = Controls()
        options = ReportOptions(sections=sections, fix=fix)
        self.runner.submit(self._propose, topic, options, self.controls)

    def research_decide(self, plan: ReportPlanned | None) -> None:
        """The person's answer to ``PlanProposed``: approved or edited (``plan``), or
        rejected (None). An approved plan is researched and the report written."""
        self.controls = Controls()
        self.runner.submit(self._decide, plan, self.controls)

    def research_continue(self, session_id: str) -> None:
        """Research the sections a journaled report is missing, then write it again."""
        self.controls = Controls()
        self.runner.submit(self._continue, session_id, self.controls)

    # -- on the engine thread ------------------------------------------------------------

    def _report_start(self) -> Engine:
        """The engine for a report; the next question starts a session of its own."""
        if self.engine is None:
            raise QwqEdgeError("The model is not loaded yet.")
        self.agent, self.resume_id, self.report = None, None, None
        return self.engine

    def _provider(self) -> SearchProvider:
        provider = self.provider_factory(self.settings)
        from qwq_edge.runtime.worker import Said

        for note in provider_notices(provider):
            self.out(Said(note))
        return provider

    def _done_with(self, controls: Controls) -> None:
        if self.controls is controls:  # a later command's own controls stay
            self.controls = None

    def _propose(self, topic: str, options: ReportOptions, controls: Controls) -> None:
        from qwq_edge.runtime.worker import Coalesced, Said, TurnEnded

        emit = Coalesced(self.out)
        plan: ReportPlanned | None = None
        note, severity = "", _INFO
        try:
            engine = self._report_start()
            provider = self._provider()
            session = rt.start(self.settings, engine, self.journal, options, provider)
            session.research.agent.opener.confirm = self._confirm_open
            propose = session.research.propose
            reason = rt.run_phase(session, lambda c: propose(topic, c), emit, controls)
            if reason in ("cancelled", "error") or session.research.plan is None:
                note, severity = self._finish(session, emit)  # partial: no section written
            else:
                plan, self.report = session.research.plan, session
        except QwqEdgeError as exc:
            self.out(Said(str(exc), "error"))
        except Exception as exc:  # never a silent end: the app waits for a reply
            self.out(Said(f"the report stopped: {type(exc).__name__}: {exc}", "error"))
        finally:
            emit.flush()
            self._done_with(controls)  # before the reply: the decision brings its own
            self.out(PlanProposed(plan) if plan is not None else TurnEnded(note, severity))

    def _decide(self, plan: ReportPlanned | None, controls: Controls) -> None:
        from qwq_edge.runtime.worker import Coalesced, TurnEnded

        emit = Coalesced(self.out)
        session, self.report = self.report, None
        note, severity = "", _INFO
        try:
            if session is None or session.research.plan is None:
                raise QwqEdgeError("no report plan is waiting for a decision")
            decide = session.research.decide
            rt.run_phase(session, lambda _c: decide(plan), emit, controls)
            if plan is None:
                note = "The plan was rejected; nothing was researched."
            else:
                note, severity = self._write(session, emit, controls)
        except QwqEdgeError as exc:
            note, severity = str(exc), "error"
        except Exception as exc:
            note, severity = f"the report stopped: {type(exc).__name__}: {exc}", "error"
        finally:
            emit.flush()
            self._done_with(controls)
            self.out(TurnEnded(note, severity))

    def _continue(self, session_id: str, controls: Controls) -> None:
        from qwq_edge.runtime.worker import Coalesced, TurnEnded

        emit = Coalesced(self.out)
        note, severity = "", _INFO
        waiting: ReportPlanned | None = None  # a plan never approved: asked for first
        try:
            engine = self._report_start()
            if self.journal is None:
                raise QwqEdgeError("there is no journal to continue the report from")
            options = report_options(list(self.journal.events(session_id)))
            session, told = rt.resume(
                self.settings, engine, self.journal, session_id, options, self._provider()
            )
            for event in told:  # how far it got (the plan and sections read back)
                emit(event)
            session.research.agent.opener.confirm = self._confirm_open
            plan = session.research.plan
            if plan is not None and plan.status == "proposed":
                waiting, self.report = plan, session
            else:
                note, severity = self._write(session, emit, controls)
        except QwqEdgeError as exc:
            note, severity = str(exc), "error"
        except Exception as exc:
            note, severity = f"the report stopped: {type(exc).__name__}: {exc}", "error"
        finally:
            emit.flush()
            self._done_with(controls)
            self.out(PlanProposed(waiting) if waiting is not None else TurnEnded(note, severity))

    def _write(
        self, session: rt.Session, emit: Coalesced, controls: Controls
    ) -> tuple[str, Severity]:
        """The sections not written yet, then the files, whatever happened to them."""
        rt.run_phase(session, session.research.write, emit, controls)
        return self._finish(session, emit)

    def _finish(self, session: rt.Session, emit: Coalesced) -> tuple[str, Severity]:
        done = rt.finish(session, None, emit)
        if not done.files:
            return f"The report could not be written to {done.folder}.", "error"
        where = f"{done.folder}/report.md"
        if done.partial:
            return f"A partial report is in {where}; Continue report finishes it.", "warning"
        return f"The report is in {where}.", "information"
