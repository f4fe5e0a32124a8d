"""Checking a report's claims: the sentences that cite sources, the passages each claim is
judged against, and the judge itself (the model, in a context of its own, answering under
a JSON grammar so every verdict parses).

A claim is judged against what the model read of the sources it cites (search results and
opened passages, as journaled), the passages ranked by BM25 for the claim's words and cut
to a budget: the judge reads the few passages that can decide, not whole pages. The judge
runs without thinking and greedily, so a verdict is the same on every run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from qwq_edge.agent.citations import cited_numbers
from qwq_edge.events import Verdict
from qwq_edge.jsonfix import close_json
from qwq_edge.library.passages import Passage
from qwq_edge.reading.focus import scores
from qwq_edge.research import prompts
from qwq_edge.research.side import Side

MAX_PASSAGES = 4
PASSAGE_CHARS = 1_500  # one passage as the judge sees it
JUDGE_CHARS = 5_000  # all of them together: ~1,300 tokens, room in a 4k context
_SENTENCE = re.compile(r"(?<=[.!?])(?:\[\d[\d,\s–-]*\])*\s+(?=[A-Z0-9\"'(\[*])")
_CITE_TAIL = re.compile(r"((?:\s*\[\d[\d,\s–-]*\])+)\s*$")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


_VERDICTS: dict[str, Verdict] = {
    "supported": "supported", "partly": "partly", "unsupported": "unsupported",
}  # fmt: skip


@dataclass(frozen=True)
class Claim:
    sentence: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    source: int = 0
    passage: str = ""


def sentences(text: str) -> list[str]:
    """The sentences of Markdown prose (headings, fences and tables left out)."""
    out: list[str] = []
    fenced = False
    for raw in text.split("\n"):
        line = raw.strip()
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line or line.startswith(("#", "|")):
            continue
        line = _LIST.sub("", line)
        out += [s.strip() for s in _split(line) if s.strip()]
    return out


def _split(line: str) -> list[str]:
    # A citation after the full stop ("... in 1990. [2] Then ...") stays with its sentence.
    parts, last = [], 0
    for m in _SENTENCE.finditer(line):
        parts.append(line[last : m.end()].rstrip())
        last = m.end()
    parts.append(line[last:])
    return parts


_FURNITURE = re.compile(
    r"^(?:#{1,6}\s|-{3,}\s*$|\*{3,}\s*$|_{3,}\s*$|URL:\s|\[\d+\]\s\(|Sources?:\s*$)"
)


def tidy(text: str) -> str:
    """A section's text as it goes into the report: no headings or rules of its own (the
    report gives it one), no lines copied from a tool response's layout ("URL: ...",
    "[1] (local document) ..."), and no sentence said twice (a small model loops)."""
    seen: set[str] = set()
    lines: list[str] = []
    for raw in text.strip().split("\n"):
        line = raw.rstrip()
        if _FURNITURE.match(line.strip()):
            continue
        kept = []
        for sentence in _split(line) if line.strip() else [""]:
            key = " ".join(sentence.split()).casefold()
            if len(key) > 12 and key in seen:
                continue
            seen.add(key)
            kept.append(sentence)
        if line.strip() and not any(k.strip() for k in kept):
            continue
        lines.append(" ".join(kept) if line.strip() else "")
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return out


def summary(text: str, words: int = 60) -> str:
    """A section's findings as later sections see them: its first sentences, citations
    kept, cut at ``words`` words."""
    out: list[str] = []
    count = 0
    for s in sentences(text):
        n = len(s.split())
        if out and count + n > words:
            break
        out.append(" ".join(s.split()[:words]))
        count += n
    return " ".join(out)


def lead(text: str, skip: Collection[str] = ()) -> str:
    """The sentence that best stands for a section in the report's summary: its first
    that cites a source, else its first that says something (six words or more, not a
    label ending in a colon); never one of ``skip`` (the claims found doubtful)."""
    said = [
        s for s in sentences(text)
        if len(s.split()) >= 6 and not s.rstrip("*").endswith(":") and s not in skip
    ]  # fmt: skip
    cited = [s for s in said if cited_numbers(s)]
    return (cited or said or [""])[0]


def claims(text: str) -> list[Claim]:
    """Every sentence that cites at least one source, with the numbers it cites."""
    return [Claim(s, tuple(n)) for s in sentences(text) if (n := cited_numbers(s))]


def evidence(claim: Claim, read: Mapping[int, Sequence[str]]) -> list[tuple[int, str]]:
    """(source, passage) pairs the judge reads for ``claim``: the passages of its cited
    sources that best match its words, at most ``MAX_PASSAGES`` and ``JUDGE_CHARS``."""
    pool = [(n, text) for n in claim.cited for text in read.get(n, ()) if text.strip()]
    if not pool:
        return []
    parts = [Passage("", "", text[:PASSAGE_CHARS], "") for _, text in pool]
    ranked = sorted(range(len(pool)), key=lambda i: -scores(parts, claim.sentence)[i])
    out: list[tuple[int, str]] = []
    used = 0
    for i in ranked[:MAX_PASSAGES]:
        text = parts[i].text
        if out and used + len(text) > JUDGE_CHARS:
            break
        out.append((pool[i][0], text))
        used += len(text)
    return out


def passages_for(
    focus: str, read: Mapping[int, Sequence[str]], budget: int = JUDGE_CHARS
) -> list[tuple[int, str]]:
    """The passages read that best match ``focus``, within ``budget`` characters, in source
    order: what a section is written from when the model wrote nothing itself."""
    pool = [(n, text[:PASSAGE_CHARS]) for n in sorted(read) for text in read[n] if text.strip()]
    parts = [Passage("", "", text, "") for _, text in pool]
    ranked = sorted(range(len(pool)), key=lambda i: -scores(parts, focus)[i]) if pool else []
    chosen: list[int] = []
    used = 0
    for i in ranked:
        if chosen and used + len(pool[i][1]) > budget:
            break
        chosen.append(i)
        used += len(pool[i][1])
    return [pool[i] for i in sorted(chosen)]


def verdict_grammar(passages: int) -> str:
    choices = " | ".join(f'"{i}"' for i in range(passages + 1))
    return "\n".join(
        [
            'root ::= "{" ws "\\"verdict\\":" ws verdict ws "," ws "\\"passage\\":" ws '
            'number ws "}"',
            'verdict ::= "\\"supported\\"" | "\\"partly\\"" | "\\"unsupported\\""',
            f"number ::= {choices}",
            'ws ::= " "?',
        ]
    )


FIX_GRAMMAR = "\n".join(
    [
        'root ::= "{" ws "\\"action\\":" ws ( drop | rewrite ) ws "}"',
        'drop ::= "\\"drop\\""',
        'rewrite ::= "\\"rewrite\\"" ws "," ws "\\"sentence\\":" ws "\\"" first char* "\\""',
        'first ::= [^"\\\\\\x00-\\x20]',
        'char ::= [^"\\\\\\x00-\\x1f] | "\\\\" ["\\\\/nt]',
        'ws ::= " "?',
    ]
)


class Judge(Side):
    """The model as a verifier, greedy and without thinking, so a verdict is the same on
    every run."""

    greedy = True

    def judge(self, claim: Claim, read: Mapping[int, Sequence[str]]) -> Judgement:
        """The verdict on ``claim``: ``unmatched`` when no source it cites was read (an
        unknown number, or a source whose every read failed), ``unsupported`` when what was
        read of them is empty."""
        if not any(n in read for n in claim.cited):
            return Judgement("unmatched")
        shown = evidence(claim, read)
        if not shown:
            return Judgement("unsupported")
        question = prompts.verifier_question([t for _, t in shown], claim.sentence)
        raw = self.ask(
            prompts.VERIFIER_SYSTEM, question, grammar=verdict_grammar(len(shown)), max_tokens=64
        )
        data = _loads(raw)
        # Anything else (a cancel cut it off) confirmed nothing.
        verdict = _VERDICTS.get(str(data.get("verdict")), "unsupported")
        pick = data.get("passage")
        index = pick - 1 if isinstance(pick, int) else -1
        if 0 <= index < len(shown):
            return Judgement(verdict, shown[index][0], shown[index][1])
        return Judgement(verdict)

    def fix(self, claim: Claim, read: Mapping[int, Sequence[str]]) -> str:
        """The sentence rewritten to what its passages state (its citations kept), or ""
        when the model drops it."""
        shown = evidence(claim, read)
        if not shown:
            return ""
        question = prompts.fix_question([t for _, t in shown], claim.sentence)
        data = _loads(self.ask(prompts.FIX_SYSTEM, question, grammar=FIX_GRAMMAR, max_tokens=160))
        text = data.get("sentence")
        if data.get("action") != "rewrite" or not isinstance(text, str) or not text.strip():
            return ""
        text = " ".join(text.split())
        if not cited_numbers(text):  # keep the claim checkable: its citations stay
            tail = _CITE_TAIL.search(claim.sentence)
            cites = tail.group(1).strip() if tail else "".join(f"[{n}]" for n in claim.cited)
            text = f"{text.rstrip('.')} {cites}." if text.endswith(".") else f"{text} {cites}"
        return text


def _loads(raw: str) -> dict[str, object]:
    try:
        data = json.loads(raw + close_json(raw))
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
