"""The statistics of a run: the 95% Wilson score interval of an accuracy, McNemar's exact
test for two arms answering the same questions, and medians."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

Z95 = 1.959964


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``correct`` of ``n``; (0, 0) for no questions."""
    if n <= 0:
        return (0.0, 0.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test (p = 1/2) on the discordant pairs
    (``b``: right only in the first arm, ``c``: right only in the second)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail: float = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(first: dict[str, bool], second: dict[str, bool]) -> tuple[int, int, int]:
    """(items both graded, b, c) over the item ids both dicts hold."""
    both = sorted(set(first) & set(second))
    b = sum(first[i] and not second[i] for i in both)
    c = sum(second[i] and not first[i] for i in both)
    return len(both), b, c


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0
