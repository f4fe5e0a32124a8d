"""From settings to one checked ModelFile and one Plan: resolution, recommendations, naming."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.errors import ConfigError
from qwq_edge.models import catalog, files, gguf, resolve
from qwq_edge.settings import Settings, load
from tests.support.env import QWEN


def test_the_catalog_recommends_only_what_was_not_set(qwen_path: Path, isolated_home: Path) -> None:
    s = resolve.recommended(load({"model": str(qwen_path)}))
    assert s.min_searches == 1  # the test model's catalog entry
    kept = resolve.recommended(load({"model": str(qwen_path), "min_searches": 0}))
    assert kept.min_searches == 0  # explicitly set: the catalog does not override it


def test_locate_checks_the_file_and_finds_its_catalog_entry(qwen_path: Path) -> None:
    model = resolve.locate(Settings(model=str(qwen_path)))
    assert model.path == qwen_path and model.quant == "Q4_K_M" and model.layers == 24
    assert model.entry is not None and model.entry[1].file == QWEN
    assert model.entry[0].test_model


def test_nothing_configured_falls_back_to_the_test_model(qwen_path: Path) -> None:
    assert resolve.model_path(Settings()) == qwen_path


def test_a_name_that_is_not_downloaded_says_how_to_get_it(isolated_home: Path) -> None:
    with pytest.raises(ConfigError, match=r"qwq-32b:q4_k_m is not downloaded; run `qwq-edge"):
        resolve.model_path(Settings(model="qwq-32b"))


def test_file_naming_is_written_once(tmp_path: Path) -> None:
    final = tmp_path / "m.gguf"
    assert files.partial_path(final).name == "m.gguf.part"
    assert files.sidecar_path(final).name == "m.gguf.sha256"
    files.write_sidecar(final, "ab" * 32)
    assert files.read_sidecar(final) == "ab" * 32
    assert files.related_files(final) == (
        final,
        files.partial_path(final),
        files.sidecar_path(final),
    )


def test_the_catalog_is_parsed_once_per_process(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    real = catalog._read
    monkeypatch.setattr(catalog, "_read", lambda p: reads.append(p) or real(p))
    catalog._loaded.clear()
    for _ in range(3):
        catalog.load()
        resolve.catalog_entry(Settings(model="qwq-32b"))
    assert len(reads) == 2  # the shipped catalog and the user's file, once each


@pytest.mark.model
def test_a_load_reads_the_header_once(qwen_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qwq_edge.runtime import load_engine

    calls: list[Path] = []
    real = gguf.read_gguf

    def counting(path: str | Path, **kw: bool) -> gguf.GGUFInfo:
        calls.append(Path(path))
        return real(path, **kw)

    monkeypatch.setattr(files, "read_gguf", counting)
    engine = load_engine(Settings(model=str(qwen_path), n_ctx=512))
    try:
        assert calls == [qwen_path]
        assert engine.info.n_ctx == 512 and "512 ctx" in engine.info.fit
    finally:
        engine.close()
