"""Every sentence a report's model reads: the plan request, a section's brief with the
findings so far, and the verifier's question. (The agent's own prompts are in
``agent/prompts.py``; these ride on top of them.)"""

from __future__ import annotations

from collections.abc import Sequence

from qwq_edge.events import PlanSection, ReportPlanned


def plan_request(topic: str, sections: int) -> str:
    least = min(3, sections)
    return (
        f"Plan a research report on this topic: {topic}\n\n"
        f"Write the plan as JSON: a title, and {least} to {sections} sections, each with a "
        "short title, its goal in one sentence, and one to three questions it must answer. "
        f"Every section is about {topic}, nothing else. Do not search yet and do not write "
        "the report; only the plan."
    )


def section_request(
    plan: ReportPlanned, index: int, findings: Sequence[str], words: int = 180
) -> str:
    """The brief for section ``index`` (from 1): its goal and questions, and what earlier
    sections found (their summaries, with their citations), never their pages."""
    section: PlanSection = plan.sections[index - 1]
    lines = [
        f"Now research and write section {index} of {len(plan.sections)} of the report "
        f'"{plan.title}": {section.title}.',
        f"Goal: {section.goal}",
        "Questions:",
        *[f"- {q}" for q in section.questions],
    ]
    if findings:
        lines += ["", "Findings of the sections already written:", *findings]
    lines += [
        "",
        "Search for sources and read the best ones, then write this section only: about "
        f"{words} words of Markdown prose, no heading. Cite every fact with its source "
        "number, like [1]. Use only what the sources say.",
    ]
    return "\n".join(lines)


WRITER_SYSTEM = (
    "You write one section of a research report from numbered sources. Use only what the "
    "sources say, and cite every fact with its source number, like [3]."
)


def write_alone(
    plan: ReportPlanned, index: int, passages: Sequence[tuple[int, str]], words: int
) -> str:
    section = plan.sections[index - 1]
    body = "\n\n".join(f"[{n}] {text}" for n, text in passages)
    asks = "\n".join(f"- {q}" for q in section.questions)
    return (
        f'Sources:\n\n{body}\n\nWrite section {index} of the report "{plan.title}": '
        f"{section.title}.\nGoal: {section.goal}\nQuestions:\n{asks}\n\nAbout {words} words "
        "of Markdown prose, no heading, every fact cited like [1]."
    )


VERIFIER_SYSTEM = (
    "You check claims against sources. You are given passages from sources and one claim "
    "that cites them. Decide whether the passages support the claim: supported (the "
    "passages state it), partly (some of it is stated, some is not), or unsupported (the "
    "passages do not state it, or say otherwise). Answer with JSON only: the verdict and "
    "the number of the passage you relied on (0 if none)."
)


def _numbered(passages: Sequence[str]) -> str:
    return "\n\n".join(f"Passage {i}:\n{text}" for i, text in enumerate(passages, 1))


def verifier_question(passages: Sequence[str], claim: str) -> str:
    return f"{_numbered(passages)}\n\nClaim: {claim}\n\nIs the claim supported by the passages?"


FIX_SYSTEM = (
    "You correct a report. You are given passages and one sentence that they do not fully "
    "support. Rewrite the sentence so that it says only what the passages state, keeping "
    "its citation, or drop it when the passages say nothing of it. Answer with JSON only."
)


def fix_question(passages: Sequence[str], sentence: str) -> str:
    return f"{_numbered(passages)}\n\nSentence: {sentence}\n\nRewrite it, or drop it."
