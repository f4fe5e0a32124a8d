"""The remote engine against a hostile server on 127.0.0.1 that imitates llama-server's
endpoints (issue 28): token ids outside the vocabulary, sizes a client must not allocate,
a ``/completion`` that never answers, and credentials in the URL beside a server key.
Each is one sentence, never a traceback, and no secret is ever shown."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.engine import remote
from qwq_edge.engine.base import Generation
from qwq_edge.engine.remote import RemoteEngine
from qwq_edge.engine.server_api import ServerError
from qwq_edge.settings import Sampling
from tests.support.env import cli_env

N_VOCAB = 1000
SPECIAL = {"<|im_start|>": 1, "<|im_end|>": 2, "<|endoftext|>": 3}
GREEDY = Sampling(temperature=0.0, seed=0)
KEY = "srv-SECRET-key-42"
PASSWORD = "hunter2-pw"


def char_id(c: str) -> int:
    return 100 + ord(c) % 800


@dataclass
class Behaviour:
    """What the server does; a test changes it before (or while) the engine asks."""

    tokens: list[Any] = field(default_factory=lambda: [char_id("a"), char_id("b")])
    piece: Any = None  # what /tokenize with_pieces gives as every piece (None: a real one)
    hang: float = 0.0  # seconds /completion waits before answering
    text_ids: list[Any] | None = None  # what /tokenize gives for any text (None: real ids)
    endless_props: bool = False  # /props sends bytes until the client hangs up
    headers: list[dict[str, str]] = field(default_factory=list)  # every request's headers


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up on a hung answer: no traceback on the test's stderr


class Hostile:
    """A threaded HTTP server speaking enough of llama-server's API for ``RemoteEngine``."""

    def __init__(self) -> None:
        self.behaviour = Behaviour()
        behaviour = self.behaviour

        class Handler(BaseHTTPRequestHandler):
            def _send(self, data: Any) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                behaviour.headers.append(dict(self.headers))
                if self.path == "/health":
                    self._send({"status": "ok"})
                elif self.path == "/props" and behaviour.endless_props:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    with contextlib.suppress(OSError):
                        self.wfile.write(b'{"a": "')
                        for _ in range(1 << 20):
                            self.wfile.write(b"x" * (1 << 16))  # 64 GiB, were it all read
                elif self.path == "/props":
                    self._send({
                        "default_generation_settings": {"n_ctx": 8192}, "total_slots": 1,
                        "model_path": "/models/hostile.gguf", "eos_token": "<|im_end|>",
                    })  # fmt: skip
                else:
                    meta = {"n_vocab": N_VOCAB, "size": 1234, "n_ctx_train": 8192}
                    self._send({"data": [{"id": "hostile", "meta": meta}]})

            def do_POST(self) -> None:
                behaviour.headers.append(dict(self.headers))
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                if self.path == "/tokenize":
                    self._send({"tokens": self._tokenize(body)})
                    return
                if behaviour.hang:
                    time.sleep(behaviour.hang)
                self._send({
                    "tokens": behaviour.tokens, "id_slot": 0, "stop_type": "limit",
                    "timings": {"prompt_n": len(body.get("prompt") or []), "cache_n": 0},
                })  # fmt: skip

            def _tokenize(self, body: dict[str, Any]) -> list[Any]:
                content = body.get("content")
                if isinstance(content, list):  # ids given: their pieces
                    piece = behaviour.piece
                    return [{"id": t, "piece": "x" if piece is None else piece} for t in content]
                if behaviour.text_ids is not None:
                    return behaviour.text_ids
                text = str(content)
                if body.get("parse_special") and text in SPECIAL:
                    return [SPECIAL[text]]
                return [char_id(c) for c in text]

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _Quiet(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}"

    def __enter__(self) -> Hostile:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


def one_sentence(exc: BaseException) -> str:
    message = str(exc)
    assert "\n" not in message and "Traceback" not in message and len(message) < 300
    assert KEY not in message and PASSWORD not in message
    return message


def _generate(eng: RemoteEngine, **kw: Any) -> Generation:
    gen = Generation()
    list(eng.stream([1, 200, 300], gen, sampling=GREEDY, seed=0, max_tokens=16, **kw))
    return gen


# -- 6: token ids are checked against the vocabulary --------------------------------------


@pytest.mark.parametrize("bad", [-1, N_VOCAB, 2**31, 2**63, "7", 1.5, True, None])
def test_a_token_id_outside_the_vocabulary_is_one_sentence(hostile: Hostile, bad: Any) -> None:
    hostile.behaviour.tokens = [char_id("a"), bad]
    eng = RemoteEngine(hostile.url)
    with pytest.raises(ServerError) as info:
        _generate(eng)
    message = one_sentence(info.value)
    assert "token id" in message and f"{N_VOCAB:,}" in message, message


@pytest.mark.parametrize("bad", [-5, N_VOCAB, 2**40, "12"])
def test_an_id_from_tokenize_outside_the_vocabulary_is_one_sentence(
    hostile: Hostile, bad: Any
) -> None:
    eng = RemoteEngine(hostile.url)
    hostile.behaviour.text_ids = [char_id("h"), bad]
    for trusted in (True, False):
        with pytest.raises(ServerError) as info:
            eng.tokenize("hello", trusted=trusted)
        assert "vocabulary" in one_sentence(info.value)


def test_ask_on_a_server_giving_a_huge_id_ends_in_one_sentence(
    hostile: Hostile, isolated_home: Path
) -> None:
    hostile.behaviour.tokens = [char_id("a"), 2**31]
    proc = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "ask", "--json", "--server", hostile.url,
         "--max-searches", "0", "--max-tokens", "20", "What is 2+2?"],
        capture_output=True, text=True, env=cli_env(isolated_home), timeout=120,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr and "OverflowError" not in proc.stderr, proc.stderr
    errors = [e for e in map(json.loads, proc.stdout.splitlines()) if e["type"] == "error_event"]
    assert errors and "vocabulary" in errors[0]["message"], proc.stdout[-2000:]


# -- 17: no size taken from a server is allocated unchecked -------------------------------


@pytest.mark.parametrize("piece", [2**34, -1, [300], ["a"], {"a": 1}, "y" * 100_000])
def test_a_piece_of_a_size_the_server_names_is_refused(hostile: Hostile, piece: Any) -> None:
    hostile.behaviour.piece = piece
    eng = RemoteEngine(hostile.url)
    t0 = time.monotonic()
    with pytest.raises(ServerError) as info:
        eng.detokenize([char_id("q")])
    assert time.monotonic() - t0 < 5  # refused, not allocated
    assert "piece" in one_sentence(info.value)


def test_an_endless_answer_is_cut_off_not_kept(hostile: Hostile) -> None:
    hostile.behaviour.endless_props = True
    t0 = time.monotonic()
    with pytest.raises(ServerError) as info:
        RemoteEngine(hostile.url)
    assert time.monotonic() - t0 < 20
    assert "more than 32 MiB" in one_sentence(info.value)


def test_more_tokens_than_asked_for_are_refused(hostile: Hostile) -> None:
    hostile.behaviour.tokens = [char_id("a")] * 5000
    eng = RemoteEngine(hostile.url)
    with pytest.raises(ServerError) as info:
        _generate(eng)
    assert "tokens" in one_sentence(info.value)


# -- 16: a server that does not answer is said, and the wait is bounded --------------------


def test_a_hung_completion_is_said_within_seconds_and_given_up(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remote, "ANSWER_WAIT", 8.0)
    hostile.behaviour.hang = 60.0
    notes: list[tuple[float, str]] = []
    eng = RemoteEngine(hostile.url, on_wait=lambda s: notes.append((time.monotonic(), s)))
    t0 = time.monotonic()
    with pytest.raises(ServerError) as info:
        _generate(eng)
    ended = time.monotonic() - t0
    assert notes, "nothing was said while the server did not answer"
    first = notes[0][0] - t0
    assert remote.NOTE_AFTER - 0.5 < first < remote.NOTE_AFTER + 3, first
    assert "not answered" in notes[0][1] and hostile.url in notes[0][1]
    assert info.value.kind == "timeout" and 7 < ended < 12, ended
    assert "8 s" in one_sentence(info.value)


def test_the_wait_is_the_server_timeout_setting(hostile: Hostile) -> None:
    """Through the composition root, as `ask --server` builds it (QWQ_EDGE_SERVER_TIMEOUT)."""
    from qwq_edge.runtime import load_engine
    from qwq_edge.settings import Settings

    hostile.behaviour.hang = 60.0
    eng = load_engine(Settings(server=hostile.url, server_timeout=3), on_wait=lambda s: None)
    t0 = time.monotonic()
    with pytest.raises(ServerError) as info:
        _generate(eng)  # type: ignore[arg-type]
    assert info.value.kind == "timeout" and time.monotonic() - t0 < 8
    assert "3 s" in one_sentence(info.value)


def test_cancel_still_ends_a_hung_completion_at_once(hostile: Hostile) -> None:
    hostile.behaviour.hang = 60.0
    eng = RemoteEngine(hostile.url)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    t0 = time.monotonic()
    gen = _generate(eng, cancel=cancel)
    assert gen.stop == "cancelled" and time.monotonic() - t0 < 3


def test_ask_on_a_hung_server_says_so_within_seconds(hostile: Hostile, isolated_home: Path) -> None:
    hostile.behaviour.hang = 120.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "qwq_edge", "ask", "--server", hostile.url,
         "--max-searches", "0", "--max-tokens", "20", "What is 2+2?"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(isolated_home),
    )  # fmt: skip
    t0 = time.monotonic()
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()  # the first thing it says
        took = time.monotonic() - t0
    finally:
        proc.kill()
        proc.wait()
    assert "not answered" in line and took < remote.NOTE_AFTER + 15, (took, line)


# -- 19: a password in the URL and a server key ------------------------------------------


def test_the_key_is_sent_as_a_bearer_even_with_netrc_credentials(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login someone password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    RemoteEngine(hostile.url, KEY)
    assert hostile.behaviour.headers
    assert all(h.get("Authorization") == f"Bearer {KEY}" for h in hostile.behaviour.headers)


def test_a_password_in_the_url_beside_a_key_is_refused_in_one_sentence(
    hostile: Hostile,
) -> None:
    url = hostile.url.replace("http://", f"http://user:{PASSWORD}@")
    with pytest.raises(ServerError) as info:
        RemoteEngine(url, KEY)
    message = one_sentence(info.value)
    assert "user:password" in message and "key" in message, message
    assert hostile.behaviour.headers == []  # refused before anything was sent


def test_a_password_in_the_url_alone_is_basic_auth(hostile: Hostile) -> None:
    url = hostile.url.replace("http://", f"http://user:{PASSWORD}@")
    RemoteEngine(url)
    assert all(h.get("Authorization", "").startswith("Basic ") for h in hostile.behaviour.headers)
