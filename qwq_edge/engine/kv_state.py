"""Saving and restoring a llama.cpp sequence's KV cache to a file (llama_state_seq_*).

A restore succeeds only into the same KV type and flash-attention setting and a context at
least as large as the saved tokens (docs/architecture.md, "KV snapshots"); every failure
leaves an empty cache, never a partial one, so the caller falls back to re-prefill.
"""

from __future__ import annotations

import ctypes
from pathlib import Path
from typing import Any


def save(llm: Any, path: Path) -> list[int]:
    """Write the KV cache of sequence 0 and the tokens it holds; returns those tokens."""
    import llama_cpp

    n = int(llm.n_tokens)
    tokens = [int(t) for t in llm.input_ids[:n]]
    arr = (llama_cpp.llama_token * max(n, 1))(*tokens)
    written = llama_cpp.llama_state_seq_save_file(llm._ctx.ctx, str(path).encode(), 0, arr, n)
    if not written:
        raise OSError(f"llama.cpp could not write a KV snapshot to {path}")
    return tokens


def load(llm: Any, path: Path, capacity: int) -> list[int] | None:
    """Load a snapshot into sequence 0; returns the tokens now cached, or None (cache empty)
    when llama.cpp refuses the file (another layout, a smaller context, a damaged file)."""
    import llama_cpp

    llm._ctx.kv_cache_clear()
    llm.n_tokens = 0
    out = (llama_cpp.llama_token * capacity)()
    count = ctypes.c_size_t(0)
    read = llama_cpp.llama_state_seq_load_file(
        llm._ctx.ctx, str(path).encode(), 0, out, capacity, ctypes.byref(count)
    )
    n = int(count.value)
    if not read or n <= 0 or n > capacity:
        llm._ctx.kv_cache_clear()
        return None
    tokens = list(out[:n])
    llm.input_ids[:n] = tokens
    llm.n_tokens = n
    return tokens


def clear(llm: Any) -> None:
    """Forget a restored state (it did not match what was expected)."""
    llm._ctx.kv_cache_clear()
    llm.n_tokens = 0
