"""A session that opened a page re-runs with no network: the open reads the copy the
library kept (origin "page"), and the answer is the recorded one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.events import Event, PageOpened
from qwq_edge.runtime.sources import make_reader, open_library
from qwq_edge.runtime.turn import rerun_session
from qwq_edge.settings import Settings
from tests.agent.test_opening import OPEN_CALL, SEARCH, SiteSearch
from tests.support.page_server import PageServer
from tests.support.scripted_engine import ScriptedEngine

SCRIPT = [
    "<tool_call>", SEARCH % "teasel mills",
    "<tool_call>", OPEN_CALL % ("1", "drum"),
    "A gig [1].<|im_end|>",
]  # fmt: skip


@pytest.fixture
def site() -> Iterator[PageServer]:
    with PageServer() as server:
        yield server


def test_rerun_opens_the_kept_copy(site: PageServer) -> None:
    settings = Settings(open_allow_private=True)
    library = open_library()
    try:
        agent = Agent(
            ScriptedEngine(SCRIPT), SiteSearch(site), settings, today=date(2026, 12, 7),
            reader=make_reader(settings, library),
        )  # fmt: skip
        recorded = list(agent.ask("What held the teasel heads?"))
    finally:
        library.close()
    first = next(e for e in recorded if isinstance(e, PageOpened))
    assert first.error is None and not first.cached and first.origin == "web"
    fetched = dict(site.hits)

    seen: list[Event] = []
    (turn,) = rerun_session(recorded, ScriptedEngine(SCRIPT), None, on_event=seen.append)
    again = next(e for e in seen if isinstance(e, PageOpened))
    assert again.error is None and again.cached and again.origin == "page"
    assert [p.text for p in again.passages] == [p.text for p in first.passages]
    assert turn.identical and turn.rerun == "A gig [1]."
    assert site.hits == fetched  # not one request: the network is forbidden in a re-run
