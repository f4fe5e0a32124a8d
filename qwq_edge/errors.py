"""Error types whose message is one sentence a person can act on (never a traceback)."""

from __future__ import annotations


class QwqEdgeError(Exception):
    """Base class: ``str(err)`` is shown to the user as is."""

    kind = "error"


class ConfigError(QwqEdgeError):
    kind = "config"


class ModelLoadError(QwqEdgeError):
    """The GGUF could not be used (missing, not a GGUF, corrupt, wrong architecture, no memory)."""

    kind = "model"


class ContextFullError(QwqEdgeError):
    kind = "context_full"


class GrammarError(QwqEdgeError):
    """A grammar failed validation; it never reaches llama.cpp's sampler (which would crash)."""

    kind = "grammar"


class Cancelled(QwqEdgeError):
    kind = "cancelled"


class SearchError(QwqEdgeError):
    """A search failed. ``kind`` classifies it; the message never contains the API key."""

    def __init__(self, message: str, kind: str = "search") -> None:
        super().__init__(message)
        self.kind = kind
