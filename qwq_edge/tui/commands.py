"""The command palette's entries beyond Textual's own: a title, a line of help (with the key,
where there is one) and the app action it runs. Replay, re-run and continuing a report
have no key: they are only here."""

from __future__ import annotations

PALETTE: tuple[tuple[str, str, str], ...] = (
    ("New session", "Start a new conversation (Ctrl+N)", "new_session"),
    ("Cancel answer", "Stop the running answer (Esc)", "cancel"),
    ("Answer now", "No more searches (Ctrl+A)", "answer_now"),
    ("Toggle offline", "Searches from the cache only (Ctrl+O)", "toggle_offline"),
    ("Show/hide thinking", "Ctrl+T", "toggle_thinking"),
    ("Toggle sessions sidebar", "Ctrl+B", "toggle_sidebar"),
    ("Export session to Markdown", "Ctrl+E", "export"),
    ("Open a source", "Focus the last answer's sources: 1…9 or ↑/↓ and Enter", "focus_sources"),
    ("Settings", "Model, context, search budget, key, library (Ctrl+S)", "settings"),
    ("Research report…", "Plan, approve, then research each section (Ctrl+G)", "research_report"),
    ("Continue report…", "Research what the report on screen is missing", "continue_report"),
    ("Replay session", "Play the selected session at recorded pace", "replay"),
    ("Re-run session offline", "Run the model again, searches from disk", "rerun"),
)
