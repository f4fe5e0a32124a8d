"""The app's screens other than the main one (the settings dialog)."""

from qwq_edge.tui.screens.settings import SettingsScreen

__all__ = ["SettingsScreen"]
