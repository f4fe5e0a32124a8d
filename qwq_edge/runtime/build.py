"""The composition root: the real engine, search providers, journal and agent, built from
settings. Every front end (CLI, TUI, bench) builds through here and nowhere else."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qwq_edge.agent.loop import Agent
from qwq_edge.engine.base import Engine
from qwq_edge.engine.llama import LlamaEngine
from qwq_edge.engine.remote import RemoteEngine
from qwq_edge.models import resolve
from qwq_edge.paths import Paths, paths
from qwq_edge.runtime.sources import make_provider, make_reader, provider_notices
from qwq_edge.search.base import SearchProvider
from qwq_edge.search.cache import SearchCache
from qwq_edge.settings import Settings, load
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.text import printable


def load_settings(overrides: dict[str, Any] | None = None, where: Paths | None = None) -> Settings:
    """Defaults < config file < environment < ``overrides``, then the catalog's
    recommendations for the chosen model wherever nothing was set."""
    return resolve.recommended(load(overrides, where), where)


def load_engine(
    settings: Settings,
    where: Paths | None = None,
    path: Path | None = None,
    *,
    log_path: Path | None = None,
    on_wait: Callable[[str], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> LlamaEngine | RemoteEngine:
    """Resolve, check and plan the model once, then load it as planned (``path``: this file
    instead of the one the settings name; ``log_path``: where llama.cpp's log goes). With
    ``server`` set, the model is the one that llama-server runs (``on_wait``: told while it
    is still loading; ``on_progress``: told how far a local load got, 0 to 1)."""
    if settings.server and path is None:
        return RemoteEngine(
            settings.server, settings.server_key, timeout=settings.server_timeout,
            on_wait=on_wait or _say,
        )  # fmt: skip
    p = where or paths()
    model = resolve.locate(settings, p, path)
    plan = resolve.plan(settings, model)
    engine = LlamaEngine(
        model, plan, threads=settings.threads, log_path=log_path or p.llama_log,
        progress=on_progress,
    )  # fmt: skip
    engine.speculation = settings.speculation != "off"
    return engine


def _say(note: str) -> None:
    print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)


def open_journal(where: Paths | None = None) -> Journal:
    return Journal((where or paths()).data_dir / "journal.sqlite3")


def say_notice(store: Journal | SearchCache | SearchProvider | None) -> None:
    """A store that set a corrupt file aside says so once (CLI commands); a provider says
    what is wrong with its sources (see ``provider_notices``)."""
    if isinstance(store, (Journal, SearchCache)):
        notes = [store.notice] if store.notice else []
    else:
        notes = provider_notices(store)
    for note in notes:  # a note may quote a file name or a ZIM's title
        print(f"qwq-edge: note: {printable(note)}", file=sys.stderr)


def recorder_for(journal: Journal, engine: Engine, session_id: str | None = None) -> Recorder:
    """The journal's consumer for a session on ``engine`` (``session_id``: continue one)."""
    info = engine.info
    path = Path(info.path)
    return Recorder(
        journal,
        model_path=path if path.is_file() else None,
        quant=info.quant,
        session_id=session_id,
    )


def build_agent(
    settings: Settings,
    engine: Engine | None = None,
    provider: SearchProvider | None = None,
    *,
    session_id: str | None = None,
) -> Agent:
    engine = engine or load_engine(settings)
    provider = provider or make_provider(settings)
    reader = make_reader(settings, provider)
    return Agent(engine, provider, settings, session_id=session_id, reader=reader)
