"""The runtime: builds the engine, providers, journal and agent from settings, and runs
turns. Front ends (``cli/``, ``tui/``) and the bench use it; it never renders."""

from qwq_edge.runtime.build import (
    build_agent,
    load_engine,
    load_settings,
    open_journal,
    recorder_for,
    say_notice,
)
from qwq_edge.runtime.continuing import (
    Continued,
    continue_session,
    open_snapshots,
    session_ref,
)
from qwq_edge.runtime.sources import (
    cache_of,
    can_search_web,
    embedding_model_path,
    index_imported,
    library_part,
    make_provider,
    offline_provider,
    open_cache,
    open_library,
    provider_notices,
    search_mode,
    web_part,
)
from qwq_edge.runtime.turn import (
    Consumer,
    foreground,
    rerun_session,
    run_in_foreground,
    run_turn,
    submit_turn,
)

__all__ = [
    "Consumer",
    "Continued",
    "build_agent",
    "cache_of",
    "can_search_web",
    "continue_session",
    "embedding_model_path",
    "foreground",
    "index_imported",
    "library_part",
    "load_engine",
    "load_settings",
    "make_provider",
    "offline_provider",
    "open_cache",
    "open_journal",
    "open_library",
    "open_snapshots",
    "provider_notices",
    "recorder_for",
    "rerun_session",
    "run_in_foreground",
    "run_turn",
    "say_notice",
    "search_mode",
    "session_ref",
    "submit_turn",
    "web_part",
]
