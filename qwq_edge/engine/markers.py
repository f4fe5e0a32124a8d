"""Stop-marker detection on a short tail of the stream: constant work per token.

The naive way (decode the whole output and search it on every token) is O(n²) over a
10–20k-token reasoning trace. Here only the text that could still begin a marker is held
back; everything else is released at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    marker: str
    start: int  # offset of the marker's first character in the scanned text
    rest: str  # text after the marker in the same feed


class MarkerScanner:
    """Feed decoded text; get back text that is safe to show, and the first marker hit.

    ``line_start=True`` treats the stream as starting on a fresh line, so a marker written
    with a leading newline (``"\\n{"``) also matches at the very beginning.
    """

    def __init__(self, markers: Sequence[str], line_start: bool = False) -> None:
        self.markers = tuple(m for m in markers if m)
        self._prefixes = tuple(
            frozenset(m[:k] for m in self.markers if len(m) > k)
            for k in range(max((len(m) for m in self.markers), default=0))
        )
        self._pending = "\n" if line_start else ""
        self._virtual = 1 if line_start else 0  # chars in _pending that were never fed
        self._fed = 0  # real characters fed so far

    def feed(self, text: str) -> tuple[str, Hit | None]:
        buf = self._pending + text
        base = self._fed - len(self._pending)  # offset of buf[0] in the real text (may be -1)
        self._fed += len(text)
        best: tuple[int, str] | None = None
        for m in self.markers:
            i = buf.find(m)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, m)
        if best is not None:
            i, m = best
            safe = buf[self._virtual : i] if i >= self._virtual else ""
            self._pending, self._virtual = "", 0
            return safe, Hit(m, base + i, buf[i + len(m) :])
        hold = 0
        for k in range(min(len(self._prefixes) - 1, len(buf)), 0, -1):
            if buf[-k:] in self._prefixes[k]:
                hold = k
                break
        cut = len(buf) - hold
        safe = buf[self._virtual : cut] if cut > self._virtual else ""
        self._virtual = max(0, self._virtual - cut)
        self._pending = buf[cut:]
        return safe, None

    def flush(self) -> str:
        """At the end of the stream, held-back text turned out not to be a marker."""
        out = self._pending[self._virtual :]
        self._pending, self._virtual = "", 0
        return out
