"""The session journal, its recorder and portable bundles (SQLite, stdlib ``sqlite3``)."""
