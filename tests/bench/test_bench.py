"""`qwq-edge bench --quick` end to end with the real test model: a well-formed table and JSON
(the figures themselves are not asserted: timings belong in the benchmark, not in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qwq_edge.bench.report import Row, markdown
from tests.support.env import cli_env

HEADER = "| measure | loop | median (min–max) | ratio | goal / note |"


def test_rows_render_goals_ratios_and_missing_values() -> None:
    rows = [
        Row("decode", "raw", 51.2, 50.0, 52.5, "tok/s", 1.0),
        Row("decode", "qwq-edge", 50.9, 50.1, 51.0, "tok/s", 0.994, "≥ 1.0 × raw", False),
        Row("llama-bench", "llama-bench", None, note="not run: no cmake"),
    ]
    table = markdown(rows).splitlines()
    assert table[0] == HEADER and len(table) == 5
    assert "51.2 (50.0–52.5) tok/s" in table[2] and "1.00×" in table[2]
    assert "≥ 1.0 × raw: not met" in table[3] and "0.99×" in table[3]
    assert "| – |" in table[4] and "not run: no cmake" in table[4]


@pytest.mark.model
def test_bench_quick_prints_every_baseline_and_goal(
    isolated_home: Path, qwen_path: Path, tmp_path: Path
) -> None:
    exe = Path(sys.executable).with_name("qwq-edge")
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [str(exe), "bench", "--quick", "--json", str(out_json)],
        capture_output=True, text=True, env=cli_env(isolated_home), timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    model_table = proc.stdout.split("\nLibrary\n")[0]  # the library section has its own table
    table = [line for line in model_table.splitlines() if line.startswith("|")]
    assert table[0] == HEADER and table[1] == "|---|---|---|---|---|"
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert all(len(c) == 5 for c in cells)
    loops = {c[1] for c in cells}
    assert {"raw", "seed-style", "naive", "qwq-edge", "qwq-edge TUI"} <= loops
    metrics = {c[0] for c in cells}
    for needed in ("decode", "time to first token", "call + stop detection 16k ÷ 1k", "peak RSS"):
        assert any(m.startswith(needed) for m in metrics), needed
    assert any(m.startswith("end-to-end, 3 searches") for m in metrics)
    assert any(m.startswith("evaluated ÷ appended per resume") for m in metrics)
    assert any(m.startswith("decode ceiling") for m in metrics)
    goals = [c[4] for c in cells if "met" in c[4]]
    assert len(goals) >= 4 and all(": met" in g or ": not met" in g for g in goals)
    assert "goals met:" in proc.stdout
    data = json.loads(out_json.read_text())
    assert data["meta"]["mode"] == "quick" and data["meta"]["model"] == qwen_path.name
    assert len(data["rows"]) == len(cells)
    decode = [r for r in data["rows"] if r["metric"] == "decode"]
    assert decode and all(r["median"] > 0 for r in decode)


def test_llama_bench_builds_without_amx_on_an_amx_cpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from qwq_edge.bench import llama_bench

    monkeypatch.delenv("CMAKE_ARGS", raising=False)
    cpuinfo = tmp_path / "cpuinfo"
    real_path = llama_bench.Path
    monkeypatch.setattr(
        llama_bench, "Path", lambda p: cpuinfo if p == "/proc/cpuinfo" else real_path(p)
    )
    monkeypatch.setattr(llama_bench.sys, "platform", "linux")
    cpuinfo.write_text("flags : fpu avx avx2 fma avx512f amx_tile amx_int8\n")
    args = llama_bench.cmake_args().split()
    assert "-DGGML_NATIVE=OFF" in args and "-DGGML_AMX_INT8=OFF" in args
    assert "-DGGML_AVX512=ON" in args and "-DGGML_AVX512_BF16=ON" not in args
    cpuinfo.write_text("flags : fpu avx avx2 fma\n")
    assert llama_bench.cmake_args() == ""
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_CUDA=on")
    assert llama_bench.cmake_args() == "-DGGML_CUDA=on"
