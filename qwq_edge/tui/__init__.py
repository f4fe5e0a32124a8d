"""The Textual front end (the only part of qwq-edge that imports Textual)."""
