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


@pytest.mark.parametrize("word", ["enabled", "offline", "maybe", "2", "tru", "y"])
def test_an_unrecognised_word_for_a_boolean_is_refused_not_false(
    word: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, finding 7: QWQ_EDGE_OFFLINE=enabled meant online, silently."""
    monkeypatch.setenv("QWQ_EDGE_OFFLINE", word)
    with pytest.raises(ConfigError, match=f"QWQ_EDGE_OFFLINE: offline must be true/false.*{word}"):
        load()
    monkeypatch.delenv("QWQ_EDGE_OFFLINE")
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'offline = "{word}"\n')
    with pytest.raises(ConfigError, match=f"config.toml: offline must be true/false.*{word}"):
        load()
    cfg.write_text("offline = 2\n")
    with pytest.raises(ConfigError, match="offline must be true/false"):
        load()


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), (" On ", True),
     ("false", False), ("False", False), ("0", False), ("NO", False), ("off", False)],
)  # fmt: skip
def test_the_boolean_words_are_read_in_any_case(
    word: str, value: bool, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWQ_EDGE_OFFLINE", word)
    assert load().offline is value
    monkeypatch.delenv("QWQ_EDGE_OFFLINE")
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f"offline = {str(value).lower()}\nkv_snapshots = {int(not value)}\n")
    assert (load().offline, load().kv_snapshots) == (value, not value)


@pytest.mark.parametrize(
    "line", ["n_ctx = true", "threads = false", "[sampling]\ntemperature = true"]
)
def test_a_boolean_is_not_a_number(line: str, isolated_home: Path) -> None:
    """Issue 28, finding 21: `n_ctx = true` was taken as n_ctx = 1."""
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True)
    cfg.write_text(line + "\n")
    key = line.split("=")[0].split()[-1]
    with pytest.raises(ConfigError, match=f"{key} must be a number, not (true|false)"):
        load()


def test_text_settings_take_text_only(isolated_home: Path) -> None:
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True)
    cfg.write_text("model = true\n")
    with pytest.raises(ConfigError, match="model must be text"):
        load()
    cfg.write_text('library_folders = ["~/a", "~/b"]\nmodel = "qwen"\n')
    assert load().model == "qwen"


def test_seeds_and_llama_cpp_numbers_are_bounded_wherever_they_come_from(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, findings 5 and 22: a seed of 2**70 ended the answer with SQLite's
    OverflowError; 100000 threads aborted llama.cpp."""
    cfg = paths().config_file
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f"[sampling]\nseed = {2**63 - 1}\n")
    with pytest.raises(
        ConfigError, match="seed must be at most 2147483647, not 9223372036854775807"
    ):
        load()
    cfg.write_text("threads = 100000\n")
    with pytest.raises(ConfigError, match="threads must be at most 512, not 100000"):
        load()
    cfg.write_text("n_ctx = 1e400\n")  # TOML reads inf
    with pytest.raises(ConfigError, match="n_ctx must be a number"):
        load()
    cfg.write_text("[sampling]\ntop_k = 4294967296\nseed = 2147483647\n")
    with pytest.raises(ConfigError, match="top_k must be at most 2147483647"):
        load()
    cfg.unlink()
    monkeypatch.setenv("QWQ_EDGE_GPU_LAYERS", str(2**40))
    with pytest.raises(ConfigError, match="QWQ_EDGE_GPU_LAYERS: n_gpu_layers must be at most"):
        load()
    monkeypatch.setenv("QWQ_EDGE_GPU_LAYERS", "99")  # llama.cpp's way of saying "all"
    assert load({"seed": 2**31 - 1}).n_gpu_layers == 99
