"""A small GGUF header reader: checks a file before llama.cpp sees it, and reads its facts.

llama.cpp answers a bad file with a generic failure (or worse, reads past a truncated one),
so we check the magic, the version, the architecture and that every tensor's bytes are
present, and turn each problem into one sentence. The fit planner reads the same header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from qwq_edge.errors import ModelLoadError

MAGIC = b"GGUF"
# Chat models qwq-edge has been run with: the Qwen family (the target), and llama for the
# ChatML SmolLM2 test model. Embedding/encoder architectures can never answer.
SUPPORTED_ARCHITECTURES = frozenset({"qwen2", "qwen3", "qwen2moe", "qwen3moe", "llama"})

# ggml type id -> (elements per block, bytes per block)
_TYPE_SIZE: dict[int, tuple[int, int]] = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
    9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
    14: (256, 210), 15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98),
    19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1),
    25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17),
}  # fmt: skip
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q"}
_SCALAR |= {11: "<q", 12: "<d"}
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 23: "IQ3_XXS", 24: "IQ1_S",
    25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS",
    31: "IQ1_M", 32: "BF16",
}  # fmt: skip


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: int
    n_elements: int
    offset: int

    @property
    def nbytes(self) -> int | None:
        size = _TYPE_SIZE.get(self.ggml_type)
        if size is None:
            return None
        block, nbytes = size
        return self.n_elements // block * nbytes


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    file_size: int
    metadata: dict[str, Any]
    tensors: tuple[TensorInfo, ...] = field(repr=False)
    data_offset: int = 0

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    def arch_value(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}", default)

    @property
    def quant(self) -> str:
        ft = self.metadata.get("general.file_type")
        return _FILE_TYPES.get(int(ft), f"type {ft}") if ft is not None else "unknown"

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes or 0 for t in self.tensors)


class _Reader:
    def __init__(self, f: BinaryIO, path: Path) -> None:
        self.f = f
        self.path = path

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise ModelLoadError(
                f"{self.path.name} is truncated (its header ends early); download it again"
            )
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def _skip_strings(self, count: int) -> None:
        length = struct.Struct("<Q")
        for _ in range(count):
            (n,) = length.unpack(self.read(8))
            if n > 1 << 30:
                raise ModelLoadError(f"{self.path.name} is corrupt (a header string of {n} bytes)")
            self.f.seek(n, 1)

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > 1 << 30:
            raise ModelLoadError(f"{self.path.name} is corrupt (a header string of {n} bytes)")
        return self.read(n).decode("utf-8", errors="replace")

    def value(self, vtype: int, keep: bool = True) -> Any:
        if vtype in _SCALAR:
            return self.unpack(_SCALAR[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            item_type = self.unpack("<I")
            count = self.unpack("<Q")
            if item_type in _SCALAR and not keep:
                self.f.seek(count * struct.calcsize(_SCALAR[item_type]), 1)
                return count
            if item_type == 8 and not keep:
                self._skip_strings(count)  # a 152k-token vocabulary: skip, don't decode
                return count
            items = [self.value(item_type, keep) for _ in range(count)]
            return items if keep else count
        raise ModelLoadError(f"{self.path.name} is corrupt (unknown metadata type {vtype})")


def read_gguf(path: str | Path, *, check_data: bool = True) -> GGUFInfo:
    """Read and check a GGUF header; raise ModelLoadError with one actionable sentence.

    ``check_data=False`` reads a header alone (a planner's model of a file not on disk)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelLoadError(f"model file not found: {p}; pass --model PATH.gguf or run `make run`")
    if not p.is_file():
        raise ModelLoadError(f"{p} is not a file; pass the path of a .gguf model file")
    file_size = p.stat().st_size
    try:
        with p.open("rb") as f:
            r = _Reader(f, p)
            if f.read(4) != MAGIC:
                raise ModelLoadError(
                    f"{p.name} is not a GGUF model file; qwq-edge needs a .gguf "
                    "(e.g. QwQ-32B Q4_K_M)"
                )
            version = r.unpack("<I")
            if version not in (2, 3):
                raise ModelLoadError(f"{p.name} is GGUF version {version}; only 2 and 3 load")
            n_tensors = r.unpack("<Q")
            n_kv = r.unpack("<Q")
            if n_tensors > 1 << 20 or n_kv > 1 << 20:
                raise ModelLoadError(f"{p.name} is corrupt (impossible header counts)")
            meta: dict[str, Any] = {}
            for _ in range(n_kv):
                key = r.string()
                vtype = r.unpack("<I")
                # Token lists are large and only their length matters here.
                meta[key] = r.value(vtype, keep=not key.startswith("tokenizer.ggml."))
            tensors = []
            for _ in range(n_tensors):
                name = r.string()
                n_dims = r.unpack("<I")
                if n_dims > 8:
                    raise ModelLoadError(f"{p.name} is corrupt (tensor {name} has {n_dims} dims)")
                n = 1
                for _ in range(n_dims):
                    n *= r.unpack("<Q")
                tensors.append(TensorInfo(name, r.unpack("<I"), n, r.unpack("<Q")))
            align = int(meta.get("general.alignment", 32)) or 32
            here = f.tell()
            data_offset = (here + align - 1) // align * align
    except OSError as exc:
        raise ModelLoadError(f"cannot read {p}: {exc.strerror or exc}") from None
    info = GGUFInfo(p, version, file_size, meta, tuple(tensors), data_offset)
    if check_data:
        _check_complete(info)
    return info


def _check_complete(info: GGUFInfo) -> None:
    end = 0
    for t in info.tensors:
        nbytes = t.nbytes
        if nbytes is not None:
            end = max(end, info.data_offset + t.offset + nbytes)
    if end > info.file_size:
        missing = end - info.file_size
        raise ModelLoadError(
            f"{info.path.name} is truncated ({missing / 1e6:.1f} MB of tensor data missing); "
            "download it again"
        )


def check_architecture(info: GGUFInfo) -> None:
    if info.architecture not in SUPPORTED_ARCHITECTURES:
        raise ModelLoadError(
            f"{info.path.name} is a '{info.architecture}' model; qwq-edge runs Qwen-family chat "
            "models (qwen2/qwen3, e.g. QwQ-32B): pass one with --model"
        )
