"""A model file on disk: its naming rules, its hash, and the one checked ``ModelFile``.

Every place that needs a partial download's name, a checksum sidecar or a file's sha256
comes here, so each rule is written once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qwq_edge.models.gguf import GGUFInfo, check_architecture, read_gguf

if TYPE_CHECKING:
    from qwq_edge.models.catalog import Model, Quant


@dataclass(frozen=True)
class Progress:
    """How far a download or a hash has got."""

    done: int
    total: int | None
    rate: float  # bytes per second since this attempt started
    phase: str = "download"  # or "verify"

    @property
    def eta(self) -> float | None:
        if not self.total or self.rate <= 0:
            return None
        return (self.total - self.done) / self.rate


ProgressFn = Callable[[Progress], None]


def partial_path(final: Path) -> Path:
    """Where an unfinished download of ``final`` is kept (it resumes from there)."""
    return final.with_name(final.name + ".part")


def sidecar_path(final: Path) -> Path:
    """The ``sha256sum``-style file recording the checksum verified at pull time."""
    return final.with_name(final.name + ".sha256")


def write_sidecar(final: Path, digest: str) -> None:
    sidecar_path(final).write_text(f"{digest}  {final.name}\n")


def read_sidecar(final: Path) -> str | None:
    side = sidecar_path(final)
    if not side.is_file():
        return None
    words = side.read_text().split()
    return words[0] if words else None


def related_files(final: Path) -> tuple[Path, Path, Path]:
    """The model, its partial download and its checksum: what ``models rm`` deletes."""
    return final, partial_path(final), sidecar_path(final)


def sha256_file(path: Path, progress: ProgressFn | None = None, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    size = path.stat().st_size
    done, t0 = 0, time.monotonic()
    with path.open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
            done += len(block)
            if progress is not None:
                rate = done / max(time.monotonic() - t0, 1e-6)
                progress(Progress(done, size, rate, "verify"))
    return h.hexdigest()


@dataclass(frozen=True)
class ModelFile:
    """A GGUF on disk whose header was read and checked once (magic, version, truncation,
    architecture), with the catalog entry it belongs to, if any. The engine loads this; it
    never reads the header again."""

    path: Path
    header: GGUFInfo
    entry: tuple[Model, Quant] | None = None

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def architecture(self) -> str:
        return self.header.architecture

    @property
    def quant(self) -> str:
        return self.header.quant

    @property
    def file_size(self) -> int:
        return self.header.file_size

    @property
    def layers(self) -> int:
        return int(self.header.arch_value("block_count", 0) or 0)

    @property
    def ctx_train(self) -> int:
        return int(self.header.arch_value("context_length", 0) or 0)

    def sha256(self, progress: ProgressFn | None = None) -> str:
        return sha256_file(self.path, progress)


def open_model(path: str | Path, entry: tuple[Model, Quant] | None = None) -> ModelFile:
    """Read and check ``path``; raises ModelLoadError with one sentence on any problem."""
    header = read_gguf(path)
    check_architecture(header)
    return ModelFile(header.path, header, entry)


def fingerprint(path: Path, size: int) -> str:
    """A quick content identity for a model file: its size and its first and last MiB.
    Instant even for a 20 GB file (a full sha256 takes a minute); it keys KV snapshots."""
    h = hashlib.sha256(f"{size}".encode())
    try:
        with path.open("rb") as f:
            h.update(f.read(1 << 20))
            f.seek(max(0, size - (1 << 20)))
            h.update(f.read(1 << 20))
    except OSError:
        h.update(path.name.encode())  # not on disk (a test double): its name stands in
    return h.hexdigest()[:32]
