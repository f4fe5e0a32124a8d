"""How often the report verifier agrees with a person: planted claims over passages of the
report corpus (``bench.report_corpus``), half of them true to their passage and half false
(a number, a name or a year changed, or the statement reversed), each labelled
``supported`` or ``unsupported``. The claims were written before any model judged them and
are not to be tuned to what a model answers.

Each claim cites [1] and is judged by ``verify.Judge`` against its passage alone
(``read = {1: [passage]}``), as a report's claims are. Scoring: the verdict ``supported``
agrees with a true claim; every other verdict (``partly``, ``unsupported``, ``unmatched``)
counts as "not supported", so it agrees with a false claim and disagrees with a true one.
``partly`` is reported on its own besides, in the confusion table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from qwq_edge.bench.report_corpus import paragraph
from qwq_edge.engine.base import Engine
from qwq_edge.research.verify import PASSAGE_CHARS, Claim, Judge, Judgement
from qwq_edge.settings import Sampling

Label = Literal["supported", "unsupported"]
LABELS: tuple[Label, ...] = ("supported", "unsupported")
OUTCOMES = ("supported", "partly", "unsupported", "unmatched")


@dataclass(frozen=True)
class Planted:
    document: str  # a file of the report corpus
    index: int  # its paragraph, from 0
    claim: str  # one sentence, citing [1]
    label: Label

    @property
    def passage(self) -> str:
        return paragraph(self.document, self.index)


def _p(document: str, index: int, claim: str, true: bool) -> Planted:
    return Planted(document, index, claim, "supported" if true else "unsupported")


T, F = True, False
CLAIMS: tuple[Planted, ...] = (
    _p("history.md", 0, "Orrowmere lies in the Pellam Sound, 74 kilometres off the coast of "
       "Calder Vane [1].", T),
    _p("history.md", 0, "The stone rings at Carrow Head have been dated to around 1900 BC "
       "[1].", F),
    _p("history.md", 1, "The chapel of St Ulfric at Kestrel Quay was built in 1602 [1].", T),
    _p("history.md", 2, "The Great Storm of 1711 destroyed 310 houses at Kestrel Quay [1].", F),
    _p("history.md", 3, "The Calder Vane Company bought Orrowmere in 1783 for 12,000 crowns "
       "[1].", T),
    _p("history.md", 3, "The Orrowmere Moot, elected in 1842, had 71 members [1].", F),
    _p("history.md", 4, "The Selwick lighthouse was automated in 1968 [1].", F),
    _p("settlement.md", 0, "The voyage of the Bright Heron from Ostmark took 19 days [1].", T),
    _p("settlement.md", 0, "Edda Vorne led 64 families from the port of Ostmark [1].", F),
    _p("settlement.md", 1, "31 of the 212 settlers died in the first winter, most of them from "
       "fever [1].", T),
    _p("settlement.md", 2, "In 1596 the main settlement moved from Kestrel Quay to Selwick Bay "
       "[1].", F),
    _p("settlement.md", 3, "The farmland was divided into 88 crofts known as the Vorne "
       "Allotment [1].", T),
    _p("settlement.md", 4, "The population of Orrowmere peaked at 11,450 in the census of 1921 "
       "[1].", F),
    _p("settlement.md", 4, "The census of 2021 counted 9,870 people on the island [1].", T),
    _p("economy.md", 0, "The herring fleet of Kestrel Quay was largest in 1890, with 140 boats "
       "[1].", T),
    _p("economy.md", 1, "Islanders burned kelp to make soda ash for the paper mills of the "
       "mainland [1].", F),
    _p("economy.md", 2, "Tourism provides 38 percent of the jobs on Orrowmere [1].", T),
    _p("economy.md", 2, "Orrowmere received 16,000 visitors in 2023 [1].", F),
    _p("economy.md", 3, "The wool of the Tessaly sheep is spun at the Fenlow mill [1].", T),
    _p("economy.md", 4, "The Ammery Distillery was founded at Brannock in 1812 [1].", F),
    _p("geography.md", 0, "Orrowmere is 9 kilometres long and 31 kilometres wide [1].", F),
    _p("geography.md", 1, "Mount Tessaly, the highest point of the island, is 684 metres high "
       "[1].", T),
    _p("geography.md", 2, "The river Skelling drains Lough Ammery and reaches the sea at "
       "Brannock [1].", T),
    _p("geography.md", 3, "Carrow Head holds a colony of about 14,000 pairs of gannets [1].", F),
    _p("festivals.md", 0, "On Vorne Day a procession walks 11 kilometres from Selwick Bay to "
       "Kestrel Quay [1].", T),
    _p("festivals.md", 1, "Herring Sunday has been held on the first Sunday of August since "
       "1791 [1].", F),
    _p("festivals.md", 2, "Anyone may carry a burning barrel at the Midwinter Tarring in "
       "Dunmarrow [1].", F),
    _p("festivals.md", 3, "The fiddler Colm Reddish founded the Orrowmere Folk Week in 1974 "
       "[1].", T),
    _p("people.md", 2, "Isobel Crane published Flora Orrovensis in 1849 [1].", T),
    _p("people.md", 3, "The steamer Marigold, built at Hamish Tull's yard, carried mail to the "
       "mainland from 1902 to 1958 [1].", F),
    _p("people.md", 4, "Ada Fenwright won the Harrowby Prize in 1996 for The Salt Ledger [1].",
       T),
    _p("cuisine.md", 0, "Skelling eel pie is baked with leeks and potatoes in a rye crust [1].",
       T),
    _p("cuisine.md", 2, "Tessaly lamb is smoked over peat for three days [1].", F),
    _p("cuisine.md", 3, "Beekeepers on the Blackmire make about 60 tonnes of heather honey a "
       "year [1].", F),
    _p("cuisine.md", 4, "The Moot banned the hunting of puffins in 1931 [1].", T),
    _p("transport.md", 0, "The ferry MV Edda Vorne carries up to 290 cars [1].", F),
    _p("transport.md", 1, "The ferry sails twice a day in summer and once a day in winter "
       "[1].", T),
    _p("transport.md", 2, "An eight-seat aircraft flies from Fenlow to Calder City three times "
       "a week [1].", T),
    _p("transport.md", 3, "A single bus route on Orrowmere serves 41 stops [1].", F),
    _p("transport.md", 4, "The Orrowmere Peat Railway ran from 1898 to 1991 [1].", F),
)  # fmt: skip


def agrees(label: Label, verdict: str) -> bool:
    """``supported`` agrees with a true claim; anything else with a false one."""
    return (verdict == "supported") == (label == "supported")


def _valid(planted: Planted, judged: Judgement) -> bool:
    """The passage the judge relied on is one it was shown (or none, source 0)."""
    if judged.source == 0:
        return judged.passage == ""
    return judged.source == 1 and judged.passage == planted.passage[:PASSAGE_CHARS]


def verifier_agreement(
    engine: Engine,
    claims: Sequence[Planted] = CLAIMS,
    *,
    on_claim: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Every planted claim judged on ``engine``: agreement with the labels (``agree`` of
    ``n``, ``agreement`` as a share), per label, the confusion table (label -> verdict ->
    count), how many verdicts were ``partly``, whether every passage index was valid, and
    each claim's outcome. ``on_claim(done, total)`` is told after each."""
    judge = Judge(engine, Sampling(), reasoning=engine.info.reasoning)
    confusion = {label: dict.fromkeys(OUTCOMES, 0) for label in LABELS}
    per_claim: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for i, planted in enumerate(claims, 1):
        judged = judge.judge(Claim(planted.claim, (1,)), {1: [planted.passage]})
        confusion[planted.label][judged.verdict] += 1
        per_claim.append({"claim": planted.claim, "label": planted.label,
                          "verdict": judged.verdict, "source": judged.source,
                          "agrees": agrees(planted.label, judged.verdict),
                          "passage_valid": _valid(planted, judged)})  # fmt: skip
        if on_claim is not None:
            on_claim(i, len(claims))
    per_label = {}
    for label in LABELS:
        mine = [c for c in per_claim if c["label"] == label]
        per_label[label] = {"agree": sum(c["agrees"] for c in mine), "n": len(mine)}
    agree = sum(c["agrees"] for c in per_claim)
    n = len(per_claim)
    return {
        "agree": agree,
        "n": n,
        "agreement": agree / n if n else 0.0,
        "per_label": per_label,
        "confusion": confusion,
        "partly": sum(row["partly"] for row in confusion.values()),
        "passages_valid": all(c["passage_valid"] for c in per_claim),
        "seconds": time.perf_counter() - t0,
        "claims": per_claim,
    }
