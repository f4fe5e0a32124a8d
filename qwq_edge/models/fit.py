"""The fit planner: what a model needs, what fits on this machine, and how fast it can run.

Pure arithmetic on a GGUF header (or a catalog entry's published shape) and a memory
description; no llama.cpp. KV bytes per token = layers x KV heads x (key + value dims) x the
KV type's bytes per element; QwQ-32B: 64 x 8 x 256 x 2 B = 256 KiB at f16
(docs/architecture.md, "Models and hardware").

The recommendation keeps the highest-precision KV cache that still gives the model its
minimum useful context, quantizes the cache before it gives up GPU layers, and only then
offloads partially. q4_0 KV is a last resort: it degrades tool calling.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from qwq_edge.errors import ModelLoadError
from qwq_edge.models.gguf import GGUFInfo

GiB = 1 << 30
KV_TYPES = ("f16", "q8_0", "q4_0")
# Bytes per KV element: f16, and ggml's q8_0 / q4_0 blocks of 32 (34 and 18 bytes).
KV_ELEMENT_BYTES = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
# GPU memory that is never ours: the CUDA/Metal runtime and llama.cpp's compute buffers
# (logits for a 152k vocabulary alone are 0.3 GB per 512-token batch), plus a share of the
# card that a desktop, other apps and fragmentation take.
GPU_RESERVE = 1 * GiB
GPU_RESERVE_SHARE = 0.05
# System RAM kept for the OS, the app and the page cache of whatever else runs.
RAM_RESERVE = 2 * GiB
RAM_RESERVE_SHARE = 0.10
CTX_STEP = 1024
MIN_CTX_FLOOR = 2048  # below this not even a short question with one search fits

_LAYER = re.compile(r"^blk\.(\d+)\.")


class FitError(ModelLoadError):
    """An explicit setting that will not fit; the message carries the numbers."""


@dataclass(frozen=True)
class ModelShape:
    """What the planner needs to know about a model."""

    name: str
    layers: int
    kv_heads: int
    k_dim: int
    v_dim: int
    layer_bytes: tuple[int, ...]  # weights of each repeating layer
    output_bytes: int  # output norm + head: on the GPU only when every layer is
    other_bytes: int  # token embeddings and the rest: stay in system memory
    file_size: int
    ctx_train: int
    estimated: bool = False  # True when built from a catalog entry, not a real header

    @property
    def weight_bytes(self) -> int:
        return sum(self.layer_bytes) + self.output_bytes + self.other_bytes

    def kv_per_token(self, kv_type: str) -> int:
        elements = self.layers * self.kv_heads * (self.k_dim + self.v_dim)
        return math.ceil(elements * KV_ELEMENT_BYTES[kv_type])

    def kv_bytes(self, n_ctx: int, kv_type: str) -> int:
        return self.kv_per_token(kv_type) * n_ctx

    @classmethod
    def from_gguf(cls, info: GGUFInfo) -> ModelShape:
        layers = int(info.arch_value("block_count", 0) or 0)
        heads = int(info.arch_value("attention.head_count", 1) or 1)
        kv_heads = int(info.arch_value("attention.head_count_kv", heads) or heads)
        emb = int(info.arch_value("embedding_length", 0) or 0)
        k_dim = int(info.arch_value("attention.key_length", emb // heads) or emb // heads)
        v_dim = int(info.arch_value("attention.value_length", emb // heads) or emb // heads)
        if layers <= 0 or kv_heads <= 0 or k_dim + v_dim <= 0:
            raise ModelLoadError(
                f"{info.path.name} has no usable attention shape in its header (block_count, "
                "head_count_kv, embedding_length); the file may be corrupt"
            )
        per_layer = [0] * layers
        output = other = 0
        head = any(t.name == "output.weight" for t in info.tensors)
        embeddings = 0
        for t in info.tensors:
            n = t.nbytes or 0
            m = _LAYER.match(t.name)
            if m and int(m.group(1)) < layers:
                per_layer[int(m.group(1))] += n
            elif t.name.startswith("output"):
                output += n
            else:
                other += n
                if t.name == "token_embd.weight":
                    embeddings = n
        if not head:  # tied embeddings: llama.cpp puts a copy of them on the GPU as the head
            output += embeddings
        return cls(
            name=info.name,
            layers=layers,
            kv_heads=kv_heads,
            k_dim=k_dim,
            v_dim=v_dim,
            layer_bytes=tuple(per_layer),
            output_bytes=output,
            other_bytes=other,
            file_size=info.file_size,
            ctx_train=int(info.arch_value("context_length", 0) or 0),
        )

    @classmethod
    def estimate(
        cls,
        name: str,
        *,
        file_size: int,
        layers: int,
        kv_heads: int,
        head_dim: int,
        embedding: int,
        vocab: int,
        ctx_train: int,
    ) -> ModelShape:
        """A shape from published numbers, for a model that is not on disk yet."""
        # Embedding table and output head at ~5 bits per weight (Q4_K/Q6_K in a Q4_K_M file).
        head = int(vocab * embedding * 0.65)
        per_layer = max(0, (file_size - 2 * head) // max(layers, 1))
        return cls(
            name=name,
            layers=layers,
            kv_heads=kv_heads,
            k_dim=head_dim,
            v_dim=head_dim,
            layer_bytes=(per_layer,) * layers,
            output_bytes=head,
            other_bytes=head,
            file_size=file_size,
            ctx_train=ctx_train,
            estimated=True,
        )


@dataclass(frozen=True)
class Memory:
    """The machine to plan for. ``gpu_bytes`` is what the GPU can hold for us (total VRAM, or
    Apple's Metal working-set limit); 0 means CPU only. Bandwidths are bytes per second."""

    ram_bytes: int
    gpu_bytes: int = 0
    backend: str = "cpu"  # "cuda", "metal" or "cpu"
    unified: bool = False  # Apple: GPU and CPU share the same RAM
    gpu_bandwidth: float | None = None
    cpu_bandwidth: float | None = None
    label: str = ""

    @property
    def gpu_budget(self) -> int:
        if self.gpu_bytes <= 0:
            return 0
        return max(0, int(self.gpu_bytes * (1 - GPU_RESERVE_SHARE)) - GPU_RESERVE)

    @property
    def ram_budget(self) -> int:
        reserve = max(RAM_RESERVE, int(self.ram_bytes * RAM_RESERVE_SHARE))
        return max(0, self.ram_bytes - reserve)


@dataclass(frozen=True)
class Request:
    """What the settings ask for: None means auto."""

    n_ctx: int | None = None
    kv_type: str | None = None
    n_gpu_layers: int | None = None  # -1: all
    target_ctx: int = 16384  # the context the model is run with when it fits
    min_ctx: int = 8192  # below this, quantize the KV cache rather than lose context


@dataclass(frozen=True)
class Plan:
    n_gpu_layers: int  # layers on the GPU (the model's block count when all are)
    n_ctx: int
    kv_type: str
    flash_attn: bool
    all_on_gpu: bool
    layers: int
    kv_per_token: dict[str, int]
    max_ctx: dict[str, int]  # largest context per KV type with this many GPU layers
    gpu_bytes: int  # weights + KV placed on the GPU
    ram_bytes: int  # weights + KV left in system memory
    tok_s_ceiling: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def llama_gpu_layers(self) -> int:
        """The value for llama.cpp: -1 also offloads the output head."""
        return -1 if self.all_on_gpu else self.n_gpu_layers

    def summary(self) -> str:
        where = (
            f"all {self.layers} layers on GPU"
            if self.all_on_gpu
            else f"{self.n_gpu_layers}/{self.layers} layers on GPU"
            if self.n_gpu_layers
            else "CPU"
        )
        speed = f" · ≤ {self.tok_s_ceiling:.0f} tok/s" if self.tok_s_ceiling else ""
        return f"{where} · {self.n_ctx:,} ctx · {self.kv_type} KV{speed}"


def _floor(n: float, step: int = CTX_STEP) -> int:
    return max(0, int(n) // step * step)


def _gib(n: float) -> str:
    return f"{n / GiB:.1f} GiB"


def _placement(shape: ModelShape, ngl: int) -> tuple[int, int]:
    """(weights on GPU, weights in RAM) with ``ngl`` repeating layers offloaded."""
    ngl = max(0, min(ngl, shape.layers))
    on_gpu = sum(shape.layer_bytes[shape.layers - ngl :]) if ngl else 0
    if ngl == shape.layers and ngl > 0:
        on_gpu += shape.output_bytes
    return on_gpu, shape.weight_bytes - on_gpu


def _max_ctx(shape: ModelShape, mem: Memory, ngl: int, kv_type: str) -> int:
    """Largest context with ``ngl`` layers on the GPU (KV lives with its layer)."""
    w_gpu, w_ram = _placement(shape, ngl)
    per_tok = shape.kv_per_token(kv_type)
    layers = max(shape.layers, 1)
    gpu_share = per_tok * ngl / layers
    ram_share = per_tok - gpu_share
    limits = []
    if mem.unified:
        # One pool: everything counts against RAM, the GPU part also against the working set.
        limits.append((mem.ram_budget - shape.weight_bytes) / per_tok)
        if ngl:
            limits.append((mem.gpu_budget - w_gpu) / gpu_share)
    else:
        if ngl:
            limits.append((mem.gpu_budget - w_gpu) / gpu_share)
        if ram_share > 0:
            limits.append((mem.ram_budget - w_ram) / ram_share)
        elif mem.ram_budget < w_ram:
            limits.append(-1)
    best = min(limits) if limits else 0
    cap = shape.ctx_train or 1 << 20
    return min(_floor(best, 256), cap) if best > 0 else 0


def ceiling(shape: ModelShape, mem: Memory, ngl: int) -> float | None:
    """Decode tok/s upper bound: each token reads every weight once (embeddings excepted)."""
    w_gpu, w_ram = _placement(shape, ngl)
    w_ram -= shape.other_bytes  # one embedding row per token, not the table
    if mem.unified:
        bw = mem.gpu_bandwidth if ngl else mem.cpu_bandwidth or mem.gpu_bandwidth
        return (bw / (w_gpu + w_ram)) if bw else None
    seconds = 0.0
    if w_gpu:
        if not mem.gpu_bandwidth:
            return None
        seconds += w_gpu / mem.gpu_bandwidth
    if w_ram > 0:
        if not mem.cpu_bandwidth:
            return None
        seconds += w_ram / mem.cpu_bandwidth
    return 1 / seconds if seconds else None


def _gpu_layers_for(shape: ModelShape, mem: Memory, n_ctx: int, kv_type: str) -> int:
    """Most repeating layers that fit on the GPU with ``n_ctx`` of KV for each."""
    if mem.gpu_budget <= 0:
        return 0
    for ngl in range(shape.layers, 0, -1):
        if _max_ctx(shape, mem, ngl, kv_type) >= n_ctx:
            return ngl
    return 0


def _choose(shape: ModelShape, mem: Memory, req: Request, need: int) -> tuple[int, str] | None:
    """(GPU layers, KV type) in order of preference, or None when nothing reaches ``need``."""
    kvs = [req.kv_type] if req.kv_type else list(KV_TYPES)

    def first(ngl: int, options: list[str]) -> tuple[int, str] | None:
        for k in options:
            if _max_ctx(shape, mem, ngl, k) >= need:
                return ngl, k
        return None

    if req.n_gpu_layers is not None:
        ngl = shape.layers if req.n_gpu_layers < 0 else min(req.n_gpu_layers, shape.layers)
        return first(ngl if mem.gpu_budget > 0 else 0, kvs)
    if mem.gpu_budget <= 0:
        return first(0, kvs)
    good = [k for k in kvs if k != "q4_0"]
    last = [k for k in kvs if k == "q4_0"]

    def partial(options: list[str]) -> tuple[int, str] | None:
        best: tuple[float, int, str] | None = None
        for k in options:
            n = _gpu_layers_for(shape, mem, need, k)
            if n and _max_ctx(shape, mem, n, k) >= need:
                speed = ceiling(shape, mem, n) or float(n)
                if best is None or speed > best[0] * 1.02:
                    best = (speed, n, k)
        return (best[1], best[2]) if best else None

    # Part of the model on the GPU with a good KV cache beats q4_0 KV, which hurts tool calls.
    return (
        first(shape.layers, good)
        or partial(good)
        or first(shape.layers, last)
        or partial(last)
        or first(0, kvs)
    )


def plan(shape: ModelShape, mem: Memory, req: Request | None = None) -> Plan:
    """Recommend (GPU layers, n_ctx, KV type); refuse explicit settings that cannot fit."""
    req = req or Request()
    cap = min(req.target_ctx, shape.ctx_train or req.target_ctx)
    need = req.n_ctx or min(req.min_ctx, cap)
    notes: list[str] = []
    chosen = _choose(shape, mem, req, need)
    if chosen is None and req.n_ctx is None and need > MIN_CTX_FLOOR:
        chosen = _choose(shape, mem, req, MIN_CTX_FLOOR)
    if chosen is None:
        ngl = 0 if mem.gpu_budget <= 0 else shape.layers
        if req.n_gpu_layers is not None and mem.gpu_budget > 0:
            ngl = shape.layers if req.n_gpu_layers < 0 else min(req.n_gpu_layers, shape.layers)
        kv = req.kv_type or "f16"
        max_ctx = {k: _max_ctx(shape, mem, ngl, k) for k in KV_TYPES}
        raise FitError(_refusal(shape, mem, ngl, kv, need, max_ctx))
    ngl, kv = chosen
    max_ctx = {k: _max_ctx(shape, mem, ngl, k) for k in KV_TYPES}
    n_ctx = req.n_ctx or min(_floor(max_ctx[kv]) or max_ctx[kv], cap)
    if n_ctx < min(req.min_ctx, cap):
        notes.append(f"only {n_ctx:,} tokens of context fit; long reasoning may run out")
    if kv == "q4_0" and req.kv_type is None:
        notes.append("q4_0 KV is the only way to fit this context; it degrades tool calling")
    elif kv == "q8_0" and req.kv_type is None:
        notes.append(
            f"q8_0 KV (near-lossless, half the memory): f16 would fit {max_ctx['f16']:,} tokens"
        )
    if mem.gpu_budget > 0 and ngl < shape.layers:
        notes.append(f"partial offload: {ngl} of {shape.layers} layers fit on the GPU")
    w_gpu, w_ram = _placement(shape, ngl)
    kv_total = shape.kv_bytes(n_ctx, kv)
    kv_gpu = kv_total * ngl // max(shape.layers, 1)
    return Plan(
        n_gpu_layers=ngl,
        n_ctx=n_ctx,
        kv_type=kv,
        flash_attn=True,
        all_on_gpu=bool(ngl) and ngl == shape.layers,
        layers=shape.layers,
        kv_per_token={k: shape.kv_per_token(k) for k in KV_TYPES},
        max_ctx=max_ctx,
        gpu_bytes=w_gpu + kv_gpu,
        ram_bytes=w_ram + kv_total - kv_gpu,
        tok_s_ceiling=ceiling(shape, mem, ngl),
        notes=tuple(notes),
    )


def _refusal(
    shape: ModelShape, mem: Memory, ngl: int, kv: str, n_ctx: int, max_ctx: dict[str, int]
) -> str:
    w_gpu = _placement(shape, ngl)[0]
    kv_need = shape.kv_bytes(n_ctx, kv)
    if ngl and not mem.unified:
        where = f"the GPU has {_gib(mem.gpu_budget)} usable of {_gib(mem.gpu_bytes)}"
        need = f"{_gib(w_gpu)} of weights + {_gib(kv_need * ngl // shape.layers)} of {kv} KV"
    else:
        where = f"this machine has {_gib(mem.ram_budget)} usable of {_gib(mem.ram_bytes)}"
        need = f"{_gib(shape.weight_bytes)} of weights + {_gib(kv_need)} of {kv} KV"
    fits = ", ".join(f"{k} ≤ {v:,}" for k, v in max_ctx.items() if v >= MIN_CTX_FLOOR)
    hint = f"lower n_ctx ({fits})" if fits else "use a smaller quant or fewer GPU layers"
    return f"{shape.name} with a {n_ctx:,}-token context needs {need}; {where}: {hint}"
