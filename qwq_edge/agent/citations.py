"""Citations: which numbered sources an answer actually cites as ``[n]``."""

from __future__ import annotations

import re
from collections.abc import Mapping

from qwq_edge.events import Source

_CITE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Numbers cited in ``text`` in order of first appearance: [1], [2, 3], [4-6]."""
    seen: dict[int, None] = {}
    for match in _CITE.finditer(text):
        for part in re.split(r"\s*,\s*", match.group(1)):
            bounds = re.split(r"\s*[–-]\s*", part)
            lo, hi = int(bounds[0]), int(bounds[-1])
            if hi < lo or hi - lo > 50:
                hi = lo
            for n in range(lo, hi + 1):
                seen.setdefault(n, None)
    return list(seen)


def used_sources(text: str, sources: Mapping[int, Source]) -> tuple[Source, ...]:
    return tuple(sources[n] for n in cited_numbers(text) if n in sources)


def unmatched(text: str, sources: Mapping[int, Source]) -> tuple[int, ...]:
    """Numbers cited as [n] that match no source (every search failed, or the model made
    one up): front ends mark them, so an answer never looks checked when it is not."""
    return tuple(n for n in cited_numbers(text) if n not in sources)
