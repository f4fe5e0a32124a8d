"""llama-bench (the C++ upper bound) and llama-server (the remote engine's tests and bench):
built once from the llama.cpp sources vendored in the llama-cpp-python sdist of the
installed version, cached outside the checkout.

The sdist comes from the package registry (``pip download --no-binary``), never a model hub.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qwq-edge-bench"


def llama_version() -> str:
    import llama_cpp

    return str(llama_cpp.__version__)


# scripts/setup.sh's rule, for the same reason: llama.cpp's AMX kernels died with SIGILL on an
# AMX machine, so there the build targets the CPU's other features without AMX.
_AMX_SAFE = {
    "avx": "AVX", "avx2": "AVX2", "avx_vnni": "AVX_VNNI", "fma": "FMA", "f16c": "F16C",
    "bmi2": "BMI2", "avx512f": "AVX512", "avx512vbmi": "AVX512_VBMI",
    "avx512_vnni": "AVX512_VNNI", "avx512_bf16": "AVX512_BF16",
}  # fmt: skip


def cmake_args() -> str:
    """The backend flags: CMAKE_ARGS when set, else AMX-safe flags on an AMX CPU."""
    explicit = os.environ.get("CMAKE_ARGS", "").strip()
    if explicit or sys.platform != "linux":
        return explicit
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return ""
    if "amx_tile" not in flags:
        return ""
    args = [
        "-DGGML_NATIVE=OFF",
        "-DGGML_AMX_TILE=OFF",
        "-DGGML_AMX_INT8=OFF",
        "-DGGML_AMX_BF16=OFF",
    ]
    args += [f"-DGGML_{name}=ON" for flag, name in _AMX_SAFE.items() if flag in flags]
    return " ".join(args)


def binary(version: str | None = None, target: str = "llama-bench") -> Path:
    """Cached per version and per backend flags (a CPU build must not stand in for CUDA)."""
    flags = cmake_args()
    tag = hashlib.sha256(flags.encode()).hexdigest()[:8] if flags else "cpu"
    return cache_dir() / f"{target}-{version or llama_version()}-{tag}" / target


def build(log: Path, jobs: int | None = None, target: str = "llama-bench") -> Path:
    """Build ``target`` for the installed llama-cpp-python version (minutes, once)."""
    version = llama_version()
    exe = binary(version, target)
    if exe.is_file():
        return exe
    if shutil.which("cmake") is None:
        raise RuntimeError(f"cmake is needed to build {target} (apt install cmake)")
    work = cache_dir() / f"src-{version}"
    work.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        sdists = list(work.glob("llama_cpp_python-*.tar.gz"))
        if not sdists:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 f"llama-cpp-python=={version}", "-d", str(work)],
                check=True, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            sdists = list(work.glob("llama_cpp_python-*.tar.gz"))
        root = work / sdists[0].name.removesuffix(".tar.gz")
        if not root.is_dir():
            with tarfile.open(sdists[0]) as tar:
                tar.extractall(work, filter="data")
        src = root / "vendor" / "llama.cpp"
        # One build tree per backend flags, shared by both targets.
        build_dir = work / f"build-{exe.parent.name.removeprefix(target + '-')}"
        # The same backend flags as the Python build (CMAKE_ARGS, e.g. -DGGML_CUDA=on). The
        # server is built without its web UI (no download) and without TLS.
        extra = cmake_args().split()
        subprocess.run(
            ["cmake", "-S", str(src), "-B", str(build_dir), *extra, "-DCMAKE_BUILD_TYPE=Release",
             "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
             "-DLLAMA_BUILD_SERVER=ON", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF",
             "-DLLAMA_OPENSSL=OFF", "-DBUILD_SHARED_LIBS=OFF"],
            check=True, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        subprocess.run(
            ["cmake", "--build", str(build_dir), "--target", target,
             "-j", str(jobs or os.cpu_count() or 2)],
            check=True, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    found = [build_dir / "bin" / target, *build_dir.rglob(target)]
    built = next((p for p in found if p.is_file()), None)
    if built is None:
        raise RuntimeError(f"{target} did not build; see {log}")
    exe.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(built, exe)
    return exe


def run(
    exe: Path, model: Path, threads: int, *, ngl: int = 0, tg: int = 128, pp: int = 512,
    reps: int = 5,
) -> dict[str, Any]:  # fmt: skip
    """llama-bench's tg and pp tok/s (mean and stddev over ``reps``), same model and threads."""
    out = subprocess.run(
        [str(exe), "-m", str(model), "-t", str(threads), "-n", str(tg), "-p", str(pp),
         "-r", str(reps), "-o", "json", "-ngl", str(ngl), "-fa", "1"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    rows = json.loads(out.stdout)
    result: dict[str, Any] = {}
    for row in rows:
        key = "tg" if row.get("n_gen") else "pp"
        result[key] = {
            "avg": float(row["avg_ts"]),
            "stddev": float(row.get("stddev_ts", 0.0)),
            "samples": [float(x) for x in row.get("samples_ts", [])],
        }
    return result
