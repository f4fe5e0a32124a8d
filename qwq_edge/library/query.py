"""What a question asks the FTS5 index for: its words, stopwords dropped, ORed.

Queries come from a model and read like questions ("what were teasel heads used for"), and
FTS5 ANDs every term, so such a query would find nothing. ``fts_query`` relaxes it: the
stopwords go, the remaining terms are ORed, and bm25 ranks passages that match more and
rarer terms first (docs/architecture.md, "The library").
"""

from __future__ import annotations

import re

_STOP_TEXT = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers him his how i if in into is it its
    itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours tell explain describe find know
    give show please used use"""
STOPWORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"\w+", re.UNICODE)


def terms(query: str) -> list[str]:
    """The query's words, stopwords dropped (all of them kept if nothing else is left)."""
    words = [w.casefold() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS]
    return list(dict.fromkeys(kept or words))


def fts_query(query: str) -> str:
    """An FTS5 expression that ORs the query's terms, each quoted (no syntax can leak in)."""
    return or_terms(terms(query))


def or_terms(words: list[str]) -> str:
    return " OR ".join(f'"{w}"' for w in words)
