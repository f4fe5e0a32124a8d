"""KV snapshots on disk: a session's KV cache, saved after every turn, so continuing it in
a new process costs milliseconds instead of a full prefill.

A snapshot is ``<session>.kv`` (llama.cpp's own file) plus ``<session>.json``: the model
(its fingerprint, and the file's inode and modification time, so a file rewritten in place
at the same size is another model), KV type, flash attention and llama.cpp build it needs
(any other is a miss, not an error), its size and CRC-32, and ``<session>.tok``, the tokens
it holds. Files are written to a temporary name (``.<name>.<pid>.tmp``) and renamed, so a
crash never leaves half a snapshot; a write that fails removes its temporary file, and the
ones a dead process left are swept when snapshots are opened. The oldest snapshots are
deleted past ``max_bytes``, never the one just written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
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
STALE = 24 * 3600.0  # seconds: a temporary file this old is left over, whoever wrote it
_TMP = re.compile(r"^\..+\.(\d+)\.tmp$")


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


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = _tmp(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not keep the part that was written
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's: alive
    return True


def _file_identity(path: Path) -> str | None:
    """The model file's inode and modification time: a file rewritten (same size, same
    first and last MiB) or replaced under its name is another model."""
    try:
        st = path.stat()
    except OSError:
        return None  # not on disk (a test double): the fingerprint stands alone
    return f"{st.st_ino}:{st.st_mtime_ns}"


class Snapshots:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.sweep()

    def sweep(self) -> list[str]:
        """Delete the temporary files that writers which died (or a failed write long ago)
        left; never one a live process may be writing."""
        removed: list[str] = []
        now = time.time()
        with contextlib.suppress(OSError):
            for path in self.root.iterdir():
                m = _TMP.match(path.name)
                if m is None:
                    continue
                with contextlib.suppress(OSError):
                    old = now - path.stat().st_mtime > STALE
                    pid = int(m.group(1))
                    if old or (pid != os.getpid() and not _alive(pid)):
                        path.unlink()
                        removed.append(path.name)
        return removed

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
            "model_file": _file_identity(Path(info.path)),
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
        tmp = _tmp(kv)
        try:
            tokens = engine.save_state(tmp)
            size = tmp.stat().st_size
            crc = _crc(tmp)
            os.replace(tmp, kv)
        except BaseException:
            tmp.unlink(missing_ok=True)  # a full disk must not keep the part that was written
            raise
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
