"""A small embedding model (all-MiniLM-L6-v2 as a GGUF) on llama-cpp-python, beside the chat
model and never touching its context: its own ``Llama`` with ``embedding=True`` and a
512-token window, pooling as the GGUF records it.

Texts longer than the window are cut to its first 512 tokens before they are embedded (about
one real passage in eight is longer); llama-cpp-python's ``truncate=True`` does exactly
this, and the reference vectors our conversion is tested against were made the same way
(docs/architecture.md, "The library").
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qwq_edge.engine import native_log
from qwq_edge.errors import ModelLoadError
from qwq_edge.models.hardware import can_offload, default_threads

WINDOW = 512  # all-MiniLM-L6-v2's position embeddings
Vectors = npt.NDArray[np.float32]


class Embedder:
    """Texts to unit-length vectors (one row each). Thread-safe: one call at a time."""

    def __init__(
        self,
        path: Path,
        *,
        threads: int | None = None,
        gpu: bool = True,
        log_path: Path | None = None,
    ) -> None:
        import llama_cpp

        if log_path is not None:
            native_log.route_to(log_path)
        if not path.is_file():
            raise ModelLoadError(
                f"the embedding model {path} is missing; run `make run` (or "
                "`qwq-edge models pull all-minilm-l6-v2`) to fetch it"
            )
        try:
            self._llama: Any = llama_cpp.Llama(
                model_path=str(path),
                embedding=True,
                n_ctx=WINDOW,
                n_batch=WINDOW,
                n_ubatch=WINDOW,
                # Small: offloading it costs little, and on a GPU box it keeps the CPU free.
                n_gpu_layers=-1 if gpu and can_offload() else 0,
                n_threads=threads or default_threads(),
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"the embedding model {path} could not be loaded ({exc}); delete it and run "
                "`make run` to fetch it again"
            ) from None
        self.path = path
        self.dims = int(self._llama.n_embd())
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors, one row per text (an empty text gets the model's vector for [CLS]
        [SEP], as in the reference)."""
        if not texts:
            return np.zeros((0, self.dims), dtype=np.float32)
        with self._lock:
            rows = self._llama.embed(list(texts), normalize=True, truncate=True)
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dims)

    def close(self) -> None:
        with self._lock:
            self._llama.close()
