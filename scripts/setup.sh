#!/usr/bin/env bash
# Create the virtual environment and install qwq-edge with the right llama.cpp backend.
#   GPU=auto (default) | cpu | cuda | metal
# auto picks Metal on Apple Silicon, CUDA only when `nvidia-smi -L` lists a GPU (nvcc alone
# proves nothing: a build box can have the compiler and no card), CPU otherwise.
# Fast when nothing changed: a stamp records the backend and the pyproject it was built for.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
GPU=${GPU:-auto}
LLAMA_SPEC="llama-cpp-python==0.3.36"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "qwq-edge needs Python >= 3.10 ($PYTHON is $("$PYTHON" -V 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ "$GPU" = auto ]; then
  if [ "$(uname -s)" = Darwin ] && [ "$(uname -m)" = arm64 ]; then
    GPU=metal
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    GPU=cuda
  else
    GPU=cpu
  fi
fi
case "$GPU" in cpu|cuda|metal) ;; *) echo "GPU must be auto, cpu, cuda or metal (got '$GPU')" >&2; exit 1;; esac

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
stamp="$VENV/.qwq-edge-setup"
want="$GPU $(cksum < pyproject.toml | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

pip() { "$PY" -m pip --disable-pip-version-check "$@"; }

# llama.cpp's AMX kernels execute tile instructions without a tile configuration on some
# AMX machines (seen on a Sapphire Rapids VM: SIGILL at `tilezero` in ggml_backend_amx_mul_mat
# on the first batched decode). There, build for this CPU's own features minus AMX.
cpu_flags() {
  [ "$(uname -s)" = Linux ] && grep -qw amx_tile /proc/cpuinfo 2>/dev/null || return 0
  local flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  local pair
  for pair in avx:AVX avx2:AVX2 avx_vnni:AVX_VNNI fma:FMA f16c:F16C bmi2:BMI2 avx512f:AVX512 \
      avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    grep -qw "${pair%%:*}" /proc/cpuinfo && flags="$flags -DGGML_${pair##*:}=ON"
  done
  echo "$flags"
}
offload() { "$PY" -c 'import llama_cpp, sys; sys.exit(0 if llama_cpp.llama_supports_gpu_offload() else 1)' 2>/dev/null; }
have_llama() { "$PY" -c 'import llama_cpp' 2>/dev/null; }

case "$GPU" in
  cpu)
    if ! have_llama; then
      echo "building llama-cpp-python for CPU (about 5 minutes on 2 cores; cached afterwards) ..."
      flags=$(cpu_flags)
      if [ -n "$flags" ]; then
        # --no-cache-dir: pip's wheel cache does not key on CMAKE_ARGS.
        CMAKE_ARGS="$flags" pip install -q --no-cache-dir "$LLAMA_SPEC"
      else
        pip install -q "$LLAMA_SPEC"
      fi
    fi
    ;;
  cuda|metal)
    if ! offload; then
      flag=$([ "$GPU" = cuda ] && echo "-DGGML_CUDA=on" || echo "-DGGML_METAL=on")
      echo "building llama-cpp-python with $GPU offload ($flag) ..."
      # --no-cache-dir: pip's wheel cache does not key on CMAKE_ARGS and would hand back a CPU build.
      CMAKE_ARGS="$flag" pip install -q --no-cache-dir --force-reinstall --no-deps "$LLAMA_SPEC"
      offload || { echo "llama-cpp-python was built but cannot offload to $GPU; see .venv build output" >&2; exit 1; }
    fi
    ;;
esac

pip install -q -e ".[dev]"
echo "$want" > "$stamp"
