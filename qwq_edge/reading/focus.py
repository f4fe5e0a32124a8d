"""Which passages of an opened source the model reads: those that best match the focus,
in document order, within a token budget.

Passages are ranked by BM25 over the document itself (each passage a document; its heading
path counts as text), with the query's stopwords dropped and words compared by a crude
stem, so "heads" finds "head". A passage's neighbours get a share of its score, because
the sentence that answers often sits in the paragraph after the one that names the
subject. Nothing matching at all means the start of the document, which is where most
pages say what they are. ``bench/reading.py`` measures the hit rate on paraphrased
questions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qwq_edge.library.index import terms
from qwq_edge.library.passages import Passage
from qwq_edge.library.zim import stem

K1, B = 1.2, 0.75
NEIGHBOUR = 0.3  # the share of a passage's score its neighbours get
MAX_CHARS = 12_000  # never more text than this per open, whatever the token budget
_WORD = re.compile(r"\w+", re.UNICODE)

Measure = Callable[[str], int]  # text -> tokens


def estimate(text: str) -> int:
    """Tokens in ``text`` without a tokenizer (about four characters a token)."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Selection:
    indices: tuple[int, ...]  # the passages read, in document order
    total: int  # passages in the document

    def where(self) -> str:
        """ "passages 4–6, 9 of 31" (numbered from 1, as a person counts)."""
        runs: list[tuple[int, int]] = []
        for i in self.indices:
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
        parts = [f"{a + 1}" if a == b else f"{a + 1}–{b + 1}" for a, b in runs]
        noun = "passage" if len(self.indices) == 1 and self.total == 1 else "passages"
        return f"{noun} {', '.join(parts)} of {self.total}"


def _stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(text.casefold())]


def scores(parts: Sequence[Passage], focus: str) -> list[float]:
    """BM25 of every passage for ``focus``, plus a share of its neighbours' scores."""
    query = {stem(w) for w in terms(focus)}
    if not query or not parts:
        return [0.0] * len(parts)
    docs = [Counter(_stems(f"{p.heading} {p.text}")) for p in parts]
    lengths = [sum(d.values()) for d in docs]
    avg = sum(lengths) / len(lengths) or 1.0
    n = len(docs)
    idf = {}
    for q in query:  # once per term: linear in the page, not quadratic
        df = sum(1 for d in docs if q in d)
        idf[q] = math.log(1 + (n - df + 0.5) / (df + 0.5))
    raw = []
    for doc, length in zip(docs, lengths, strict=True):
        s = 0.0
        for q in query:
            tf = doc.get(q, 0)
            if tf:
                s += idf[q] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
        raw.append(s)
    out = []
    for i, s in enumerate(raw):
        near = max(raw[i - 1] if i else 0.0, raw[i + 1] if i + 1 < n else 0.0)
        out.append(s + NEIGHBOUR * near)
    return out


def select(
    parts: Sequence[Passage],
    focus: str,
    *,
    max_tokens: int,
    measure: Measure = estimate,
    max_chars: int = MAX_CHARS,
) -> Selection:
    """The best passages for ``focus`` that fit ``max_tokens`` (and ``max_chars``), in
    document order. At least one passage is always read: a first passage longer than the
    budget is cut by the caller, not skipped."""
    total = len(parts)
    if not parts:
        return Selection((), 0)
    ranked = scores(parts, focus)
    order = sorted(range(total), key=lambda i: (-ranked[i], i))
    if ranked[order[0]] <= 0:
        order = list(range(total))  # nothing matches: read from the top
    chosen: list[int] = []
    tokens = chars = 0
    for i in order:
        cost = measure(_shown(parts[i])) + 4
        size = len(parts[i].text)
        if chosen and (tokens + cost > max_tokens or chars + size > max_chars):
            continue  # a shorter one further down may still fit
        chosen.append(i)
        tokens, chars = tokens + cost, chars + size
        if tokens >= max_tokens or chars >= max_chars:
            break
    return Selection(tuple(sorted(chosen)), total)


def _shown(p: Passage) -> str:
    return f"{p.heading}\n{p.text}" if p.heading else p.text
