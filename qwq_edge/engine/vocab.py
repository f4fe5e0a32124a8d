"""A model's vocabulary alone (llama.cpp's ``vocab_only``: no weights, no context), for
decoding journaled token ids without loading the model: the trajectory export."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qwq_edge.engine import native_log
from qwq_edge.errors import ModelLoadError


class LlamaVocab:
    """``tokenize`` / ``token_id`` / ``detokenize`` of a GGUF's vocabulary."""

    def __init__(self, path: Path, log_path: Path | None = None) -> None:
        if log_path is not None:  # llama.cpp's lines to the log, not the terminal
            native_log.route_to(log_path)
        try:
            from llama_cpp import Llama

            with contextlib.redirect_stderr(native_log.stderr_sink()):
                self._llm: Any = Llama(model_path=str(path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"could not read the vocabulary of {path}: {exc}") from exc
        self._pieces: dict[int, bytes] = {}

    def tokenize(self, text: str, *, trusted: bool, bos: bool = False) -> list[int]:
        if not text:
            return []
        out: list[int] = self._llm.tokenize(text.encode("utf-8"), add_bos=bos, special=trusted)
        return out

    def token_id(self, text: str) -> int | None:
        ids = self.tokenize(text, trusted=True)
        return ids[0] if len(ids) == 1 else None  # asked only of the ChatML markers

    def detokenize(self, tokens: Sequence[int]) -> str:
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", errors="replace")

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            raw: bytes = self._llm._model.token_to_piece(token, special=True)
            piece = self._pieces[token] = raw.rstrip(b"\0")
        return piece
