"""`open` end to end with the real Qwen2.5 test model: `ask --read-top 1` reads the page
behind the first result (real HTML over real HTTP) into the model's context, with the
sentence that answers, which the snippet lacks; the journal, replay and `qwq-edge open`
agree, offline."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.env import cli_env
from tests.support.page_server import PageServer
from tests.support.tavily_server import TavilyServer

KEY = "tvly-TEST-SECRET-0123456789"


@pytest.fixture
def site() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


def run(home: Path, tavily: TavilyServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(
        home, QWQ_EDGE_TAVILY_URL=tavily.url, TAVILY_API_KEY=KEY, QWQ_EDGE_OPEN_ALLOW_PRIVATE="1"
    )
    return subprocess.run(
        [sys.executable, "-m", "qwq_edge", *args],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_read_top_reads_the_page_and_the_answer_uses_it(
    tavily: TavilyServer, site: PageServer, isolated_home: Path
) -> None:
    url = site.url("/teasel.html")
    tavily.behaviour.results = [
        {"title": "Teasel — Plant Notes", "url": url, "score": 0.9,
         "content": "Teasel is the common name of the genus Dipsacus, flowering plants."},
    ]  # fmt: skip
    question = "In woollen mills, what was the rotating drum that held the teasel heads called?"
    proc = run(
        isolated_home, tavily, "ask", "--json", question, "--min-searches", "1",
        "--read-top", "1", "--seed", "0", "--max-tokens", "120", "--n-ctx", "4096",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types.index("tool_result") < types.index("page_opened") < types.index("final_answer")
    opened = next(e for e in events if e["type"] == "page_opened")
    assert opened["auto"] and opened["error"] is None and opened["source"]["n"] == 1
    read = " ".join(p["text"] for p in opened["passages"])
    assert "rotating drum called a gig" in read  # on the page, not in the snippet
    assert "gig" not in tavily.behaviour.results[0]["content"]
    # The resume after the search evaluated the page's passages with the results: the
    # model answered with the sentence in its context. (What the 0.5B test model makes of
    # it is another matter: it mostly ends its turn at once; see the README.)
    stats = [e for e in events if e["type"] == "stats"]
    call = next(s for s in stats if s["phase"] == "tool_call")
    resume = stats[stats.index(call) + 1]
    assert resume["tokens_evaluated"] > opened["tokens"] > 100
    assert events[-1]["type"] == "finished" and events[-1]["reason"] in ("eos", "max_tokens")
    assert site.hits["/teasel.html"] == 1

    # The journal replays it with no network, and `open` reads the kept copy offline.
    session = events[0]["session_id"]
    replay = run(isolated_home, tavily, "replay", session)
    assert replay.returncode == 0, replay.stderr
    assert "passages" in replay.stdout and "Teasel — Plant Notes" in replay.stdout
    offline = run(isolated_home, tavily, "open", "1", "--offline", "--json")
    assert offline.returncode == 0, offline.stderr
    kept = json.loads(offline.stdout)
    assert kept["cached"] and kept["origin"] == "page" and kept["source"]["n"] == 1
    assert kept["focus"] == question  # a number's focus is its session's question
    assert any("gig" in p["text"] for p in kept["passages"])
    assert site.hits["/teasel.html"] == 1  # offline: not fetched again
    assert KEY not in proc.stdout + replay.stdout + offline.stdout
