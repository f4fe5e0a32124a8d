"""Untrusted text made safe for a terminal or a document: search results, model output and
anything quoted from them may carry escape sequences (clear the screen, retitle the window,
hide text) or bidi overrides that make a line read other than it is. The journal keeps what
was received; only what is shown or exported is cleaned."""

from __future__ import annotations

import re

# C0 controls but tab and newline (ESC and CR included), DEL, C1 controls, and the Unicode
# bidi embeddings, overrides and isolates.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without control characters (newline and tab stay)."""
    return _UNSAFE.sub("", text)
