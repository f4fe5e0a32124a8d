"""Re-running a recorded session: same model (or another), settings, seeds and date, with
every search answered from the session's own results, then the cache — never the network."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from qwq_edge.agent.loop import Agent
from qwq_edge.errors import SearchError
from qwq_edge.events import Event, FinalAnswer, QuestionAsked, SessionStarted, Source, ToolResult
from qwq_edge.search.base import SearchProvider, SearchResponse
from qwq_edge.search.cache import normalize
from qwq_edge.settings import Sampling, Settings


class ReplaySearch:
    """Answers queries the session made from its recorded results; others go to ``fallback``
    (an offline cache) or get the offline answer."""

    name = "replay"

    def __init__(self, events: list[Event], fallback: SearchProvider | None = None) -> None:
        self.recorded: dict[str, ToolResult] = {}
        for e in events:
            if isinstance(e, ToolResult) and e.error is None:
                self.recorded.setdefault(normalize(e.query), e)
        self.fallback = fallback

    def unavailable(self) -> str | None:
        return None

    def search(self, query: str, *, max_results: int) -> SearchResponse:
        hit = self.recorded.get(normalize(query))
        if hit is not None:
            key = hit.sources[0].cache_key if hit.sources else ""
            fetched = hit.sources[0].fetched_at if hit.sources else 0.0
            return SearchResponse(
                query, hit.hits[:max_results], hit.provider, cached=True, key=key,
                fetched_at=fetched, cut=hit.cut,
            )  # fmt: skip
        if self.fallback is not None:
            return self.fallback.search(query, max_results=max_results)
        raise SearchError("offline: nothing is recorded or cached for this query", "offline")


@contextlib.contextmanager
def no_network() -> Iterator[None]:
    """Forbid outgoing connections (except loopback-free UNIX sockets) while re-running."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network access is forbidden during a re-run")

    saved = socket.socket.connect, socket.socket.connect_ex, socket.create_connection
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = saved  # type: ignore[method-assign]


def settings_from_record(recorded: dict[str, Any], **overrides: Any) -> Settings:
    known = {f.name for f in dataclasses.fields(Settings)}
    values = {k: v for k, v in recorded.items() if k in known and k != "sampling"}
    sampling_keys = {f.name for f in dataclasses.fields(Sampling)}
    sampling = {k: v for k, v in (recorded.get("sampling") or {}).items() if k in sampling_keys}
    values["sampling"] = Sampling(**sampling)
    # A session recorded before ``open`` existed had no such tool: re-run it without one,
    # so the prompt is the one it ran with.
    values.setdefault("max_opens", 0)
    return Settings(**values).replace(**{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class TurnComparison:
    question: str
    recorded: str
    rerun: str
    recorded_sources: tuple[Source, ...]
    rerun_sources: tuple[Source, ...]

    @property
    def identical(self) -> bool:
        return self.recorded == self.rerun


def recorded_turns(events: list[Event]) -> list[tuple[QuestionAsked, FinalAnswer | None]]:
    turns: list[tuple[QuestionAsked, FinalAnswer | None]] = []
    for e in events:
        if isinstance(e, QuestionAsked):
            turns.append((e, None))
        elif isinstance(e, FinalAnswer) and turns:
            turns[-1] = (turns[-1][0], e)
    return turns


def rerun(
    events: list[Event],
    agent_factory: Callable[[Settings, date, SearchProvider], Agent],
    fallback: SearchProvider | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> list[TurnComparison]:
    """Run every recorded question again. ``agent_factory(settings, today, provider)`` builds
    the Agent; searches the session did not make go to ``fallback`` (an offline cache);
    ``on_event`` sees the new events."""
    start = next((e for e in events if isinstance(e, SessionStarted)), None)
    if start is None:
        raise SearchError("this session has no start event; it cannot be re-run", "replay")
    today = date.fromtimestamp(start.t)
    results = []
    agent: Agent | None = None
    for question, final in recorded_turns(events):
        seed = question.seed if question.seed >= 0 else None
        if agent is None:
            settings = settings_from_record(start.settings, seed=seed)
            agent = agent_factory(settings, today, ReplaySearch(events, fallback))
        else:
            agent.settings = agent.settings.replace(seed=seed)
        new_final: FinalAnswer | None = None
        with no_network():
            for e in agent.ask(question.question):
                if on_event is not None:
                    on_event(e)
                if isinstance(e, FinalAnswer):
                    new_final = e
        results.append(
            TurnComparison(
                question.question,
                final.text if final else "",
                new_final.text if new_final else "",
                final.sources if final else (),
                new_final.sources if new_final else (),
            )
        )
    return results


def model_candidates(recorded: dict[str, Any], name: str) -> list[Path]:
    """Where the recorded model may be: its recorded path, then the usual folders by name."""
    from qwq_edge.paths import paths, test_models_dir

    out = []
    if recorded.get("model_path"):
        out.append(Path(recorded["model_path"]))
    out += [paths().models_dir / name, test_models_dir() / name]
    return out
