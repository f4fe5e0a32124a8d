"""Faults found by the team's probe (issue 28) at the command line: an imported bundle's
escape codes, a full disk, numbers llama.cpp cannot take, and seeds SQLite cannot hold."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qwq_edge import cli
from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    Finished,
    QuestionAsked,
    SessionStarted,
    to_dict,
)
from tests.support.env import cli_env, load_test_engine
from tests.support.fakes import FakeSearch
from tests.support.tavily_server import TavilyServer

SID = "20260101-120000-abc123"
# Clear the screen, retitle the window (OSC ... BEL), colour, and a C1 CSI.
EVIL = "\x1b[2J\x1b]0;pwned\x07\x1b[31m\x9b1m"


def bundle(tmp_path: Path, **session: Any) -> Path:
    """A bundle as another machine would write one, with ``session`` fields replaced."""
    events = [
        SessionStarted(SID, f"{EVIL}Who?", f"{EVIL}model.gguf", {}, t=1.0e9),
        QuestionAsked(1, f"{EVIL}Who?", seed=3, t=1.0e9),
        AnswerDelta(f"{EVIL}Nobody.", t=1.0e9),
        FinalAnswer(f"{EVIL}Nobody.", t=1.0e9),
        Finished("eos", t=1.0e9),
    ]
    row = {
        "id": SID, "created": 1.0e9, "title": f"{EVIL}Who?", "model": f"{EVIL}model.gguf",
        "model_size": 1, "model_sha256": None, "quant": f"{EVIL}Q4", "prompt_format": "seed",
        "settings": {}, "seed": 3, "status": "done", "answer": "Nobody.", "searches": 0,
        "parent": None, "parent_turn": None,
    }  # fmt: skip
    row.update(session)
    data = {
        "format": "qwq-edge-session", "version": 1, "session": row,
        "events": [to_dict(e) for e in events], "contexts": [], "searches": [],
    }  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def clean(text: str) -> bool:
    return not any(c in text for c in "\x1b\x07\x9b")


def test_an_imported_bundles_escape_codes_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sessions", "import", str(bundle(tmp_path))]) == 0
    assert cli.main(["sessions"]) == 0
    assert cli.main(["sessions", "show", SID]) == 0
    assert cli.main(["replay", SID]) == 0
    out = capsys.readouterr()
    assert clean(out.out) and clean(out.err), out
    assert f"imported {SID}" in out.out
    assert "[2J]0;pwned" in out.out and "Who?" in out.out  # the text stays, made harmless


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("id", f"{EVIL}x", "session id"),
        ("id", "../../etc/passwd", "session id"),
        ("id", "20260101-120000-ABC123", "session id"),  # the journal's ids are lower-case hex
        ("parent", f"{EVIL}x", "parent session id"),
        ("created", "yesterday", "created"),
        ("created", 1e300, "created"),  # a time no platform can show
        ("seed", 2**70, "seed"),  # more than SQLite's INTEGER holds
        ("status", EVIL, "status"),
        ("title", ["a", "list"], "title"),
    ],
)
def test_a_bundle_field_that_is_not_what_qwq_edge_writes_is_refused_in_one_sentence(
    field: str, value: Any, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sessions", "import", str(bundle(tmp_path, **{field: value}))]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and clean(err), err
    assert "is not a usable session bundle" in err and says in err
    assert "nothing was imported" in err
    assert cli.main(["sessions"]) == 0
    assert "no sessions yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    "damaged",
    [
        {"type": "answer_delta", "text": {"not": "text"}},  # the renderer would fail on it
        {"type": "final_answer"},  # no text: the reader cannot build it
        {"type": "no_such_event", "text": "x"},
        {"type": "answer_delta", "text": "x", "t": float("nan")},
        ["type", "answer_delta"],
    ],
)
def test_a_damaged_event_is_refused_before_anything_is_imported(
    damaged: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle(tmp_path)
    data = json.loads(path.read_text())
    data["events"][2] = damaged
    path.write_text(json.dumps(data))
    assert cli.main(["sessions", "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its event 3 is damaged" in err, err
    assert cli.main(["sessions"]) == 0
    assert "no sessions yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--threads", "100000"], "argument --threads: must be at most 512, not 100000"),
        (["--n-ctx", str(2**32)], "argument --n-ctx: must be at most 2147483647"),
        (["--gpu-layers", str(2**40)], "argument --gpu-layers: must be at most 2147483647"),
        (["--seed", str(2**70)], f"argument --seed: must be at most 2147483647, not {2**70}"),
        (["--temperature", "inf"], "argument --temperature: must be a finite number"),
    ],
)
def test_numbers_llama_cpp_or_sqlite_cannot_take_are_refused_at_parse_time(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["ask", "q", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


def test_the_largest_seed_still_parses() -> None:
    args = cli.build_parser().parse_args(["ask", "q", "--seed", str(2**31 - 1)])
    assert args.seed == 2**31 - 1


@pytest.mark.model
def test_threads_past_what_llama_cpp_survives_never_reach_it(isolated_home: Path) -> None:
    """Before: std::bad_alloc and SIGABRT while the model loaded."""
    proc = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "ask", "q", "--threads", "100000", "--n-ctx", "2048"],
        capture_output=True, text=True, env=cli_env(isolated_home), timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "must be at most 512" in proc.stderr


@pytest.mark.model
def test_more_threads_than_this_machine_has_is_one_sentence(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    too_many = (os.cpu_count() or 1) + 1
    if too_many > 512:
        pytest.skip("this machine has more CPUs than ggml takes threads")
    assert cli.main(["ask", "q", "--threads", str(too_many), "--n-ctx", "2048"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"threads must be 1 to {too_many - 1} (this machine's CPUs), not {too_many}" in err


@pytest.mark.model
def test_a_context_larger_than_the_model_and_memory_is_one_sentence(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["ask", "q", "--n-ctx", str(2**31 - 1)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lower n_ctx" in err, err


def _mount_full_tmpfs(where: Path, *, fill: bool = True) -> None:
    """A 2 MiB tmpfs at ``where``, filled to the last byte; skips where it cannot be made."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs (a real full filesystem) needs root and mount")
    where.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True, text=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    if fill:
        _fill(where / "filler")


def _fill(path: Path) -> None:
    with path.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def test_a_cache_the_disk_stops_taking_still_answers_the_search(tmp_path: Path) -> None:
    from qwq_edge.search.cache import CachedProvider, SearchCache

    mount = tmp_path / "full"
    _mount_full_tmpfs(mount, fill=False)
    try:
        cache = SearchCache(mount / "search.sqlite3")  # opened while there was room
        assert cache.notice is None
        _fill(mount / "filler")
        found = CachedProvider(FakeSearch(hits=2), cache, on_store=_index_fails)
        response = found.search("gold price " * 200, max_results=5)
        again = found.search("silver price " * 200, max_results=5)
        cache.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert len(response.hits) == len(again.hits) == 2 and not response.cached
    assert found.problem is not None and "search.sqlite3 cannot be" in found.problem
    (tmp_path / "a-file").write_text("")
    fresh = SearchCache(tmp_path / "a-file" / "search.sqlite3")  # cannot even be created
    assert fresh.notice is not None and "this run's searches are not cached" in fresh.notice
    fresh.put("k", response, {}, 1.0)  # it still works, in memory, for this run
    assert fresh.entry("k") is not None


def _index_fails(_response: object) -> None:
    raise sqlite3.OperationalError("database or disk is full")


@pytest.mark.model
def test_a_log_on_a_full_disk_never_stops_the_model_loading(
    qwen_path: Path, tmp_path: Path
) -> None:
    """The probe's failure: llama-cpp-python prints the system info while loading, into our
    log on the full disk, and the OSError took the load (and the answer) down."""
    from qwq_edge.engine import native_log

    mount = tmp_path / "full"
    _mount_full_tmpfs(mount)
    try:
        engine = load_test_engine(qwen_path, 1024, mount / "logs" / "llama.log")
        try:
            assert engine.detokenize(engine.tokenize("Hello", trusted=False)) == "Hello"
        finally:
            engine.close()
        problem = native_log.problem()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert problem is not None and "llama.log cannot be written" in problem, problem
    assert "No space left on device" in problem and native_log.problem() is None  # said once


@pytest.mark.model
def test_a_full_disk_still_shows_the_answer_and_says_what_was_not_kept(
    tavily: TavilyServer, tmp_path: Path
) -> None:
    """Before: `qwq-edge: OSError: [Errno 28] No space left on device` and no answer (the
    system-info print of llama-cpp-python failed into the log on the full disk)."""
    mount = tmp_path / "full"
    _mount_full_tmpfs(mount)
    try:
        home = mount / "home"  # the test model lives outside it
        env = cli_env(home, QWQ_EDGE_TAVILY_URL=tavily.url, TAVILY_API_KEY="tvly-TEST-KEY")
        proc = subprocess.run(
            [sys.executable, "-m", "qwq_edge", "ask", "--json", "Who won the 2022 World Cup?",
             "--min-searches", "1", "--seed", "0", "--max-tokens", "120", "--n-ctx", "2048"],
            capture_output=True, text=True, env=env, timeout=400,
        )  # fmt: skip
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    answer = next(e for e in events if e["type"] == "final_answer")
    assert answer["text"].strip()
    assert tavily.queries and any(e["type"] == "finished" for e in events)
    notes = proc.stderr.splitlines()
    assert notes and all(n.startswith("qwq-edge: note: ") for n in notes), proc.stderr
    said = proc.stderr + proc.stdout
    assert "journal" in said and "this answer is not recorded" in said
    assert "search cache" in said and "llama.cpp's log" in said
    assert "could not be saved for continuing" in said  # the KV snapshot: a notice event
    assert "Traceback" not in said and "OSError" not in said
