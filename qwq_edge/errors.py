"""Error types whose message is one sentence a person can act on (never a traceback)."""

from __future__ import annotations

from typing import Literal

# Every kind an error (or a refused tool call) can have: the journal, ``--json`` and the
# front ends branch on these, so they are closed.
ErrorKind = Literal[
    "error", "config", "model", "context_full", "grammar", "cancelled", "journal", "pull",
    # search and the cache
    "search", "no_key", "auth", "bad_request", "forbidden", "rate", "server", "timeout",
    "network", "offline", "went_offline", "replay", "import", "export",
    # the local library
    "library",
    # opening a page: refused by the policy (a private address, a URL nobody gave), a page
    # that answered with an error, one with nothing to read
    "refused", "http", "unreadable",
    # tool calls the agent refused, and turns it ended
    "invalid", "unavailable", "budget", "max_tokens",
]  # fmt: skip


class QwqEdgeError(Exception):
    """Base class: ``str(err)`` is shown to the user as is."""

    kind: ErrorKind = "error"


class ConfigError(QwqEdgeError):
    kind: ErrorKind = "config"


class ModelLoadError(QwqEdgeError):
    """The GGUF could not be used (missing, not a GGUF, corrupt, wrong architecture, no memory)."""

    kind: ErrorKind = "model"


class ContextFullError(QwqEdgeError):
    kind: ErrorKind = "context_full"


class GrammarError(QwqEdgeError):
    """A grammar failed validation; it never reaches llama.cpp's sampler (which would crash)."""

    kind: ErrorKind = "grammar"


class Cancelled(QwqEdgeError):
    kind: ErrorKind = "cancelled"


class SearchError(QwqEdgeError):
    """A search failed. ``kind`` classifies it; the message never contains the API key."""

    def __init__(self, message: str, kind: ErrorKind = "search") -> None:
        super().__init__(message)
        self.kind = kind


class ReadError(QwqEdgeError):
    """A source could not be opened (refused, unreachable, an error page, nothing to read)."""

    def __init__(self, message: str, kind: ErrorKind = "unreadable") -> None:
        super().__init__(message)
        self.kind = kind


class LibraryError(QwqEdgeError):
    """The local library (its index, a ZIM archive, a document folder) could not be used."""

    kind: ErrorKind = "library"
