"""Search by meaning with the real all-MiniLM-L6-v2 GGUF on llama-cpp-python: hybrid ranks
the passage that answers a question sharing no content word with it above where bm25 puts
it; embedding resumes after an interruption with every passage embedded once; a missing
or corrupt model falls back to words, said once."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from qwq_edge.engine.embedding import Embedder
from qwq_edge.errors import ModelLoadError
from qwq_edge.library.folders import index_folder
from qwq_edge.library.index import Library
from qwq_edge.library.semantic import VectorIndex, counts, embed_pending, fuse, search
from qwq_edge.paths import paths
from qwq_edge.runtime import embedding_model_path, make_provider, provider_notices
from qwq_edge.settings import Settings

CORPUS = Path(__file__).parent / "meaning_corpus"
# Each question shares no content word with the passage that answers it.
QUESTIONS = {
    "Will my NVIDIA card speed things up?": "gpu.md",
    "Can the assistant invoke multiple functions at once?": "parallel.md",
    "How much disk space does a compressed model save?": "quantization.md",
    "How do I look after the drivetrain of my bike?": "cycling.md",
    "When can the yeast culture for bread be baked with?": "bakery.md",
}

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model() -> Embedder:
    path = embedding_model_path(Settings())
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `python scripts/fetch_test_models.py embedding`")
    return Embedder(path, threads=2)


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "library.sqlite3")
    index_folder(lib, "docs", CORPUS)
    return lib


def _rank(hits: list[str], name: str) -> int:
    return next((i for i, url in enumerate(hits, 1) if url.endswith(name)), 99)


def test_hybrid_finds_what_words_alone_miss(library: Library, model: Embedder) -> None:
    assert embed_pending(library, model).embedded == counts(library)[1] > 0
    vectors = VectorIndex(library)
    better = 0
    for question, answer in QUESTIONS.items():
        words = _rank([h.url for h in library.search(question, 8)], answer)
        hybrid = _rank([h.url for h in search(library, vectors, model, question, 8)], answer)
        semantic = search(library, vectors, model, question, 8, mode="semantic")
        assert hybrid <= words, (question, hybrid, words)
        assert _rank([h.url for h in semantic], answer) <= 3, question
        better += hybrid < words
    assert better >= 3  # words alone miss or bury most of these


def test_embedding_resumes_and_embeds_each_passage_once(library: Library, model: Embedder) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        stop.set()  # after the first batch

    first = embed_pending(library, model, progress=progress, stop=stop, batch=3)
    assert first.stopped and first.embedded == 3
    again = embed_pending(library, model, batch=3)
    done, total = counts(library)
    assert not again.stopped and first.embedded + again.embedded == total == done
    with library.locked() as conn:
        rows = conn.execute("SELECT COUNT(*), COUNT(DISTINCT chunk) FROM vectors").fetchone()
    assert rows[0] == rows[1] == total


def test_vectors_are_unit_length_and_close_for_paraphrases(model: Embedder) -> None:
    v = model.embed(["a bicycle chain", "the chain of a bike", "sourdough starter", ""])
    assert v.shape == (4, 384) and np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-3)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_rrf_fuses_two_rankings() -> None:
    fused = [pid for pid, _ in fuse([1, 2, 3], [3, 1, 4])]
    assert fused[:2] == [1, 3] and set(fused) == {1, 2, 3, 4}


def test_a_missing_or_corrupt_model_falls_back_to_words_once(
    isolated_home: Path, tmp_path: Path
) -> None:
    lib = Library(paths().library)
    index_folder(lib, "docs", CORPUS)
    with pytest.raises(ModelLoadError, match="is missing"):
        Embedder(tmp_path / "nowhere.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 4096)
    with pytest.raises(ModelLoadError, match="could not be loaded"):
        Embedder(bad)
    missing = make_provider(Settings(sources="library", embedding_model=str(tmp_path / "x.gguf")))
    notes = provider_notices(missing)
    assert len(notes) == 1 and "by words only" in notes[0] and "x.gguf" in notes[0]
    hits = missing.search("sourdough starter", max_results=3).hits
    assert hits[0].url.endswith("bakery.md")
    # a model that breaks at its first use: words answer, and the reason is noted once
    with lib.locked() as conn:  # as if the passages had been embedded
        conn.execute("INSERT INTO vectors SELECT id, zeroblob(768) FROM chunks")
    embedded = make_provider(Settings(sources="library", embedding_model=str(bad)))
    assert provider_notices(embedded) == []  # nothing known to be wrong yet
    assert embedded.search("sourdough starter", max_results=3).hits[0].url.endswith("bakery.md")
    embedded.search("bicycle chain", max_results=3)
    notes = provider_notices(embedded)
    assert sum("by words only" in n for n in notes) == 1


def test_library_add_embeds_in_the_background_and_search_uses_meaning(
    isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import subprocess
    import sys
    import time

    from tests.support.env import cli_env

    env = cli_env(isolated_home, QWQ_EDGE_LIBRARY_MODE="hybrid")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "qwq_edge", "library", *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip

    added = run("add", str(CORPUS), "--name", "docs")
    assert added.returncode == 0, added.stderr
    assert "in the background" in added.stdout
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        listed = run("list").stdout
        if "vectors for search by meaning: 8/8 passages" in listed:
            break
        time.sleep(1)
    assert "8/8 passages" in listed, listed
    again = run("embed")
    assert again.returncode == 0 and again.stdout == ""  # nothing left to do
    question = "Will my NVIDIA card speed things up?"
    words = run("search", question, "--json", "--mode", "bm25")
    hybrid = run("search", question, "--json")
    assert "by words only" not in hybrid.stderr
    found = [json.loads(line)["url"] for line in hybrid.stdout.splitlines()]
    assert found and found[0].endswith("gpu.md")
    assert not any(
        json.loads(line)["url"].endswith("gpu.md") for line in words.stdout.splitlines()[:1]
    )


def test_offline_ask_finds_a_passage_that_shares_no_word_with_the_question(
    isolated_home: Path, tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    from tests.support.env import cli_env

    env = cli_env(isolated_home, QWQ_EDGE_LIBRARY_MODE="hybrid")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "qwq_edge", *args],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc

    env["QWQ_EDGE_LIBRARY_MODE"] = "bm25"  # index only; then embed in the foreground
    run("library", "add", str(CORPUS), "--name", "docs")
    env["QWQ_EDGE_LIBRARY_MODE"] = "hybrid"
    assert "8/8 passages" in run("library", "embed").stdout
    proc = run(
        "ask", "--json", "--offline", "--min-searches", "1", "--seed", "0",
        "--temperature", "0", "--max-tokens", "120", "--n-ctx", "4096",
        "Will my NVIDIA card speed things up?",
    )  # fmt: skip
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["error"] is None, result
    assert any(h["url"].endswith("/gpu.md") for h in result["hits"]), result["hits"]
    assert "by words only" not in proc.stderr
