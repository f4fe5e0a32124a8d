"""The local library: passages from cached web results, Kiwix ZIM archives and document
folders, in one SQLite FTS5 index, searched by the same tool as the web."""
