"""The model grader of ``qwq-edge eval --grader model``: SimpleQA's three grades (correct,
incorrect, not attempted), sampled greedily under a JSON grammar on a context of its own
(``research/side.py``), so a verdict always parses and is the same on every run. The grader
may be the answering engine, another local model or a llama-server."""

from __future__ import annotations

import json

from qwq_edge.evaluation.formats import Item
from qwq_edge.evaluation.grading import short_answer
from qwq_edge.research.side import Side

GRADES = ("correct", "incorrect", "not_attempted")

GRADE_GRAMMAR = "\n".join(
    [
        'root ::= "{" ws "\\"grade\\":" ws grade ws "}"',
        'grade ::= "\\"correct\\"" | "\\"incorrect\\"" | "\\"not_attempted\\""',
        'ws ::= " "?',
    ]
)

GRADER_SYSTEM = (
    "You grade answers to questions against a gold target, as in SimpleQA. "
    "A predicted answer is CORRECT when it contains the gold target's meaning and does not "
    "contradict it (wording, order, capitalization, spelling variants, and extra detail that "
    "does not contradict it do not matter; a number must match the gold to its last "
    "significant figure). It is INCORRECT when any of its statements contradicts the gold "
    "target, including a hedged guess among several candidates. It is NOT_ATTEMPTED when it "
    "does not give the answer and does not contradict it (for example: it says it does not "
    "know, or needs more information). Reply only with JSON: "
    '{"grade": "correct"}, {"grade": "incorrect"} or {"grade": "not_attempted"}.'
)


def grader_question(item: Item, prediction: str) -> str:
    golds = " | ".join(item.answers)
    return (
        f"Question: {item.question}\nGold target: {golds}\n"
        f"Predicted answer: {short_answer(prediction)[:2000]}\n\nGrade the predicted answer."
    )


class ModelGrader(Side):
    """Greedy and without thinking; ``grade`` returns one of ``GRADES``."""

    greedy = True

    def grade(self, item: Item, prediction: str) -> str:
        text = self.ask(
            GRADER_SYSTEM, grader_question(item, prediction), grammar=GRADE_GRAMMAR, max_tokens=24
        )
        try:
            verdict = json.loads(text).get("grade")
        except (json.JSONDecodeError, AttributeError):
            return "not_attempted"  # cut off or cancelled: counted as not right
        return verdict if verdict in GRADES else "not_attempted"
