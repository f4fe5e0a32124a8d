"""KV snapshots on disk: a session's KV cache, saved after every turn, so continuing it in
a new process costs milliseconds instead of a full prefill.

A snapshot is ``<session>.kv`` (llama.cpp's own file) plus ``<session>.json``: the model
fingerprint, KV type, flash attention and llama.cpp build it needs (any other is a miss,
not an error), its size and CRC-32, and ``<session>.tok``, the tokens it holds. Files are
written to a temporary name and renamed, so a crash never leaves half a snapshot. The
oldest snapshots are deleted past ``max_bytes``, never the one just written.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.engine.base import Engine
from qwq_edge.models.files import fingerprint
from qwq_edge.store.tokens import pack_tokens, unpack_tokens

GiB = 1 << 30


@dataclass(frozen=True)
class Restored:
    """What a restore gave: ``tokens`` of the context now in the KV cache (0: re-prefill),
    how long it took, and one line for the user when it fell back."""

    tokens: int
    seconds: float
    note: str | None = None


def _crc(path: Path) -> int:
    crc = 0
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            crc = zlib.crc32(block, crc)
    return crc


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class Snapshots:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _files(self, session_id: str) -> tuple[Path, Path, Path]:
        return (
            self.root / f"{session_id}.kv",
            self.root / f"{session_id}.json",
            self.root / f"{session_id}.tok",
        )

    @staticmethod
    def identity(engine: Engine) -> dict[str, Any]:
        """What a snapshot must match to load: the model, the KV layout, the build."""
        info = engine.info
        return {
            "model": fingerprint(Path(info.path), info.file_size),
            "kv_type": info.kv_type,
            "flash_attn": info.flash_attn,
            "build": info.build,
        }

    def save(self, engine: Engine, session_id: str) -> tuple[int, float]:
        """Snapshot ``engine``'s KV cache for ``session_id`` (replacing its previous one);
        returns (bytes written, seconds)."""
        t0 = time.perf_counter()
        self.root.mkdir(parents=True, exist_ok=True)
        kv, meta, tok = self._files(session_id)
        tmp = kv.with_name(f".{kv.name}.{os.getpid()}.tmp")
        tokens = engine.save_state(tmp)
        size = tmp.stat().st_size
        crc = _crc(tmp)
        os.replace(tmp, kv)
        _write_atomic(tok, pack_tokens(tokens))
        record = {
            **self.identity(engine), "session": session_id, "tokens": len(tokens),
            "size": size, "crc32": crc, "saved": time.time(), "used": time.time(),
        }  # fmt: skip
        _write_atomic(meta, json.dumps(record).encode())
        self.evict(keep=session_id)
        return size, time.perf_counter() - t0

    def restore(self, engine: Engine, context: Sequence[int], sessions: Iterable[str]) -> Restored:
        """Load the snapshot (of one of ``sessions``: the session, then its parent) sharing
        the longest prefix with ``context``. Any problem falls back to re-prefill."""
        t0 = time.perf_counter()
        want = self.identity(engine)
        best: tuple[int, str] | None = None
        problem: str | None = None
        for sid in sessions:
            kv, meta, tok = self._files(sid)
            try:
                record = json.loads(meta.read_text())
                held = unpack_tokens(tok.read_bytes())
            except (OSError, ValueError):
                continue
            if any(record.get(k) != v for k, v in want.items()):
                problem = "it was made with another model, KV type, flash attention or build"
                continue
            if len(held) > engine.info.n_ctx:
                problem = f"it holds {len(held):,} tokens and the context is {engine.info.n_ctx:,}"
                continue
            shared = _common(held, context)
            if shared and (best is None or shared > best[0]):
                best = (shared, sid)
        if best is None:
            why = f" ({problem})" if problem else ""
            return Restored(0, time.perf_counter() - t0, f"no usable KV snapshot{why}")
        shared, sid = best
        kv, meta, tok = self._files(sid)
        record = json.loads(meta.read_text())
        expected = unpack_tokens(tok.read_bytes())
        try:
            intact = kv.stat().st_size == record["size"] and _crc(kv) == record["crc32"]
        except OSError:
            intact = False
        loaded = engine.load_state(kv) if intact else None
        if loaded != expected:  # refused, damaged, or not what the snapshot said it held
            engine.drop_state()
            why = "it is damaged or truncated" if intact is False else "llama.cpp refused it"
            return Restored(0, time.perf_counter() - t0, f"the KV snapshot was not used ({why})")
        record["used"] = time.time()
        _write_atomic(meta, json.dumps(record).encode())
        return Restored(shared, time.perf_counter() - t0)

    def evict(self, keep: str | None = None) -> list[str]:
        """Delete the least recently used snapshots past ``max_bytes``; never ``keep``."""
        entries = []
        for meta in self.root.glob("*.json"):
            try:
                record = json.loads(meta.read_text())
            except (OSError, ValueError):
                continue
            entries.append((float(record.get("used", 0)), meta.stem, int(record.get("size", 0))))
        total = sum(size for _, _, size in entries)
        removed = []
        for _, sid, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if sid == keep:
                continue
            for path in self._files(sid):
                path.unlink(missing_ok=True)
            total -= size
            removed.append(sid)
        return removed


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n
