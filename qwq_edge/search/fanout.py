"""One tool, many sources: a query goes to the web (through the cache) and to the local
library, and the answers are merged by score with a cap per origin, so that neither side
can crowd the other out of a five-result response.

Small models call one tool far more reliably than several, so the model never chooses a
source; every result is labelled with its origin in the tool response instead. A part that
fails while another answers does not fail the search: the response carries the failure in
``partial``, and the model and the user are told.
"""

from __future__ import annotations

from dataclasses import replace

from qwq_edge.errors import SearchError
from qwq_edge.events import SearchHit
from qwq_edge.search.base import SearchProvider, SearchResponse


class FanoutProvider:
    def __init__(self, parts: list[SearchProvider], *, per_origin: int) -> None:
        self.parts = parts
        self.per_origin = per_origin
        self.name = "+".join(p.name for p in parts) or "none"

    def unavailable(self) -> str | None:
        reasons = [p.unavailable() for p in self.parts]
        if not self.parts:
            return "no search source is enabled (sources)"
        if all(r is not None for r in reasons):
            return reasons[0]
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        answers: list[SearchResponse] = []
        errors: list[SearchError] = []
        for part in self.parts:
            if part.unavailable() is not None:
                continue
            try:
                answers.append(part.search(query, max_results=max_results))
            except SearchError as exc:
                errors.append(exc)
        if not answers:
            raise (
                errors[0] if errors else SearchError("no search source is available", "unavailable")
            )
        if len(answers) == 1 and not errors:
            return answers[0]
        first = answers[0]
        hits = merge([h for a in answers for h in _scored(a)], max_results, self.per_origin)
        partial = "; ".join(str(e) for e in errors)
        return replace(
            first,
            hits=hits,
            provider="+".join(a.provider for a in answers),
            cached=all(a.cached for a in answers),
            partial=partial or first.partial,
            partial_kind=errors[0].kind if errors else first.partial_kind,
            cut=max(a.cut for a in answers),
        )


def _scored(response: SearchResponse) -> list[SearchHit]:
    """Scores rescaled to the provider's best (1.0): engines score on unrelated scales."""
    top = max((h.score or 0.0 for h in response.hits), default=0.0)
    n = len(response.hits)
    return [
        replace(h, score=(h.score or 0.0) / top if top > 0 else (n - i) / n)
        for i, h in enumerate(response.hits)
    ]


def merge(
    hits: list[SearchHit], limit: int, per_origin: int | None = None
) -> tuple[SearchHit, ...]:
    """Best first by score, one hit per URL (the earliest, with the best score), at most
    ``per_origin`` from one origin while others have hits to give (then the best of the
    rest fill the response)."""
    first: dict[str, SearchHit] = {}
    for hit in hits:  # one hit per URL: the first part's (a live result beats its saved copy)
        kept = first.setdefault(hit.url, hit)
        if (hit.score or 0.0) > (kept.score or 0.0):
            first[hit.url] = replace(kept, score=hit.score)
    ranked = sorted(first.values(), key=lambda h: -(h.score or 0.0))
    out: list[SearchHit] = []
    seen: set[str] = set()
    taken: dict[str, int] = {}
    for capped in (True, False):
        for hit in ranked:
            if len(out) >= limit:
                return tuple(out)
            if hit.url in seen:
                continue
            if capped and per_origin is not None and taken.get(hit.origin, 0) >= per_origin:
                continue
            seen.add(hit.url)
            taken[hit.origin] = taken.get(hit.origin, 0) + 1
            out.append(hit)
    return tuple(out)
