"""What this machine has: system RAM, a CUDA GPU's memory, Apple unified memory, bandwidth.

Detection shells out to ``nvidia-smi`` and ``sysctl`` (no extra packages) and never fails:
a missing tool means "no such device". Bandwidths come from a table of common GPUs and Apple
chips (published peak figures), or are measured for system RAM with a large copy.
"""

from __future__ import annotations

import importlib
import os
import platform
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.models.fit import GiB, Memory

# Peak memory bandwidth in GB/s, matched against the device name (longest match wins).
BANDWIDTH_GBS: dict[str, float] = {
    "RTX 5090": 1792, "RTX 5080": 960, "RTX 5070 Ti": 896, "RTX 5070": 672,
    "RTX 4090": 1008, "RTX 4080 SUPER": 736, "RTX 4080": 717, "RTX 4070 Ti SUPER": 672,
    "RTX 4070 Ti": 504, "RTX 4070 SUPER": 504, "RTX 4070": 504, "RTX 4060 Ti": 288,
    "RTX 4060": 272, "RTX 3090 Ti": 1008, "RTX 3090": 936, "RTX 3080 Ti": 912,
    "RTX 3080": 760, "RTX 3070": 448, "RTX 3060": 360, "RTX A6000": 768,
    "RTX 6000 Ada": 960, "A100-SXM4-80GB": 2039, "A100": 1555, "H100 PCIe": 2000,
    "H100": 3350, "H200": 4800, "L40S": 864, "L40": 864, "L4": 300, "A10": 600, "T4": 320,
    "V100": 900,
    "Apple M1 Ultra": 800, "Apple M1 Max": 400, "Apple M1 Pro": 200, "Apple M1": 68,
    "Apple M2 Ultra": 800, "Apple M2 Max": 400, "Apple M2 Pro": 200, "Apple M2": 100,
    "Apple M3 Ultra": 819, "Apple M3 Max": 400, "Apple M3 Pro": 150, "Apple M3": 100,
    "Apple M4 Max": 546, "Apple M4 Pro": 273, "Apple M4": 120,
}  # fmt: skip

# A desktop's dual-channel DDR5, for planning a machine we cannot measure.
ASSUMED_RAM_BANDWIDTH = 60e9

_SIZE = re.compile(r"^\s*([\d.]+)\s*([kmgt]?)(i?)b?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'24GiB', '24G', '24 GB', '24000MB' -> bytes (GB and GiB both read as binary GiB:
    people say '24 GB card' and mean the 24 GiB it has)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a memory size: {text!r} (try 24GiB)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def bandwidth_for(name: str) -> float | None:
    """Published peak bandwidth (bytes/s) for a GPU or Apple chip name, if known."""
    hits = [k for k in BANDWIDTH_GBS if k.lower() in name.lower()]
    return BANDWIDTH_GBS[max(hits, key=len)] * 1e9 if hits else None


def metal_working_set(ram: int) -> int:
    """Metal's default recommendedMaxWorkingSetSize: about 2/3 of RAM up to 36 GB, 3/4 above
    (``sudo sysctl iogpu.wired_limit_mb=N`` raises it; we read that when it is set)."""
    return int(ram * (0.75 if ram > 36 * GiB else 2 / 3))


def _run(*cmd: str) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def total_ram() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        out = _run("sysctl", "-n", "hw.memsize")
        return int(out) if out and out.strip().isdigit() else 8 * GiB


@dataclass(frozen=True)
class Gpu:
    name: str
    memory: int
    backend: str  # "cuda" or "metal"


def nvidia_gpus() -> list[Gpu]:
    out = _run("nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits")
    gpus = []
    for line in (out or "").splitlines():
        name, _, mib = line.rpartition(",")
        if name and mib.strip().isdigit():
            gpus.append(Gpu(name.strip(), int(mib.strip()) << 20, "cuda"))
    return gpus


def is_apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def apple_gpu(ram: int) -> Gpu | None:
    if not is_apple_silicon():
        return None
    chip = (_run("sysctl", "-n", "machdep.cpu.brand_string") or "Apple Silicon").strip()
    wired = (_run("sysctl", "-n", "iogpu.wired_limit_mb") or "0").strip()
    limit = int(wired) << 20 if wired.isdigit() and int(wired) > 0 else metal_working_set(ram)
    return Gpu(chip, limit, "metal")


def detect_gpu(ram: int | None = None) -> Gpu | None:
    """The GPU llama.cpp would use: the first CUDA device, or Apple's unified memory."""
    gpus = nvidia_gpus()
    if gpus:
        return gpus[0]
    return apple_gpu(ram or total_ram())


def measure_ram_bandwidth(threads: int = 0, size: int = 512 << 20, repeats: int = 5) -> float:
    """Bytes/s copying a large array with ``threads`` threads at once (read + write counted),
    best of ``repeats``. One thread alone cannot saturate memory, and llama.cpp uses several."""
    import numpy as np

    n = max(1, threads or default_threads())
    src = np.ones(size // 8, dtype=np.float64)
    dst = np.empty_like(src)
    bounds = np.linspace(0, src.size, n + 1).astype(int)
    best = float("inf")
    for _ in range(repeats):
        barrier = threading.Barrier(n + 1)

        def copy(i: int, b: threading.Barrier = barrier) -> None:
            b.wait()
            np.copyto(dst[bounds[i] : bounds[i + 1]], src[bounds[i] : bounds[i + 1]])

        workers = [threading.Thread(target=copy, args=(i,)) for i in range(n)]
        for w in workers:
            w.start()
        barrier.wait()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - t0)
    return 2 * size / best


def cpu_count() -> int:
    """Logical CPUs: the most threads llama.cpp is given (far more aborts it in the C++)."""
    return os.cpu_count() or 1


def default_threads() -> int:
    """Physical cores, roughly: llama.cpp decodes fastest there (past 8 CPUs assume SMT)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        n = os.cpu_count() or 1
    return n if n <= 8 else n // 2


def cpu_name() -> str:
    if platform.system() == "Darwin":
        return (_run("sysctl", "-n", "machdep.cpu.brand_string") or "CPU").strip()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def this_machine(offload: bool, *, measure: bool = False) -> Memory:
    """The Memory to plan with here. Without offload the GPU is ignored: it cannot be used."""
    ram = total_ram()
    cpu_bw = measure_ram_bandwidth() if measure else None
    gpu = detect_gpu(ram) if offload else None
    if gpu is None:
        return Memory(
            ram_bytes=ram, cpu_bandwidth=cpu_bw, label=f"{cpu_name()}, {ram / GiB:.0f} GiB"
        )
    bw = bandwidth_for(gpu.name)
    unified = gpu.backend == "metal"
    return Memory(
        ram_bytes=ram,
        gpu_bytes=gpu.memory,
        backend=gpu.backend,
        unified=unified,
        gpu_bandwidth=bw,
        cpu_bandwidth=bw if unified else cpu_bw,
        label=f"{gpu.name}, {gpu.memory / GiB:.0f} GiB"
        + (" working set" if unified else "")
        + f" + {ram / GiB:.0f} GiB RAM",
    )


def hypothetical(memory: int, device: str, ram: int | None = None, gpu: str = "") -> Memory:
    """A machine described on the command line (``doctor --memory 24GiB --device cuda``)."""
    if device == "metal":
        bw = bandwidth_for(gpu) if gpu else None
        return Memory(
            ram_bytes=memory,
            gpu_bytes=metal_working_set(memory),
            backend="metal",
            unified=True,
            gpu_bandwidth=bw,
            cpu_bandwidth=bw,
            label=f"{gpu or 'Apple Silicon'}, {memory / GiB:.0f} GiB unified",
        )
    if device == "cpu":
        return Memory(ram_bytes=memory, label=f"CPU only, {memory / GiB:.0f} GiB RAM")
    host = ram or max(memory * 2, 32 * GiB)
    return Memory(
        ram_bytes=host,
        gpu_bytes=memory,
        backend="cuda",
        gpu_bandwidth=bandwidth_for(gpu) if gpu else None,
        cpu_bandwidth=ASSUMED_RAM_BANDWIDTH,
        label=f"{gpu or 'CUDA GPU'}, {memory / GiB:.0f} GiB + {host / GiB:.0f} GiB RAM "
        f"(assumed {ASSUMED_RAM_BANDWIDTH / 1e9:.0f} GB/s)",
    )


def can_offload() -> bool:
    """Whether this llama.cpp build can offload to a GPU (False when it is not installed).
    The one place that asks llama.cpp; the planner and the engine both follow its answer."""
    try:
        import llama_cpp
    except ImportError:
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


def rss() -> int | None:
    """This process's resident memory in bytes: /proc on Linux, psutil elsewhere when it is
    installed, else None (the caller says it was not measured)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        psutil: Any = importlib.import_module("psutil")
    except ImportError:
        return None
    return int(psutil.Process().memory_info().rss)
