"""Faults found by the team's probe (issue 13) at the command line: values out of range,
a pipe closed early, credentials in the search URL, and the notes a question path says."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from qwq_edge import cli, runtime
from qwq_edge.agent.loop import Agent
from qwq_edge.errors import ConfigError
from qwq_edge.settings import Settings, load, redact_url
from qwq_edge.store.recorder import Recorder
from tests.support.env import cli_env
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--n-ctx", "-1"),
        ("--max-searches", "-1"),
        ("--max-tokens", "-3"),
        ("--threads", "-4"),
        ("--temperature", "-1"),
    ],
)
def test_out_of_range_flags_are_refused_in_one_line(
    flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.build_parser().parse_args(["ask", "q", flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err
    assert f"argument {flag}: must be at least" in err and f"not {value}" in err


def test_in_range_flags_still_parse() -> None:
    args = cli.build_parser().parse_args(["ask", "q", "--n-ctx", "0", "--gpu-layers", "-1"])
    assert (args.n_ctx, args.n_gpu_layers) == (0, -1)


def test_config_file_and_environment_values_get_the_same_check(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qwq_edge.paths import paths

    config = paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("max_searches = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_searches must be at least 0, not -1"):
        load()
    config.write_text("[sampling]\ntop_p = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top_p must be at most 1"):
        load()
    config.unlink()
    monkeypatch.setenv("QWQ_EDGE_N_CTX", "-5")
    with pytest.raises(ConfigError, match="QWQ_EDGE_N_CTX: n_ctx must be at least 0"):
        load()


def test_a_pipe_closed_early_ends_quietly(isolated_home: Path) -> None:
    journal = runtime.open_journal()
    agent = Agent(
        ScriptedEngine(["A long answer. " * 50 + "<|im_end|>"]),
        FakeSearch(),
        Settings(),
        today=date(2026, 11, 29),
    )
    runtime.run_turn(agent, "Anything?", lambda _: None, recorder=Recorder(journal))
    journal.close()
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written (`| head -c 0`)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "qwq_edge", "replay", agent.session_id, "--json"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=cli_env(isolated_home),
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.stderr == ""
    assert done.returncode == 1


def test_credentials_in_the_search_url_are_never_recorded_or_shown(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://user:PASS@127.0.0.1:9/search?api_key=SECRETKEY&depth=1"
    assert redact_url(url) == "http://***@127.0.0.1:9/search?api_key=***&depth=1"
    assert redact_url("https://api.tavily.com") == "https://api.tavily.com"
    public = Settings(tavily_url=url).public()
    assert "PASS" not in str(public) and "SECRETKEY" not in str(public)
    assert public["tavily_url"].startswith("http://***@127.0.0.1:9")
    monkeypatch.setenv("QWQ_EDGE_TAVILY_URL", url)
    cli.main(["doctor"])
    out = capsys.readouterr()
    assert "PASS" not in out.out + out.err and "SECRETKEY" not in out.out + out.err
    assert "tavily url: http://***@127.0.0.1:9" in out.out


def test_ask_says_a_corrupt_cache_was_set_aside_and_a_token_limit_is_a_note(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qwq_edge.paths import paths

    cache_file = paths().cache_dir / "search.sqlite3"
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_bytes(os.urandom(8192))

    def scripted(settings: Settings, *args: object, **kwargs: object) -> Agent:
        engine = ScriptedEngine(["A long answer that goes on and on. " * 20])
        return Agent(engine, runtime.make_provider(settings), settings, today=date(2026, 1, 1))

    monkeypatch.setattr(runtime, "build_agent", scripted)
    assert cli.main(["ask", "Anything?", "--max-tokens", "5", "--no-stats"]) == 0
    out = capsys.readouterr()
    assert "qwq-edge: note: the search cache at" in out.err and "moved to" in out.err
    assert "note: stopped at the per-question token limit (max_tokens)" in out.out
    assert "error:" not in out.out
    assert runtime.cache_of(runtime.make_provider(Settings())) is not None


def test_an_unreachable_network_is_said_once() -> None:
    import io

    from qwq_edge.cli.render import TextRenderer
    from qwq_edge.events import Notice, ToolResult

    message = "the network is unreachable: switched to offline mode, and nothing is cached"
    out = io.StringIO()
    render = TextRenderer(out, color=False)
    render(ToolResult(1, "tavily", "q", error=message, error_kind="went_offline"))
    render(Notice(message, kind="offline"))
    assert out.getvalue().count("the network is unreachable") == 1
    render(Notice("something else", kind="offline"))
    assert "note: something else" in out.getvalue()


ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b[8mhidden\x1b[0m\r\u202eevil"


def test_escape_sequences_in_results_never_reach_the_terminal_or_an_export(
    isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hostile result's title, URL and content, and a model that echoes them: the terminal
    and the Markdown export get text only; the journal keeps what was received."""
    import io

    from qwq_edge.cli.render import TextRenderer
    from qwq_edge.events import AnswerDelta, FinalAnswer, SearchHit, Source, ToolCall, ToolResult
    from qwq_edge.store.bundle import to_markdown
    from qwq_edge.store.journal import Journal

    hit = SearchHit(f"Title{ESCAPES}", f"https://x.test/{ESCAPES}", f"body{ESCAPES}")
    src = Source(1, hit.title, hit.url)
    events = [
        ToolCall(1, "web_search", {"query": f"q{ESCAPES}"}, raw="{}", inside_think=False),
        ToolResult(1, "tavily", "q", (hit,), (src,)),
        AnswerDelta(f"answer{ESCAPES} [1]"),
        FinalAnswer(f"answer{ESCAPES} [1]", (src,)),
    ]
    out = io.StringIO()
    render = TextRenderer(out, color=False)
    for e in events:
        render(e)
    shown = out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\u202e" not in shown
    assert "Title[2J]0;pwned[8mhidden[0mevil" in shown  # the text stays, harmless

    journal = Journal(isolated_home / "j.sqlite3")
    from qwq_edge.events import QuestionAsked, SessionStarted

    sid = "s1"
    journal.start(SessionStarted(sid, "q", "m", {}), model_size=None, quant=None)
    for e in [QuestionAsked(1, "q"), *events]:
        journal.append(sid, e)
    md = to_markdown(journal.session(sid), list(journal.events(sid)))
    assert "\x1b" not in md and "\u202e" not in md and "answer" in md
    kept = next(e for e in journal.events(sid) if isinstance(e, ToolResult))
    assert kept.hits[0].content == hit.content  # faithful to what was received


def test_a_killed_sessions_markdown_keeps_its_partial_thinking_and_answer(
    isolated_home: Path,
) -> None:
    from qwq_edge.events import AnswerDelta, QuestionAsked, SessionStarted, ThinkingDelta
    from qwq_edge.store.bundle import to_markdown
    from qwq_edge.store.journal import Journal

    journal = Journal(isolated_home / "j.sqlite3")
    journal.start(SessionStarted("k", "q", "m", {}), model_size=None, quant=None)
    for e in [
        QuestionAsked(1, "What is gold at?"),
        ThinkingDelta("Gold is quoted per troy ounce"),
        AnswerDelta("Gold trades near"),
    ]:  # then the process was killed: no final answer, no finish
        journal.append("k", e)
    md = to_markdown(journal.session("k"), list(journal.events("k")))
    assert "Gold is quoted per troy ounce" in md
    assert "Gold trades near" in md and "the answer was cut off here" in md


def test_a_question_too_long_for_the_context_says_what_and_which_flag() -> None:
    from qwq_edge.events import ErrorEvent

    a = Agent(ScriptedEngine(["x<|im_end|>"], n_ctx=1500), FakeSearch(), Settings())
    events = list(a.ask("long question " * 200))
    message = next(e for e in events if isinstance(e, ErrorEvent)).message
    assert "the prompt takes" in message and "answer_reserve" in message
    assert "--n-ctx" in message and "Ctrl+N" not in message
