"""A research report as one journaled session: the plan (turn 1), then one turn per
section, each branched from the plan's state, each checked claim by claim.

- **The plan** is JSON sampled under ``plan.plan_grammar`` (after the model's thinking, for
  a reasoning model), so it always parses. A person approves, edits or rejects it between
  ``propose`` and ``write``: the front end decides, ``decide`` journals it.
- **A section** starts from the plan's context: the agent goes back to it, and the engine
  evaluates only the section's brief on top of the plan's KV (restored from the plan's
  snapshot when the verifier's contexts displaced it). The brief carries what earlier
  sections found (their summaries and citations), never their pages, so the context never
  holds every page of every section. Sources are the agent's: numbered once per session,
  so one URL is one number in the whole report.
- **Verification** (``verify.Judge``) follows each section, so a report cut short still
  has its written sections checked.

Every fact is an event: the report is rebuilt from the journal (``document.py``), live,
after a Ctrl+C, and for ``--continue``.
"""

from __future__ import annotations

import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from qwq_edge.agent.citations import unmatched, used_sources
from qwq_edge.agent.continuing import branch_at, open_turn, restore
from qwq_edge.agent.formats import THINK_END
from qwq_edge.agent.loop import Agent
from qwq_edge.agent.prompts import WRAP_UP
from qwq_edge.agent.searching import TurnOver
from qwq_edge.agent.state import Controls, recorded_settings, stats_event
from qwq_edge.engine.base import Generation
from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import (
    ClaimChecked,
    ErrorEvent,
    Event,
    FinalAnswer,
    Finished,
    FinishReason,
    Notice,
    PageOpened,
    QuestionAsked,
    ReportPlanned,
    SectionStarted,
    SectionWritten,
    SessionStarted,
    ThinkingDelta,
    ToolResult,
)
from qwq_edge.research import prompts
from qwq_edge.research.plan import outline, parse_plan, plan_grammar
from qwq_edge.research.verify import Judge, claims, summary, tidy
from qwq_edge.research.writer import write_alone
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots
from qwq_edge.text import printable

PLAN_THINKING = 2_048  # tokens a reasoning model may think before it writes the plan


@dataclass(frozen=True)
class ReportOptions:
    sections: int = 5
    fix: bool = False
    words: int = 180  # a section's length, as asked of the model


class Research:
    """One report on one agent. ``propose`` writes the plan, ``decide`` records what the
    person made of it, ``write`` researches the sections not written yet."""

    def __init__(
        self,
        agent: Agent,
        options: ReportOptions,
        *,
        recorder: Recorder | None = None,
        snapshots: Snapshots | None = None,
    ) -> None:
        self.agent = agent
        self.options = options
        self.recorder = recorder
        self.snapshots = snapshots
        self.plan: ReportPlanned | None = None
        self.plan_context: list[int] = []
        self.read: dict[int, list[str]] = {}  # what the model read of each source
        self.written: dict[int, SectionWritten] = {}
        self._kv_moved = False  # the verifier's contexts displaced the plan's KV
        self._thinking = False  # the plan's turn is inside <think>

    # -- the plan ----------------------------------------------------------------------

    def propose(self, topic: str, controls: Controls) -> Iterator[Event]:
        """Turn 1: the plan, thought about (a reasoning model) and written under the plan
        grammar. Ends with the proposed plan, as a ``FinalAnswer`` (its outline) too."""
        agent, s = self.agent, self.agent.settings
        seed = s.sampling.seed if s.sampling.seed >= 0 else random.getrandbits(31)
        agent.turn = 1
        agent.searcher.check()
        settings = recorded_settings(s, agent.engine.info)
        settings["report"] = {"sections": self.options.sections, "fix": self.options.fix}
        model = Path(agent.engine.info.path).name
        yield SessionStarted(agent.session_id, topic, model, settings)
        yield QuestionAsked(turn=1, question=topic, seed=seed)
        reason: FinishReason = "eos"
        raw = ""
        try:
            open_turn(agent, prompts.plan_request(topic, self.options.sections))
            if agent.engine.info.reasoning:
                yield from self._think(controls, seed)
            raw = yield from self._json(controls, seed + 2)
        except TurnOver as over:
            reason = over.reason
            if over.message:
                yield ErrorEvent(over.message, kind=over.reason)
        except QwqEdgeError as exc:
            reason = "error"
            yield ErrorEvent(str(exc), kind=exc.kind)
        finally:
            self._close_turn()  # whatever happened, the turn is closed ChatML
        if controls.cancelled:
            reason = "cancelled"
        if reason in ("cancelled", "error", "context_full"):
            # No plan from a planning cut short: a generic one would pass for the model's.
            yield FinalAnswer("")
            yield Finished(reason, turn=1)
            return
        plan = parse_plan(raw, topic, self.options.sections)
        self.plan = plan
        yield plan
        yield FinalAnswer(outline(plan))
        yield Finished(reason, turn=1)
        self.plan_context = list(agent.context)
        self._keep(plan_snapshot=True)

    def _close_turn(self) -> None:
        """End the plan's turn as a finished assistant turn (``</think>`` if it stopped
        while thinking, then ``<|im_end|>``), so every section branches from valid ChatML."""
        agent = self.agent
        end = agent.engine.token_id("<|im_end|>")
        if end is None or not agent.context or agent.context[-1] == end:
            return
        tail = f"\n{THINK_END}\n\n" if self._thinking else ""
        agent.context += [*agent.engine.tokenize(tail, trusted=True), end]
        self._thinking = False

    def _think(self, controls: Controls, seed: int) -> Iterator[Event]:
        agent = self.agent
        self._thinking = True
        gen = Generation()
        budget = min(agent.settings.max_thinking_tokens or PLAN_THINKING, PLAN_THINKING)
        for text in agent.engine.stream(
            agent.context, gen, sampling=agent.settings.sampling, seed=seed,
            max_tokens=budget, markers=[THINK_END], cancel=controls.interrupt,
        ):  # fmt: skip
            yield ThinkingDelta(text)
        agent.context += gen.tokens
        yield stats_event("generate", gen, len(agent.context), agent.engine.info.n_ctx)
        if gen.stop == "cancelled" and controls.cancelled:
            raise TurnOver("cancelled")
        tail = "\n\n" if gen.marker == THINK_END else f"\n\n{WRAP_UP}\n{THINK_END}\n\n"
        agent.context += agent.engine.tokenize(tail, trusted=True)
        self._thinking = False

    def _json(self, controls: Controls, seed: int) -> Generator[Event, None, str]:
        agent = self.agent
        gen = Generation()
        grammar = plan_grammar(self.options.sections)
        agent.engine.validate_grammar(grammar)
        for _ in agent.engine.stream(
            agent.context, gen, sampling=agent.settings.sampling, seed=seed,
            max_tokens=240 * self.options.sections + 120, grammar=grammar,
            cancel=controls.interrupt,
        ):  # fmt: skip
            pass
        agent.context += gen.tokens
        end = agent.engine.token_id("<|im_end|>")
        if end is not None and gen.stop == "eog":
            agent.context[-1] = end  # its end of generation, as a closed ChatML turn
        elif end is not None:
            agent.context.append(end)
        yield stats_event("tool_call", gen, len(agent.context), agent.engine.info.n_ctx)
        return gen.text

    def decide(self, plan: ReportPlanned | None) -> Iterator[Event]:
        """What the person made of the proposed plan: ``plan`` approved or edited as it
        comes, None for rejected."""
        assert self.plan is not None
        if plan is None:
            self.plan = replace(self.plan, status="rejected")
        else:
            same = plan.sections == self.plan.sections and plan.title == self.plan.title
            self.plan = replace(
                plan, status="approved" if same else "edited", topic=self.plan.topic
            )
        yield self.plan

    # -- the sections ------------------------------------------------------------------

    def missing(self) -> list[int]:
        assert self.plan is not None
        return [i for i in range(1, len(self.plan.sections) + 1) if i not in self.written]

    def write(self, controls: Controls) -> Iterator[Event]:
        """Research and write every section not written yet, in order; stops at a cancel
        or an engine failure (the report is then partial, and ``--continue`` goes on)."""
        assert self.plan is not None and self.plan.status != "rejected"
        for index in self.missing():
            if controls.cancelled:
                return
            reason = yield from self._section(index, controls)
            if reason in ("cancelled", "error"):
                return

    def _findings(self) -> list[str]:
        return [
            f"- Section {w.index} ({w.title}): {w.summary or '(nothing found)'}"
            for _, w in sorted(self.written.items())
        ]

    def _section(self, index: int, controls: Controls) -> Generator[Event, None, FinishReason]:
        assert self.plan is not None
        section = self.plan.sections[index - 1]
        yield from self._branch()
        yield SectionStarted(index, section.title)
        brief = prompts.section_request(self.plan, index, self._findings(), self.options.words)
        before = {n: len(texts) for n, texts in self.read.items()}
        answer, reason = yield from self._turn(brief, controls)
        if answer is None or reason in ("cancelled", "error"):
            return reason  # a section cut short is not written: --continue writes it again
        text = answer.text
        if not text and reason == "eos":
            # A small model often ends its turn right after reading, without a word: the
            # section is written from what it read, in a context of its own.
            fresh = {n: t[before.get(n, 0) :] for n, t in self.read.items()}
            fresh = {n: t for n, t in fresh.items() if t}
            text = yield from self._write_alone(index, fresh or self.read, controls)
            if _stopped(controls):
                return "cancelled"  # cut short while writing: --continue writes it again
        text = tidy(printable(text))  # the text the claims are found in is the one shown
        if not text:  # nothing found and nothing written: left for --continue
            yield Notice(
                f"section {index} has no text (nothing was found to write it from); the "
                "report lists it as not written",
                kind="info",
            )
            return reason
        yield from self._verify(index, text, controls)
        if _stopped(controls):
            return "cancelled"  # not every claim was checked: --continue does it again
        sources = self.agent.sources
        written = SectionWritten(
            index, section.title, text, summary(text), used_sources(text, sources),
            unmatched(text, sources), reason,
        )  # fmt: skip
        self.written[index] = written
        yield written
        return reason

    def _write_alone(
        self, index: int, read: dict[int, list[str]], controls: Controls
    ) -> Generator[Event, None, str]:
        assert self.plan is not None
        self._kv_moved = True
        return (
            yield from write_alone(
                self.agent, self.plan, index, read, self.options.words, controls.interrupt
            )
        )

    def _turn(
        self, question: str, controls: Controls
    ) -> Generator[Event, None, tuple[FinalAnswer | None, FinishReason]]:
        """One agent turn of the section (its exact context journaled after it)."""
        reason: FinishReason = "error"
        answer: FinalAnswer | None = None
        for event in self.agent.ask(question, controls):
            self._note_read(event)
            if isinstance(event, FinalAnswer):
                answer = event
            elif isinstance(event, Finished):
                reason = event.reason
            yield event
        self._keep()
        return answer, reason

    def _note_read(self, event: Event) -> None:
        if isinstance(event, ToolResult):
            for hit, src in zip(event.hits, event.sources, strict=False):
                self.read.setdefault(src.n, []).append(hit.content)
        elif isinstance(event, PageOpened) and event.source is not None:
            texts = [f"{p.heading}\n{p.text}" if p.heading else p.text for p in event.passages]
            self.read.setdefault(event.source.n, []).extend(texts)

    def _verify(self, index: int, text: str, controls: Controls) -> Iterator[Event]:
        agent = self.agent
        judge = Judge(
            agent.engine, agent.settings.sampling, reasoning=agent.engine.info.reasoning,
            cancel=controls.interrupt,
        )  # fmt: skip
        for claim in claims(text):
            if controls.cancelled:
                return
            self._kv_moved = True
            try:
                judged = judge.judge(claim, self.read)
                fixed = None
                if self.options.fix and judged.verdict in ("partly", "unsupported"):
                    fixed = judge.fix(claim, self.read)
            except QwqEdgeError as exc:
                yield Notice(f"claims were not all checked: {exc}", kind="info")
                return
            if _stopped(controls):
                return  # the verdict was cut off: it confirms nothing
            yield ClaimChecked(
                index, claim.sentence, claim.cited, judged.verdict, judged.source,
                judged.passage, fixed,
            )  # fmt: skip

    def _branch(self) -> Iterator[Event]:
        """Back to the plan's state: its context, and its KV from the snapshot when the
        verifier used the engine since."""
        branch_at(self.agent, self.plan_context)
        self.agent.searcher.forget_queries()
        if self._kv_moved and self.snapshots is not None:
            restored = self.snapshots.restore(
                self.agent.engine, self.plan_context, [self.agent.session_id]
            )
            if restored.note:
                yield Notice(f"{restored.note}: re-reading the plan's tokens", kind="context")
        self._kv_moved = False

    # -- keeping and continuing --------------------------------------------------------

    def _keep(self, plan_snapshot: bool = False) -> None:
        """The turn's exact tokens in the journal (a section's start at the plan's end);
        the plan's KV as the session's snapshot, which every section branches from."""
        agent = self.agent
        try:
            if self.recorder is not None:
                tokens = agent.context[agent.turn_start :]
                self.recorder.record_context(agent.turn, agent.turn_start, tokens)
            if plan_snapshot and self.snapshots is not None and agent.context:
                self.snapshots.save(agent.engine, agent.session_id)
        except (OSError, QwqEdgeError):
            pass  # the report goes on; only the fast path of --continue is lost

    def resume(self, events: list[Event], plan_context: list[int]) -> Iterator[Event]:
        """Pick a journaled report up: its plan, its sections written, what the model read
        and the sources' numbers; the plan's KV from its snapshot."""
        plans = [e for e in events if isinstance(e, ReportPlanned)]
        if not plans or plans[-1].status == "rejected":
            raise QwqEdgeError("this report has no plan to continue from (it was rejected)")
        start = next((e for e in events if isinstance(e, SessionStarted)), None)
        if start is None:
            raise QwqEdgeError("this report's journal has no start; it cannot be continued")
        self.plan = plans[-1]
        results = [e for e in events if isinstance(e, (ToolResult, PageOpened))]
        turns = sum(isinstance(e, QuestionAsked) for e in events)
        restore(self.agent, plan_context, turns, start.t, results)
        for event in events:
            self._note_read(event)
            if isinstance(event, SectionWritten):
                self.written[event.index] = event
        self.plan_context = list(plan_context)
        self._kv_moved = True
        yield Notice(
            f"continuing the report: {len(self.written)} of {len(self.plan.sections)} "
            "sections written",
            kind="info",
        )


def _stopped(controls: Controls) -> bool:
    """Cancelled by now (a call, so a check earlier in the loop does not narrow it)."""
    return controls.cancelled
