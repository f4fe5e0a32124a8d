"""Bad model files are refused before llama.cpp sees them, each with one clear sentence."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from qwq_edge.errors import ModelLoadError
from qwq_edge.models.gguf import check_architecture, read_gguf
from tests.support.env import cli_env


def _gguf_header(arch: str) -> bytes:
    def s(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    kv = s("general.architecture") + struct.pack("<I", 8) + s(arch)
    return b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv


def test_real_models_read(qwen_path: Path, smollm_path: Path) -> None:
    qwen = read_gguf(qwen_path)
    assert (qwen.architecture, qwen.quant, qwen.arch_value("block_count")) == (
        "qwen2",
        "Q4_K_M",
        24,
    )
    assert qwen.data_offset + qwen.tensor_bytes == qwen.file_size
    assert read_gguf(smollm_path).architecture == "llama"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="model file not found"):
        read_gguf(tmp_path / "nope.gguf")


def test_not_a_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"<html>404 Not Found</html>" * 10)
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        read_gguf(bad)


@pytest.mark.parametrize("keep", [4096, 50_000_000], ids=["in-the-header", "in-the-tensors"])
def test_truncated_file(tmp_path: Path, qwen_path: Path, keep: int) -> None:
    cut = tmp_path / "cut.gguf"
    with qwen_path.open("rb") as src, cut.open("wb") as dst:
        dst.write(src.read(keep))
    with pytest.raises(ModelLoadError, match="truncated"):
        read_gguf(cut)


def test_unsupported_architecture(tmp_path: Path) -> None:
    bert = tmp_path / "bert.gguf"
    bert.write_bytes(_gguf_header("bert"))
    info = read_gguf(bert)
    with pytest.raises(ModelLoadError, match="'bert' model"):
        check_architecture(info)


@pytest.mark.parametrize("kind", ["missing", "html", "truncated", "bert"])
def test_cli_reports_bad_models_in_one_line(kind: str, tmp_path: Path, qwen_path: Path) -> None:
    path = tmp_path / f"{kind}.gguf"
    if kind == "html":
        path.write_text("<html>not a model</html>")
    elif kind == "truncated":
        with qwen_path.open("rb") as src:
            path.write_bytes(src.read(10_000_000))
    elif kind == "bert":
        path.write_bytes(_gguf_header("bert"))
    proc = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "ask", "hi", "--model", str(path)],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("qwq-edge: "), proc.stderr
