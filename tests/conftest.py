"""Shared fixtures: the real test GGUFs, one loaded engine per session, a local Tavily server,
and an isolated QWQ_EDGE_HOME for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qwq_edge.engine.llama import LlamaEngine
from tests.support.env import QWEN, SMOLLM, load_test_engine, test_model
from tests.support.tavily_server import TavilyServer


@pytest.fixture(scope="session")
def qwen_path() -> Path:
    return test_model(QWEN)


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    return test_model(SMOLLM)


@pytest.fixture(scope="session")
def engine(qwen_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaEngine]:
    log = tmp_path_factory.mktemp("logs") / "llama.log"
    eng = load_test_engine(qwen_path, 4096, log)
    yield eng
    eng.close()


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own QWQ_EDGE_HOME and no ambient key or model settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("QWQ_EDGE_HOME", str(home))
    for var in ("TAVILY_API_KEY", "QWQ_EDGE_MODEL", "QWQ_EDGE_TAVILY_URL", "QWQ_EDGE_N_CTX"):
        monkeypatch.delenv(var, raising=False)
    # A user's read_top must not leak in, and the local search servers answer
    # with example.com URLs that a machine with no network cannot open (and one with a
    # firewall may hang on): tests of read_top ask for it with --read-top or the setting.
    monkeypatch.setenv("QWQ_EDGE_READ_TOP", "0")
    for var in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_TOKEN", "QWQ_EDGE_KV_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # huggingface_hub writes caches there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # Words only unless a test asks for meaning: `library add` would otherwise start a
    # detached embedder that outlives the test (tests/library/test_semantic.py opts in).
    monkeypatch.setenv("QWQ_EDGE_LIBRARY_MODE", "bm25")
    return home


@pytest.fixture
def tavily() -> Iterator[TavilyServer]:
    with TavilyServer() as server:
        yield server
