"""A report's plan: the grammar the model writes it under, reading it back, and the outline
a person edits (in ``$EDITOR`` or the app's plan screen).

The plan is JSON sampled under a GBNF grammar, so it always parses: a title and between
``min(3, n)`` and ``n`` sections, each with a title, a goal and one to three questions.
A string that runs on is cut by the token limit, and the plan is read from what was
written (``jsonfix.close_json``).
"""

from __future__ import annotations

import json
import re

from qwq_edge.errors import QwqEdgeError
from qwq_edge.events import PlanSection, ReportPlanned
from qwq_edge.jsonfix import close_json

MAX_SECTIONS = 10
_CHAR = r'[^"\\\x00-\x1f] | "\\" ["\\/nt]'


class PlanError(QwqEdgeError):
    kind = "error"


def plan_grammar(sections: int) -> str:
    """GBNF for a plan of ``min(3, sections)`` to ``sections`` sections.

    Strings are unbounded in the grammar; the token limit and ``parse_plan`` bound them.
    (Measured on a quiet machine, 0.5B model, 80 tokens, 3 runs: ``char{0,199}`` 46.7
    tokens a second, ``char*`` 48.2, no grammar 46.3. A first measurement on a loaded
    machine had suggested a tenfold cost; it did not hold.)"""
    most = max(1, min(sections, MAX_SECTIONS))
    least = min(3, most)
    more = f'( ws "," ws section ){{{least - 1},{most - 1}}}'
    return "\n".join(
        [
            'root ::= "{" ws "\\"title\\":" ws text ws "," ws "\\"sections\\":" ws '
            f'"[" ws section {more} ws "]" ws "}}"',
            'section ::= "{" ws "\\"title\\":" ws text ws "," ws "\\"goal\\":" ws text '
            'ws "," ws "\\"questions\\":" ws "[" ws text ( ws "," ws text ){0,2} ws "]" '
            'ws "}"',
            'text ::= "\\"" first char* "\\""',
            # Something to say: the first character is not blank.
            'first ::= [^"\\\\\\x00-\\x20]',
            f"char ::= {_CHAR}",
            'ws ::= " "?',
        ]
    )


def _clean(value: object, limit: int) -> str:
    text = " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""
    return text[:limit]


def parse_plan(raw: str, topic: str, sections: int) -> ReportPlanned:
    """The plan the model wrote (``raw``: JSON, possibly cut off at the token limit); a plan
    that says nothing usable falls back to ``fallback_plan``, so a report always has one."""
    try:
        data = json.loads(raw + close_json(raw))
    except json.JSONDecodeError:
        data = None
    title = _clean(data.get("title"), 120) if isinstance(data, dict) else ""
    items = data.get("sections") if isinstance(data, dict) else None
    out: list[PlanSection] = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        qs = item.get("questions")
        questions = tuple(
            q for q in (_clean(x, 160) for x in (qs if isinstance(qs, list) else [])) if q
        )[:3]
        name, goal = _clean(item.get("title"), 80), _clean(item.get("goal"), 200)
        if name or goal:
            out.append(PlanSection(name or goal[:80], goal or name, questions or (goal or name,)))
    out = _distinct(out)[: min(sections, MAX_SECTIONS)]
    if not out:
        return fallback_plan(topic, sections)
    # A weak model repeats one section: fill up to the least the grammar asked for from
    # the plan made without the model, so `--sections 3` gets three.
    taken = {s.title.casefold() for s in out}
    spare = (
        s for s in fallback_plan(topic, MAX_SECTIONS).sections if s.title.casefold() not in taken
    )
    while len(out) < min(3, sections):
        out.append(next(spare))
    return ReportPlanned(title or topic[:120], tuple(out), "proposed", topic)


def _distinct(sections: list[PlanSection]) -> list[PlanSection]:
    """A weak model repeats a section word for word: keep the first of each title."""
    seen: set[str] = set()
    out = []
    for s in sections:
        key = s.title.casefold()
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def fallback_plan(topic: str, sections: int) -> ReportPlanned:
    """A plan made without the model: used when what it wrote holds no section."""
    generic = [
        ("Background", f"{topic}: what it is and where it comes from."),
        ("Key facts", f"{topic}: the main facts and figures."),
        ("Current state", f"{topic}: where it stands today."),
        ("Open questions", f"{topic}: what is disputed or unknown."),
        ("Sources and further reading", f"{topic}: where to read more."),
    ]
    picked = generic[: max(1, min(sections, len(generic)))]
    return ReportPlanned(
        topic[:120], tuple(PlanSection(t, g, (g,)) for t, g in picked), "proposed", topic
    )


def outline(plan: ReportPlanned) -> str:
    """The plan as text a person edits: ``# title``, then per section ``## title``, a
    ``Goal:`` line and ``- question`` lines."""
    lines = [f"# {plan.title}", ""]
    for s in plan.sections:
        lines += [f"## {s.title}", f"Goal: {s.goal}"]
        lines += [f"- {q}" for q in s.questions]
        lines.append("")
    lines.append("<!-- Edit, add or remove sections (## lines). Save and close to go on. -->")
    return "\n".join(lines) + "\n"


_COMMENT = re.compile(r"<!--.*?-->", re.S)


def parse_outline(text: str, plan: ReportPlanned) -> ReportPlanned:
    """An edited outline back into a plan (status ``edited``); one sentence when it holds
    no section, or more than ``MAX_SECTIONS``."""
    title = plan.title
    sections: list[PlanSection] = []
    cur: dict[str, object] | None = None

    def close() -> None:
        if cur is not None:
            qs = tuple(str(q) for q in cur["questions"])  # type: ignore[attr-defined]
            goal = str(cur["goal"]) or str(cur["title"])
            sections.append(PlanSection(str(cur["title"]), goal, qs or (goal,)))

    for raw in _COMMENT.sub("", text).splitlines():
        line = raw.strip()
        if line.startswith("## "):
            close()
            cur = {"title": line[3:].strip()[:80], "goal": "", "questions": []}
        elif line.startswith("# "):
            title = line[2:].strip()[:120] or title
        elif cur is not None and line.lower().startswith("goal:"):
            cur["goal"] = line[5:].strip()[:200]
        elif cur is not None and line[:2] in ("- ", "* ") and line[2:].strip():
            qs = cur["questions"]
            assert isinstance(qs, list)
            if len(qs) < 3:
                qs.append(line[2:].strip()[:160])
    close()
    sections = [s for s in sections if s.title]
    if not sections:
        raise PlanError("the edited plan has no section; write each one as a line '## Title'")
    if len(sections) > MAX_SECTIONS:
        raise PlanError(f"the edited plan has {len(sections)} sections; at most {MAX_SECTIONS}")
    return ReportPlanned(title, tuple(sections), "edited", plan.topic)
