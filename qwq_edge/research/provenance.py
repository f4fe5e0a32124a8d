"""``report.provenance.md``: how a report was made, from its journaled events. The plan as
approved, every query and what it returned, every source consulted (cited or not), every
page opened, every verdict with the passage it relied on, the model and its quant, the
time and the tokens each step took, and what branching from the plan's state saved.
"""

from __future__ import annotations

import statistics
import time

from qwq_edge.research.document import Report, SectionLog, final_text, link, numbering, safe
from qwq_edge.research.plan import outline
from qwq_edge.text import printable


def _code(text: str) -> str:
    """Text for a code span, where backslash escapes do not work: one line, no backtick."""
    return " ".join(printable(text).split()).replace("`", "'")


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "?"


def branch_figures(log: SectionLog) -> tuple[int, int]:
    """(tokens evaluated to start the section, tokens a re-prefill would have evaluated):
    the first engine call of the section evaluates the brief on top of the plan's KV."""
    first = next((s for s in log.stats), None)
    if first is None:
        return 0, 0
    return first.tokens_evaluated, first.tokens_evaluated + first.tokens_reused


def provenance(report: Report) -> str:
    plan = report.plan
    lines = [f"# Provenance: {safe(plan.title if plan else report.topic)}", ""]
    lines += [
        f"- Session: `{report.session_id}` (replay it: `qwq-edge replay {report.session_id}`)",
        f"- Topic: {safe(report.topic)}",
        f"- Model: {safe(report.model)}" + (f" ({safe(report.quant)})" if report.quant else ""),
        f"- Started: {_when(report.started)}",
        "",
    ]
    if plan is not None:
        statuses = ", ".join(p.status for p in report.plans)
        lines += [f"## Plan ({plan.status}; {statuses})", "", "```text"]
        lines += [safe(line) if line else "" for line in outline(plan).splitlines()[:-1]]
        lines += ["```", ""]
    plan_gen = sum(s.tokens_generated for s in report.plan_stats)
    plan_s = sum(s.prompt_seconds + s.gen_seconds for s in report.plan_stats)
    lines += [f"Planning: {plan_gen:,} tokens generated in {plan_s:.1f} s.", ""]
    logs = [report.sections[i] for i in sorted(report.sections)]
    texts = [final_text(log) for log in logs if log.written is not None]
    mapping = numbering(texts, report.sources)
    lines += _sections(logs, mapping)
    lines += _sources(report, mapping)
    lines += _figures(report, logs)
    return "\n".join(lines) + "\n"


def _cites(nums: tuple[int, ...], mapping: dict[int, int]) -> str:
    return ", ".join(f"[{mapping[n]}]" if n in mapping else f"[{n}?]" for n in nums)


def _sections(logs: list[SectionLog], mapping: dict[int, int]) -> list[str]:
    lines: list[str] = []
    for log in logs:
        state = "written" if log.written is not None else "not written"
        lines += [f"## Section {log.index}: {safe(log.title)} ({state})", ""]
        for q in log.queries:
            got = f"error: {safe(q.error)}" if q.error else f"{len(q.hits)} results"
            nums = ", ".join(str(s.n) for s in q.sources)
            lines.append(f"- query `{_code(q.query)}` via {safe(q.provider)}: {got}"
                         + (f" (sources {nums})" if nums else ""))  # fmt: skip
        for p in log.opened:
            where = f"{len(p.passages)} of {p.total} passages" if not p.error else safe(p.error)
            how = "read top result" if p.auto else "opened"
            lines.append(f"- {how} <{link(p.url)}>: {where}")
        if log.checks:
            lines += ["", "| verdict | claim | cites | relied on |", "|---|---|---|---|"]
            for c in log.checks:
                relied = f"[{mapping.get(c.source, c.source)}] " if c.source else ""
                passage = safe(c.passage)[:160].replace("|", "\\|")
                claim = safe(c.sentence).replace("|", "\\|")
                fixed = "" if c.fixed is None else (
                    f" → revised: {safe(c.fixed)}" if c.fixed else " → dropped"
                )  # fmt: skip
                lines.append(
                    f"| {c.verdict} | {claim}{fixed.replace('|', '')} | "
                    f"{_cites(c.cited, mapping)} | {relied}{passage} |"
                )
        lines.append("")
    return lines


def _sources(report: Report, mapping: dict[int, int]) -> list[str]:
    lines = ["## Sources consulted", ""]
    for n in sorted(report.sources):
        src = report.sources[n]
        used = f"cited as [{mapping[n]}]" if n in mapping else "not cited"
        lines.append(f"- session source {n} ({src.origin}, {used}): {safe(src.title)} "
                     f"<{link(src.url)}>")  # fmt: skip
    return [*lines, ""]


def _figures(report: Report, logs: list[SectionLog]) -> list[str]:
    lines = [
        "## Time and tokens",
        "",
        "| section | seconds | evaluated | generated | start: evaluated / re-prefill | verdicts |",
        "|---|---|---|---|---|---|",
    ]
    for log in logs:
        seconds = (log.ended or log.started) - log.started
        evaluated = sum(s.tokens_evaluated for s in log.stats)
        generated = sum(s.tokens_generated for s in log.stats)
        branch, full = branch_figures(log)
        kinds: dict[str, int] = {}
        for c in log.checks:
            kinds[c.verdict] = kinds.get(c.verdict, 0) + 1
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) or "none"
        lines.append(f"| {log.index} | {seconds:.1f} | {evaluated:,} | {generated:,} | "
                     f"{branch:,} / {full:,} | {verdicts} |")  # fmt: skip
    times = [(log.ended - log.started) for log in logs if log.written is not None]
    if times:
        lines += ["", f"Median time per written section: {statistics.median(times):.1f} s."]
    return [*lines, ""]
