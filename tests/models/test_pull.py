"""Model catalog CLI and resumable pulls, against a local Hub-like server (never the Hub)."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qwq_edge import settings
from qwq_edge.models import catalog
from qwq_edge.models.pull import Progress, PullError, pull
from tests.support.env import cli_env
from tests.support.hub_server import HubServer

REPO = "Qwen/QwQ-32B-GGUF"
FILE = "qwq-32b-q4_k_m.gguf"
DATA = os.urandom(3 << 20)  # 3 MiB


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    import huggingface_hub.constants

    # Small chunks so a download cut short has written part of the file.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", 64 << 10)
    with HubServer() as server:
        server.files[f"{REPO}/{FILE}"] = DATA
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_pull_reports_progress_and_verifies(hub: HubServer, tmp_path: Path) -> None:
    seen: list[Progress] = []
    dest = pull(REPO, FILE, tmp_path / FILE, progress=seen.append)
    assert dest.read_bytes() == DATA
    downloads = [p for p in seen if p.phase == "download"]
    assert downloads and downloads[-1].done == len(DATA) and downloads[-1].total == len(DATA)
    assert [p.done for p in downloads] == sorted(p.done for p in downloads)
    assert any(p.phase == "verify" for p in seen)
    sha = hashlib.sha256(DATA).hexdigest()
    assert (tmp_path / (FILE + ".sha256")).read_text().split()[0] == sha
    assert not (tmp_path / (FILE + ".part")).exists()


def test_interrupted_pull_resumes_where_it_stopped(hub: HubServer, tmp_path: Path) -> None:
    hub.cut_after = 1 << 20
    hub.fail_status = 503  # the retry fails too: the process gives up, like a dead network
    with pytest.raises(PullError):
        pull(REPO, FILE, tmp_path / FILE)
    part = tmp_path / (FILE + ".part")
    kept = part.stat().st_size
    assert 0 < kept < len(DATA) and not (tmp_path / FILE).exists()
    hub.fail_status = None
    hub.requests.clear()
    pull(REPO, FILE, tmp_path / FILE)
    assert (tmp_path / FILE).read_bytes() == DATA
    ranges = [r for m, p, r in hub.requests if m == "GET" and p.startswith("/cdn/")]
    assert ranges == [f"bytes={kept}-"]  # only the missing bytes were fetched


def test_a_dropped_connection_is_resumed_within_one_pull(hub: HubServer, tmp_path: Path) -> None:
    hub.cut_after = 1 << 20
    pull(REPO, FILE, tmp_path / FILE)
    assert (tmp_path / FILE).read_bytes() == DATA
    gets = [r for m, p, r in hub.requests if m == "GET" and p.startswith("/cdn/")]
    assert gets[0] is None and gets[-1] is not None and gets[-1].startswith("bytes=")


def test_sha256_mismatch_is_rejected_and_the_partial_file_removed(
    hub: HubServer, tmp_path: Path
) -> None:
    hub.wrong_sha = True
    with pytest.raises(PullError, match="sha256"):
        pull(REPO, FILE, tmp_path / FILE)
    assert not (tmp_path / FILE).exists() and not (tmp_path / (FILE + ".part")).exists()


def test_offline_refuses_without_a_request(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(PullError, match="HF_HUB_OFFLINE"):
        pull(REPO, FILE, tmp_path / FILE)
    assert hub.requests == []


def test_no_network_and_missing_file_and_full_disk_are_one_sentence(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(PullError, match="has no file"):
        pull(REPO, "nope.gguf", tmp_path / "nope.gguf")
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage._replace(free=1 << 20))
    with pytest.raises(PullError, match="not enough disk space"):
        pull(REPO, FILE, tmp_path / FILE)
    monkeypatch.undo()
    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(PullError, match="cannot reach") as err:
        pull(REPO, FILE, tmp_path / FILE)
    assert "\n" not in str(err.value)


def _qwq(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("qwq-edge")
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=cli_env(home, **env), timeout=120
    )


def test_cli_pull_then_the_default_model_is_qwq(
    hub: HubServer, isolated_home: Path, smollm_path: Path
) -> None:
    # The server hands out a real (small) GGUF under QwQ-32B's name.
    hub.files[f"{REPO}/{FILE}"] = smollm_path.read_bytes()
    out = _qwq(isolated_home, "models", "pull", "qwq-32b", HF_ENDPOINT=hub.url)
    assert out.returncode == 0, out.stderr
    assert "MB/s" in out.stderr and "ETA" in out.stderr and "100.0%" in out.stderr
    pulled = isolated_home / "data" / "models" / FILE
    assert pulled.is_file()
    assert _qwq(isolated_home, "model-path").stdout.strip() == str(pulled)
    listing = _qwq(isolated_home, "models").stdout
    assert any(line.startswith("*") and "qwq-32b:q4_k_m" in line for line in listing.splitlines())
    again = _qwq(isolated_home, "models", "pull", "qwq-32b", HF_ENDPOINT=hub.url)
    assert "already" in again.stdout
    out = _qwq(isolated_home, "models", "rm", "qwq-32b")
    assert out.returncode == 0 and not pulled.exists()


def test_cli_pull_offline_is_a_clear_refusal(isolated_home: Path) -> None:
    out = _qwq(isolated_home, "models", "pull", "qwq-32b", HF_HUB_OFFLINE="1")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "HF_HUB_OFFLINE" in out.stderr
    assert "Traceback" not in out.stderr


def test_add_use_verify_and_rm_a_local_model(isolated_home: Path, smollm_path: Path) -> None:
    out = _qwq(isolated_home, "models", "add", str(smollm_path), "--name", "mine")
    assert out.returncode == 0, out.stderr
    assert _qwq(isolated_home, "models", "use", "mine").returncode == 0
    assert _qwq(isolated_home, "model-path").stdout.strip() == str(smollm_path.resolve())
    assert settings.load().model == "mine:q4_1"
    verify = _qwq(isolated_home, "models", "verify", "smollm2-135m")
    assert verify.returncode == 0 and "matches" in verify.stdout
    out = _qwq(isolated_home, "models", "rm", "mine")
    assert out.returncode == 0 and smollm_path.is_file()  # the user's file is left alone
    assert "mine" not in catalog.load()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>not a model</html>", "not a GGUF model file"),
        ("truncated", "truncated"),
        ("bert", "'bert' model"),
    ],
)
def test_add_rejects_bad_files_with_one_sentence(
    isolated_home: Path, tmp_path: Path, smollm_path: Path, content: bytes | str, message: str
) -> None:
    bad = tmp_path / "bad.gguf"
    if content == "truncated":
        bad.write_bytes(smollm_path.read_bytes()[: 30 << 20])
    elif content == "bert":
        import gguf

        w = gguf.GGUFWriter(str(bad), "bert")
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_ti_data_to_file()
        w.close()
    else:
        assert isinstance(content, bytes)
        bad.write_bytes(content)
    out = _qwq(isolated_home, "models", "add", str(bad), "--name", "bad")
    assert out.returncode == 1 and message in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "bad" not in catalog.load()


def test_doctor_plans_qwq_for_another_machine(isolated_home: Path) -> None:
    out = _qwq(isolated_home, "doctor", "--model", "qwq-32b", "--memory", "24GiB")
    assert out.returncode == 0, out.stderr
    assert "f16 256 KiB" in out.stdout and "q8_0 136 KiB" in out.stdout
    assert "all 64 layers on GPU" in out.stdout
    mac = _qwq(isolated_home, "doctor", "--model", "qwq-32b", "--memory", "64GiB", "--device",
               "metal", "--gpu", "Apple M2 Max")  # fmt: skip
    assert "32,768 ctx · f16 KV" in mac.stdout and "tok/s" in mac.stdout


def test_explicit_setting_that_cannot_fit_is_refused_before_loading(
    isolated_home: Path, qwen_path: Path
) -> None:
    out = _qwq(isolated_home, "ask", "hi", "--model", str(qwen_path), "--n-ctx", "200000000")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "200,000,000-token context needs" in out.stderr and "GiB" in out.stderr


@pytest.mark.model
def test_auto_settings_load_the_real_model_with_the_planned_fit(qwen_path: Path) -> None:
    from qwq_edge.runtime import load_engine

    engine = load_engine(settings.Settings(model=str(qwen_path)))
    try:
        info = engine.info
        # The catalog's target for this model is 8192 tokens; 24 GiB of RAM holds it at f16.
        assert (info.n_ctx, info.kv_type) == (8192, "f16")
        assert "8,192 ctx" in info.fit and "f16 KV" in info.fit
    finally:
        engine.close()


def test_the_hub_token_never_leaves_the_hub_host(
    hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_secret_token_123")
    pull(REPO, FILE, tmp_path / FILE)
    assert hub.auth[-1] == "Bearer hf_secret_token_123"  # same host: the Hub itself
    hub.cdn_host = "localhost"  # a signed storage URL elsewhere
    (tmp_path / FILE).unlink()
    pull(REPO, FILE, tmp_path / FILE)
    assert hub.auth[-1] is None and (tmp_path / FILE).read_bytes() == DATA
