"""Shared fixtures: the real test GGUFs, one loaded engine per session, a local Tavily server."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tavily_server import TavilyServer

from qwq_edge.paths import test_models_dir

QWEN = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _model(name: str) -> Path:
    path = test_models_dir() / name
    if not path.is_file():
        pytest.fail(f"test model {path} is missing: run `python scripts/fetch_test_models.py`")
    return path


@pytest.fixture(scope="session")
def qwen_path() -> Path:
    return _model(QWEN)


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    return _model(SMOLLM)


@pytest.fixture(scope="session")
def engine(qwen_path: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from qwq_edge.engine.llama import LlamaEngine

    log = tmp_path_factory.mktemp("logs") / "llama.log"
    eng = LlamaEngine(qwen_path, n_ctx=4096, log_path=log)
    yield eng
    eng.close()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own QWQ_EDGE_HOME and no ambient key or model settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("QWQ_EDGE_HOME", str(home))
    for var in ("TAVILY_API_KEY", "QWQ_EDGE_MODEL", "QWQ_EDGE_TAVILY_URL", "QWQ_EDGE_N_CTX"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "QWQ_EDGE_KV_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # huggingface_hub writes caches there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return home


@pytest.fixture
def tavily() -> Iterator[TavilyServer]:
    with TavilyServer() as server:
        yield server


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TAVILY_API_KEY", "QWQ_EDGE_MODEL")}
    env["QWQ_EDGE_HOME"] = str(home)
    env.update(extra)
    return env
