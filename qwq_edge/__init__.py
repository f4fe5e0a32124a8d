"""qwq-edge: an offline research agent for the terminal, on a local GGUF reasoning model."""

__version__ = "0.1.0"
