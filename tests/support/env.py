"""Paths and environments the tests share: the real test GGUFs and a CLI subprocess's env."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.paths import test_models_dir

QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"
REPO = Path(__file__).resolve().parent.parent.parent


def test_model(name: str) -> Path:
    path = test_models_dir() / name
    if not path.is_file():
        pytest.fail(f"test model {path} is missing: run `python scripts/fetch_test_models.py`")
    return path


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY", "QWQ_EDGE_MODEL")}
    env["QWQ_EDGE_HOME"] = str(home)
    env.update(extra)
    return env


def load_test_engine(path: Path, n_ctx: int, log: Path | None = None) -> LlamaEngine:
    """A real engine on a test GGUF, through the same resolve-and-plan path as the app."""
    from qwq_edge.runtime import load_engine
    from qwq_edge.settings import Settings

    return load_engine(Settings(n_ctx=n_ctx), path=path, log_path=log)
