"""The report panel: while a research report is on screen, one row per section of its plan
with the section's state (waiting, researching, writing, verifying, done, missing) and its
claims' verdicts, the verdicts of the whole report, and at the end where its files are.

``ReportProgress`` follows the report's events (plain data: the app hands it every event,
live or from the journal); ``ReportPanel`` draws it. A plan's titles came from the model:
they pass ``printable`` and are drawn as plain text, never parsed as markup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from qwq_edge.events import (
    AnswerDelta,
    ClaimChecked,
    Event,
    PlanStatus,
    ReportPlanned,
    ReportWritten,
    SectionStarted,
    SectionState,
    SectionWritten,
    SessionStarted,
    Verdict,
)
from qwq_edge.text import printable

# The events only the panel shows (a section's turn is shown as any turn is).
REPORT_EVENTS = (ReportPlanned, SectionStarted, ClaimChecked, SectionWritten, ReportWritten)
MARKS: dict[SectionState, str] = {
    "waiting": "·", "researching": "◔", "writing": "◑", "verifying": "◕", "done": "✓",
    "missing": "✗",
}  # fmt: skip
VERDICTS: dict[Verdict, str] = {
    "supported": "✓", "partly": "~", "unsupported": "✗", "unmatched": "?",
}  # fmt: skip
_STYLES: dict[SectionState, str] = {
    "researching": "bold", "writing": "bold", "verifying": "bold", "done": "green",
    "missing": "yellow",
}  # fmt: skip


@dataclass
class SectionRow:
    """One section of the plan as the panel shows it."""

    title: str
    state: SectionState = "waiting"
    verdicts: Counter[Verdict] = field(default_factory=Counter)


@dataclass
class ReportProgress:
    """How far the report on screen got, from its events (``status`` None: no report)."""

    title: str = ""
    status: PlanStatus | None = None
    rows: list[SectionRow] = field(default_factory=list)
    current: int = 0  # the section being worked on, from 1 (0: none)
    folder: str | None = None  # where the files were written (None: not yet)
    partial: bool = False
    asking: SectionStarted | None = None  # a section started; its question not shown yet

    @property
    def active(self) -> bool:
        return self.status is not None

    def row(self, index: int) -> SectionRow | None:
        return self.rows[index - 1] if 1 <= index <= len(self.rows) else None

    def apply(self, event: Event) -> bool:
        """Follow ``event``; True when what the panel shows changed."""
        match event:
            case SessionStarted():
                was = self.active
                self.reset()
                return was
            case ReportPlanned():
                self.title, self.status = printable(event.title), event.status
                self.rows = [SectionRow(printable(s.title)) for s in event.sections]
                self.folder, self.partial, self.current = None, False, 0
            case SectionStarted():
                self.current, self.asking = event.index, event
                self.folder, self.partial = None, False  # a run (again): files come later
                self._set(event.index, "researching")
            case AnswerDelta():
                row = self.row(self.current)
                if row is None or row.state != "researching":
                    return False  # only the first text of a section counts
                row.state = "writing"
            case ClaimChecked():
                row = self.row(event.section)
                if row is None:
                    return False
                row.verdicts[event.verdict] += 1
                if row.state != "done":
                    row.state = "verifying"
            case SectionWritten():
                self._set(event.index, "done")
                self.current = 0
            case ReportWritten():
                self.folder, self.partial, self.current = printable(event.folder), event.partial, 0
                missing = {printable(title) for title in event.missing}
                for row in self.rows:
                    if row.state != "done" and row.title in missing:
                        row.state = "missing"
            case _:
                return False
        return True

    def _set(self, index: int, state: SectionState) -> None:
        row = self.row(index)
        if row is not None:
            row.state = state

    def reset(self) -> None:
        self.title, self.status, self.rows = "", None, []
        self.current, self.folder, self.partial, self.asking = 0, None, False, None

    def question(self, asked: str) -> str:
        """What the conversation shows for a turn's question: a section's turn is asked
        with a long brief, shown as the section's number and title."""
        started, self.asking = self.asking, None
        if started is None:
            return asked
        return f"Section {started.index}: {printable(started.title)}"

    def totals(self) -> Counter[Verdict]:
        out: Counter[Verdict] = Counter()
        for row in self.rows:
            out.update(row.verdicts)
        return out


def verdict_words(counts: Counter[Verdict]) -> str:
    """The verdicts given, as "2 ✓ · 1 ✗", in a fixed order (empty when none)."""
    return " · ".join(f"{counts[v]} {mark}" for v, mark in VERDICTS.items() if counts[v])


def render_progress(progress: ReportProgress) -> Text:
    """The panel's text: the title, a row per section (and its verdicts), the totals, and
    the files once written."""
    out = Text()
    out.append("Report", style="bold")
    if progress.status == "rejected":
        out.append(" · plan rejected", style="yellow")
    out.append("\n")
    out.append(progress.title + "\n\n", style="italic")
    for i, row in enumerate(progress.rows, 1):
        style = _STYLES.get(row.state, "dim")
        out.append(f"{MARKS[row.state]} {i}. ", style=style)
        out.append(row.title + "\n", style=style)
        detail: str = row.state
        if row.verdicts:
            detail += f" · {verdict_words(row.verdicts)}"
        out.append(f"     {detail}\n", style="dim")
    totals = progress.totals()
    if totals:
        out.append(f"\nClaims: {verdict_words(totals)}\n")
    if progress.folder is not None:
        out.append("\nPartial report in\n" if progress.partial else "\nReport in\n", style="bold")
        out.append(progress.folder + "\n")
    return out


def plain(progress: ReportProgress) -> str:
    """The panel as plain text (for tests and logs)."""
    return render_progress(progress).plain


class ReportPanel(Static):
    """Shows a ``ReportProgress``; hidden while no report is on screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.display = False

    def show(self, progress: ReportProgress) -> None:
        self.display = progress.active
        if progress.active:
            self.update(render_progress(progress))
