"""Continuing a session in a new process with the real model: the KV snapshot is restored,
only the new tokens are evaluated, and the continuation equals a process that never quit;
without a snapshot the journaled tokens are all read again."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.events import Event, FinalAnswer, Stats
from qwq_edge.runtime import load_engine, make_provider, run_turn
from qwq_edge.runtime.sources import make_reader
from qwq_edge.search.cache import SearchCache
from qwq_edge.settings import Settings
from tests.support.env import cli_env
from tests.support.tavily_server import TavilyServer

KEY = "tvly-TEST-SECRET-0123456789"
Q1 = "Who won the 2022 FIFA World Cup?"
Q2 = "Who scored in the final?"
# The web alone, and always searched (--refresh): a library holding earlier runs' results,
# or a cache answering a repeated query ("saved web result"), would change what the model
# reads, and this test compares continuations, not searches.
RUN = ["--min-searches", "1", "--seed", "0", "--temperature", "0", "--max-tokens", "60",
       "--n-ctx", "4096", "--sources", "web", "--refresh"]  # fmt: skip

pytestmark = pytest.mark.model


def _ask(home: Path, server: TavilyServer, *args: str) -> tuple[list[dict[str, Any]], str]:
    env = cli_env(home, QWQ_EDGE_TAVILY_URL=server.url, TAVILY_API_KEY=KEY)
    proc = subprocess.run(
        [sys.executable, "-m", "qwq_edge", "ask", "--json", *args, *RUN],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _answer(events: list[dict[str, Any]]) -> str:
    return str(next(e for e in events if e["type"] == "final_answer")["text"])


def _live(home: Path, server: TavilyServer) -> tuple[str, list[Stats]]:
    """Both questions in one process that never quits (the reference), in a home of its own:
    the library of the home the CLI used holds the results of its searches, and a second
    run there would find them beside the web's (other results, another answer)."""
    settings = Settings(
        n_ctx=4096, min_searches=1, max_tokens=60, tavily_api_key=KEY, tavily_url=server.url,
        sources="web", refresh=True,
    ).replace(seed=0, temperature=0.0)  # fmt: skip
    engine = load_engine(settings)
    try:
        provider = make_provider(settings, SearchCache(home / "live-cache.sqlite3"))
        # as `ask` builds it: with the reader, so the prompt offers `open` as the CLI's does
        agent = Agent(
            engine, provider, settings, today=date.today(), reader=make_reader(settings, provider)
        )
        run_turn(agent, Q1, lambda e: None)
        events: list[Event] = []
        run_turn(agent, Q2, events.append)
    finally:
        engine.close()
    final = next(e for e in events if isinstance(e, FinalAnswer))
    return final.text, [e for e in events if isinstance(e, Stats)]


def test_continue_in_a_new_process_is_exact_and_fast(
    tavily: TavilyServer, isolated_home: Path
) -> None:
    first, _ = _ask(isolated_home, tavily, Q1)
    sid = first[0]["session_id"]
    kv = isolated_home / "cache" / "kv"
    assert (kv / f"{sid}.kv").is_file()  # snapshotted after the turn

    second, err = _ask(isolated_home, tavily, "--continue", sid, Q2)
    assert "note:" not in err, err  # the snapshot was used: nothing to say
    assert second[0]["type"] == "question_asked"  # the same session goes on
    stats = [e for e in second if e["type"] == "stats"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QWQ_EDGE_HOME", str(isolated_home / "live"))
        live_answer, live_stats = _live(isolated_home / "live", tavily)
    # The restore left exactly what the live process had cached: the same tokens evaluated.
    assert stats[0]["tokens_reused"] == live_stats[0].tokens_reused > 100
    assert stats[0]["tokens_evaluated"] == live_stats[0].tokens_evaluated < 40
    assert _answer(second) == live_answer

    # No snapshot (deleted): a branch after turn 1 re-reads the tokens, and goes on the same.
    shutil.rmtree(kv)
    third, err = _ask(isolated_home, tavily, "--continue", sid, "--from-turn", "1", Q2)
    assert "no usable KV snapshot" in err and "re-reading its" in err
    stats = [e for e in third if e["type"] == "stats"]
    assert stats[0]["tokens_reused"] == 0
    # Every journaled token is read again, and the new ones: the context is the live one.
    whole = live_stats[0].tokens_reused + live_stats[0].tokens_evaluated
    assert stats[0]["tokens_evaluated"] == whole
    # Not the same answer token for token: a prefill of the whole context in one batch does
    # not round like the live process's token-by-token cache on every CPU (seen on an AMD
    # EPYC with AVX-512, where greedy decoding then diverged within 20 tokens).
    assert _answer(third)
