"""Why a stream stops, written once for every Engine: end-of-generation, a stop marker,
the token limit, the context limit, cancellation.

Markers are found on a short tail of the stream, at constant work per token. The naive way
(decode the whole output and search it on every token) is O(n²) over a 10–20k-token
reasoning trace (docs/architecture.md, "Facts"). Here only the text that could still begin
a marker is held back; everything else is released at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qwq_edge.engine.base import Generation


@dataclass(frozen=True)
class Hit:
    marker: str
    start: int  # offset of the marker's first character in the scanned text
    rest: str  # text after the marker in the same feed


@runtime_checkable
class Scanner(Protocol):
    """What finds the place to stop in the stream: ``MarkerScanner`` for literal markers, or
    the agent's call recognizer (which uses one for its literal markers)."""

    def feed(self, text: str) -> tuple[str, Hit | None]:
        """Text safe to show now, and the first hit (generation stops there)."""
        ...

    def flush(self) -> str:
        """The stream ended without a hit: what was held back and may be shown."""
        ...


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


class StopRules:
    """Applies the stop rules to one ``Engine.stream`` call, token by token, filling the
    ``Generation``: its tokens, their text offsets, the stop reason and the marker hit."""

    def __init__(
        self,
        result: Generation,
        *,
        n_ctx: int,
        context_len: int,
        max_tokens: int,
        eog: frozenset[int],
        markers: Sequence[str] | Scanner = (),
        line_start: bool = False,
        cancel: threading.Event | None = None,
    ) -> None:
        self.result = result
        self.room = n_ctx - context_len
        self.limit = min(max_tokens, self.room) if max_tokens > 0 else self.room
        self.eog = eog
        self.cancel = cancel
        self.scanner = (
            markers
            if isinstance(markers, Scanner)
            else MarkerScanner(markers, line_start=line_start)
        )
        self.chunks: list[str] = []
        self.length = 0

    def no_room(self) -> bool:
        """True (and the stop set) when not even one token fits: never call llama.cpp then."""
        if self.room <= 0:
            self.result.stop = "context_full"
            return True
        return False

    def step(self, token: int, decode: Callable[[int], str]) -> tuple[str, bool]:
        """Record one sampled token; returns (text safe to show now, whether to stop).
        ``decode`` turns a non-EOG token into its text (an incremental UTF-8 decoder)."""
        result = self.result
        result.tokens.append(token)
        if token in self.eog:
            result.ends.append(self.length)
            result.stop = "eog"
            return "", True
        text = decode(token)
        safe = ""
        if text:
            self.chunks.append(text)
            self.length += len(text)
            safe, hit = self.scanner.feed(text)
            if hit is not None:
                result.ends.append(self.length)
                result.stop, result.marker = "marker", hit.marker
                result.marker_start, result.rest = hit.start, hit.rest
                return safe, True
        result.ends.append(self.length)
        if self.cancel is not None and self.cancel.is_set():
            result.stop = "cancelled"
            return safe, True
        if len(result.tokens) >= self.limit:
            result.stop = "max_tokens" if self.limit < self.room else "context_full"
            return safe, True
        return safe, False

    def finish(self) -> str:
        """Fill in the text; returns held-back text that turned out not to be a marker."""
        self.result.text = "".join(self.chunks)
        self.result.stats.tokens_generated = len(self.result.tokens)
        return "" if self.result.stop == "marker" else self.scanner.flush()
