"""The library index: real SQLite FTS5, question-shaped queries, the title boost, removal,
a corrupt database set aside and rebuilt, and a SQLite without FTS5."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.errors import LibraryError
from qwq_edge.library import index as index_module
from qwq_edge.library.index import Document, Library, fts_query, terms
from qwq_edge.library.passages import markdown_blocks, passages


def _doc(key: str, text: str) -> Document:
    title, blocks = markdown_blocks(text)
    uri = f"file:///notes/{key}"
    return Document(
        key, uri, title, "file", passages(title, uri, blocks), mtime=1.0, size=len(text)
    )


TEASEL = """# Teasel

## Uses

Dried teasel heads were fixed to wooden frames by weavers, who drew them across woollen
cloth to raise the nap before shearing.

## Habitat

The plant grows on damp ground by rivers and on roadsides.
"""
DISTRACTORS = [
    ("weaving.md", "# Weaving\n\nA loom interlaces warp and weft threads to make cloth."),
    ("rivers.md", "# Rivers\n\nRivers carry water to the sea and shape damp valleys."),
    ("wool.md", "# Wool\n\nWool is sheared from sheep once a year, then washed and spun."),
]


@pytest.fixture
def library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "library.sqlite3")
    lib.add_source("notes", "folder", "/notes")
    lib.put("notes", [_doc("teasel.md", TEASEL)] + [_doc(k, t) for k, t in DISTRACTORS])
    return lib


def test_question_shaped_queries_are_relaxed() -> None:
    assert terms("What were teasel heads used for?") == ["teasel", "heads"]
    assert fts_query('say "hi" OR NEAR(x)') == '"say" OR "hi" OR "near" OR "x"'
    assert terms("the and of") == ["the", "and", "of"]  # nothing but stopwords: keep them


def test_a_question_finds_the_passage_that_answers_it(library: Library) -> None:
    hits = library.search("what were teasel heads used for", 3)
    assert hits[0].url == "file:///notes/teasel.md"
    assert "raise the nap" in hits[0].content
    assert hits[0].title == "Teasel › Uses"
    assert hits[0].origin == "file"
    assert 0 < (hits[0].score or 0) <= 1
    # one passage per source: the Habitat passage of the same file is not repeated
    assert len({h.url for h in hits}) == len(hits)


def test_a_title_match_outranks_a_body_match(library: Library) -> None:
    library.put("notes", [
        _doc("linen.md", "# Linen\n\nCloth woven from the fibres of flax, cooler than cotton."),
        _doc("flax.md", "# Flax\n\nA blue-flowered plant grown for its fibres and seeds."),
    ])  # fmt: skip
    assert library.search("flax", 5)[0].url == "file:///notes/flax.md"


def test_replacing_and_dropping_documents(library: Library) -> None:
    library.put("notes", [_doc("teasel.md", "# Teasel\n\nNow about thistles only.")])
    assert library.search("nap woollen cloth", 5)[0].url != "file:///notes/teasel.md"
    assert library.drop("notes", ["teasel.md", "missing.md"]) == 1
    assert all(h.url != "file:///notes/teasel.md" for h in library.search("teasel", 5))
    info = library.source("notes")
    assert (info.documents, info.passages) == (3, 3)


def test_removing_a_source_removes_its_passages(library: Library) -> None:
    assert library.remove_source("notes") == 4
    assert library.search("teasel", 5) == []
    with pytest.raises(LibraryError, match="no source named 'notes'"):
        library.source("notes")


def test_a_name_taken_by_another_path_is_refused(library: Library) -> None:
    with pytest.raises(LibraryError, match="choose another name with --name"):
        library.add_source("notes", "folder", "/elsewhere")


def test_a_corrupt_library_is_set_aside_and_rebuilt(tmp_path: Path, library: Library) -> None:
    library.close()
    db = tmp_path / "library.sqlite3"
    for side in ("-wal", "-shm"):
        (tmp_path / f"library.sqlite3{side}").unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[200:4000] = b"\xff" * 3800  # the schema page is garbage now
    db.write_bytes(bytes(data))
    again = Library(db)
    assert again.notice is not None and "library index" in again.notice
    assert "moved to library.sqlite3.bad-" in again.notice
    assert again.search("teasel", 5) == []  # rebuilt empty: reindexing fills it again
    again.put("notes", [_doc("teasel.md", TEASEL)])
    assert again.search("teasel heads", 5)[0].url == "file:///notes/teasel.md"
    assert list(tmp_path.glob("library.sqlite3.bad-*"))


def test_without_fts5_the_library_says_so_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real SQLite is asked for a module it does not have, as on a build without FTS5.
    monkeypatch.setattr(index_module, "FTS_MODULE", "fts5_not_compiled_in")
    assert index_module.fts_available() is False
    with pytest.raises(LibraryError) as err:
        Library(tmp_path / "library.sqlite3")
    message = str(err.value)
    assert "\n" not in message and "FTS5" in message and "python.org" in message
    assert not (tmp_path / "library.sqlite3").exists()
