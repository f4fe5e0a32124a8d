"""Settings: one field per option drives the TOML file, the environment and the flags."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from qwq_edge.errors import ConfigError
from qwq_edge.paths import paths
from qwq_edge.settings import OPTIONS, Sampling, Settings, load, load_file, save_file


def test_precedence_defaults_file_env_flags(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_file({"max_searches": 3, "n_ctx": 4096, "temperature": 0.2})
    monkeypatch.delenv("QWQ_EDGE_LIBRARY_MODE")  # set for every test by conftest
    monkeypatch.delenv("QWQ_EDGE_READ_TOP")  # likewise
    monkeypatch.setenv("QWQ_EDGE_N_CTX", "8192")
    s = load({"n_ctx": 2048, "seed": None})
    assert (s.max_searches, s.n_ctx, s.sampling.temperature) == (3, 2048, 0.2)
    assert load().n_ctx == 8192  # the environment over the file
    assert s.min_searches == 0 and s.sampling.top_k == 40  # defaults
    assert s.explicit == {"max_searches", "n_ctx", "temperature"}


def test_auto_means_the_default_and_bad_values_are_one_sentence(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWQ_EDGE_GPU_LAYERS", "auto")
    monkeypatch.setenv("QWQ_EDGE_OFFLINE", "yes")
    s = load()
    assert s.n_gpu_layers is None and s.offline is True
    monkeypatch.setenv("QWQ_EDGE_N_CTX", "lots")
    with pytest.raises(ConfigError, match="QWQ_EDGE_N_CTX: n_ctx must be a number, not 'lots'"):
        load()
    monkeypatch.delenv("QWQ_EDGE_N_CTX")
    monkeypatch.setenv("QWQ_EDGE_KV_TYPE", "q2")
    with pytest.raises(ConfigError, match="kv_type must be one of auto, f16, q8_0, q4_0"):
        load()


def test_file_errors_name_the_file(isolated_home: Path) -> None:
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True)
    cfg.write_text("max_searches = [\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_file(cfg)
    cfg.write_text("max_serches = 2\n")
    with pytest.raises(ConfigError, match="unknown setting 'max_serches'"):
        load_file(cfg)
    cfg.write_text("[sampling]\ntop_k = 20\n[search]\nmax_results = 3\n")
    assert load_file(cfg) == {"top_k": 20, "max_results": 3}


def test_the_key_is_secret_and_the_file_is_private(isolated_home: Path) -> None:
    target = save_file({"tavily_api_key": "tvly-SECRET", "seed": 5})
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    s = load()
    assert s.tavily_api_key == "tvly-SECRET" and s.sampling.seed == 5
    assert "SECRET" not in repr(s) and "tavily_api_key" not in s.public()
    assert "explicit" not in s.public()
    save_file({"tavily_api_key": None})
    assert load().tavily_api_key is None


def test_every_option_declares_its_help() -> None:
    assert all(f.metadata["help"] for f in OPTIONS.values())
    assert Settings().replace(top_k=20).sampling == Sampling(top_k=20)


def test_no_speculation_is_the_short_way_to_turn_it_off() -> None:
    from qwq_edge import cli
    from qwq_edge.cli.common import run_overrides
    from qwq_edge.settings import load

    args = cli.build_parser().parse_args(["ask", "q", "--no-speculation", "--think-budget", "64"])
    settings = load(run_overrides(args))
    assert settings.speculation == "off" and settings.max_thinking_tokens == 64
    args = cli.build_parser().parse_args(["ask", "q"])
    assert load(run_overrides(args)).speculation == "auto"
