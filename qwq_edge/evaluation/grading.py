"""Grading a prediction against golden answers, as the SQuAD v1.1 and Search-R1 scripts
do: normalize (lower case; punctuation, the articles a/an/the and extra spaces removed),
then ``exact`` (equality with any gold), ``contains`` (a gold inside the prediction:
Search-R1's sub-EM) or ``f1`` (token F1, the best over golds).

``contains`` is the default: a chat model answers in a sentence ("The ferry takes 2
hours and 40 minutes [3].") that never equals a short gold, so ``exact`` scores a right
answer wrong; a gold inside the answer is what a reader would accept. Its weakness is a
long answer that lists many candidates; ``model`` (a grader model) covers that case.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Literal

Grader = Literal["exact", "contains", "f1", "model"]
GRADERS: tuple[Grader, ...] = ("exact", "contains", "f1", "model")
F1_PASS = 0.5  # an f1-graded answer counts as correct from this score

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATION = re.compile(r"\[\d+(?:\s*[,–-]\s*\d+)*\]")
_TAG = re.compile(r"</?[A-Za-z][\w-]*>")  # <answer>…</answer>: a word, not "answerxanswer"
_PUNCT = set(string.punctuation)


def normalize(text: str) -> str:
    """SQuAD's ``normalize_answer``: lower, drop punctuation, articles, extra whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def short_answer(answer: str) -> str:
    """The part of a model's answer to grade: citations like ``[1]``, tags like
    ``<answer>`` and Markdown emphasis dropped, and an ``Answer:`` line preferred when there
    is one."""
    text = _TAG.sub(" ", _CITATION.sub("", answer))
    for line in text.splitlines():
        head, sep, rest = line.partition(":")
        if sep and head.strip().strip("*#").strip().lower() in ("answer", "final answer"):
            text = rest
            break
    return text.replace("**", "").replace("__", "").strip()


def exact_match(prediction: str, golds: tuple[str, ...] | list[str]) -> bool:
    pred = normalize(prediction)
    return any(pred == normalize(g) for g in golds)


def contains(prediction: str, golds: tuple[str, ...] | list[str]) -> bool:
    """A normalized gold appears in the normalized prediction, on word boundaries."""
    pred = f" {normalize(prediction)} "
    return any(normalize(g) and f" {normalize(g)} " in pred for g in golds)


def _f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction).split(), normalize(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: tuple[str, ...] | list[str]) -> float:
    """Token F1 (SQuAD v1.1), the best over the golds."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


def grade(grader: Grader, prediction: str, golds: tuple[str, ...] | list[str]) -> bool:
    """Whether ``prediction`` is right under a word grader (``model`` is graded elsewhere)."""
    answer = short_answer(prediction)
    if grader == "exact":
        return exact_match(answer, golds)
    if grader == "f1":
        return f1(answer, golds) >= F1_PASS
    return contains(answer, golds)
