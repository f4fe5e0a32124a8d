"""ZIM archives searched through libzim's own indexes, on real archives built in tmp dirs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from libzim.reader import Archive  # type: ignore[import-untyped]
from libzim.search import Query, Searcher  # type: ignore[import-untyped]

from qwq_edge.errors import LibraryError
from qwq_edge.library.zim import SNIPPET_WORDS, ZimArchive, open_archive
from tests.support.zim import build_zim

QUESTION = "what were teasel heads used for"
FILLER = " ".join(f"word{i}" for i in range(120))  # pushes the match deep into a long passage

ARTICLES = [
    (
        "A/Teasel",
        "Teasel",
        "<p>Dipsacus is a genus of flowering plants in the honeysuckle family.</p>"
        "<h2>Cultivation</h2><p>Teasel grows in damp meadows and along roadsides.</p>"
        f"<h2>Uses</h2><p>{FILLER} The dried flower heads of fuller's teasel were used to "
        f"raise the nap on woollen cloth, a process called teasing. {FILLER}</p>",
    ),
    ("A/Heads_of_state", "Heads of state", "<p>Heads of state were used as figureheads.</p>"),
    (
        "A/Fullers_earth",
        "Fuller's earth",
        "<p>Fuller's earth is a clay used to clean wool before it is woven into cloth.</p>",
    ),
    ("A/Nap", "Nap", "<p>A nap is a short sleep taken during the day.</p>"),
    ("A/Wool", "Wool", "<p>Wool is the textile fibre obtained from sheep and goats.</p>"),
]
REDIRECTS = [("A/Dipsacus", "Dipsacus", "A/Teasel")]


def one_sentence(err: LibraryError, path: Path) -> str:
    """The message names the file and is one line with one sentence (no traceback)."""
    msg = str(err)
    assert path.name in msg
    assert "\n" not in msg and "Traceback" not in msg
    assert not re.search(r"[.!?]\s+[A-Z]", msg), msg
    return msg


@pytest.fixture(scope="module")
def wiki_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zim") / "wiki.zim"
    return build_zim(path, ARTICLES, name="wiki", redirects=REDIRECTS)


@pytest.fixture
def wiki(wiki_path: Path) -> ZimArchive:
    return open_archive(wiki_path)


def test_question_finds_the_passage_that_answers_it(wiki: ZimArchive, wiki_path: Path) -> None:
    # libzim alone ANDs every word of the question and finds nothing: the relaxation is ours
    raw = Searcher(Archive(wiki_path)).search(Query().set_query(QUESTION))
    assert list(raw.getResults(0, 10)) == []

    hits = wiki.search(QUESTION, limit=3)
    # "teasel heads" (the stopwords dropped) is tried before single words, and only the
    # teasel article has both: "Heads of state" is not padded in.
    assert [h.url for h in hits] == ["zim://wiki/A/Teasel"]
    top = hits[0]
    assert top.url == "zim://wiki/A/Teasel"
    assert top.origin == "zim"
    assert top.title == "Teasel › Uses"
    assert "raise the nap on woollen cloth" in top.content
    assert len(top.content.split()) <= SNIPPET_WORDS + 2  # trimmed around the match ("…")
    assert top.content.startswith("… ") and top.content.endswith(" …")
    assert top.score == 1.0  # both query words in the passage, first place


def test_hits_are_ranked_and_scored(wiki: ZimArchive) -> None:
    hits = wiki.search("sheep goats wool cloth", limit=5)
    assert len(hits) >= 3
    assert hits[0].url == "zim://wiki/A/Wool"  # three of the words; the others fewer
    assert all(h.score is not None and 0 < h.score <= 1 for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores)
    assert len({h.url for h in hits}) == len(hits)  # one hit per article


def test_keyword_query_is_used_as_written(wiki: ZimArchive) -> None:
    hits = wiki.search("nap sleep")
    assert [h.url for h in hits] == ["zim://wiki/A/Nap"]
    assert hits[0].content == "A nap is a short sleep taken during the day."
    assert hits[0].title == "Nap"  # a passage under the page's own h1 has no section


def test_words_that_never_co_occur_are_searched_one_by_one(
    wiki: ZimArchive, wiki_path: Path
) -> None:
    query = "teasel nap zebra"  # no article has zebra, so every AND finds nothing
    raw = Searcher(Archive(wiki_path)).search(Query().set_query(query))
    assert list(raw.getResults(0, 10)) == []
    hits = wiki.search(query, limit=5)
    urls = [h.url for h in hits]
    assert urls[0] == "zim://wiki/A/Teasel"  # the only article with two of the three words
    assert "zim://wiki/A/Nap" in urls
    assert hits[0].score is not None and hits[1].score is not None
    assert hits[0].score > hits[1].score


def test_libzim_has_no_or_operator(wiki_path: Path) -> None:
    # Why _relaxed searches word by word: OR is matched as a word, not an operator.
    searcher = Searcher(Archive(wiki_path))
    assert list(searcher.search(Query().set_query("wool")).getResults(0, 10))
    assert list(searcher.search(Query().set_query("teasel OR wool")).getResults(0, 10)) == []


def test_limit_and_empty_queries(wiki: ZimArchive) -> None:
    assert len(wiki.search("cloth wool", limit=1)) == 1
    assert wiki.search("", limit=5) == []
    assert wiki.search("?!", limit=5) == []
    assert wiki.search("teasel", limit=0) == []


def test_archive_without_fulltext_index_searches_titles(tmp_path: Path) -> None:
    path = build_zim(tmp_path / "titles.zim", ARTICLES, fulltext=False, name="titles")
    zim = open_archive(path, name="t")
    assert zim.has_fulltext is False
    hits = zim.search(QUESTION)
    assert hits[0].url == "zim://t/A/Teasel"
    assert "raise the nap" in hits[0].content
    assert zim.search("fuller's earth")[0].url == "zim://t/A/Fullers_earth"
    assert zim.search("sheep") == []  # only in a body, and bodies are not indexed here


def test_archive_attributes(wiki: ZimArchive, wiki_path: Path) -> None:
    assert wiki.name == "wiki"  # the file stem
    assert wiki.path == wiki_path
    assert wiki.entry_count == len(ARTICLES) + len(REDIRECTS)  # front-article redirects count
    assert wiki.has_fulltext is True
    assert open_archive(wiki_path, name="enwiki").name == "enwiki"


def test_article_returns_its_passages(wiki: ZimArchive) -> None:
    title, found = wiki.article("A/Teasel")
    assert title == "Teasel"
    headings = [p.heading for p in found]
    assert headings == ["Teasel", "Teasel › Cultivation", "Teasel › Uses"]
    assert "raise the nap on woollen cloth" in found[2].text
    assert {p.uri for p in found} == {"zim://wiki/A/Teasel"}
    assert wiki.article("A/Dipsacus") == (title, found)  # a redirect is followed


def test_article_missing_entry(wiki: ZimArchive) -> None:
    with pytest.raises(LibraryError, match="has no entry 'A/Nope'"):
        wiki.article("A/Nope")


def test_redirect_is_resolved_to_one_hit(tmp_path: Path) -> None:
    # The title index lists the redirect "Dipsacus": it comes back as its target, once.
    path = build_zim(tmp_path / "t.zim", ARTICLES, fulltext=False, redirects=REDIRECTS)
    zim = open_archive(path)
    assert [h.url for h in zim.search("Dipsacus")] == ["zim://t/A/Teasel"]
    assert [h.url for h in zim.search("teasel dipsacus")] == ["zim://t/A/Teasel"]


def test_truncated_archive(wiki_path: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.zim"
    shutil.copyfile(wiki_path, cut)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LibraryError) as err:
        open_archive(cut)
    msg = one_sentence(err.value, cut)
    assert msg.startswith(f"{cut} is not a readable ZIM archive (")


def test_random_bytes_are_not_an_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zim"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(LibraryError) as err:
        open_archive(junk)
    assert "not a readable ZIM archive" in one_sentence(err.value, junk)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    missing = tmp_path / "missing.zim"
    with pytest.raises(LibraryError) as err:
        open_archive(missing)
    assert "does not exist" in one_sentence(err.value, missing)
    with pytest.raises(LibraryError) as err:
        open_archive(tmp_path)
    assert "is a folder" in one_sentence(err.value, tmp_path)


def test_damaged_fulltext_index_fails_search_with_one_sentence(
    wiki_path: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad-index.zim"
    data = bytearray(wiki_path.read_bytes())
    found = [m.start() for m in re.finditer(b"Xapian Glass", data)]
    assert len(found) == 2  # the version files of the title and full-text indexes
    for at in found:
        data[at : at + 12] = b"X" * 12
    bad.write_bytes(bytes(data))
    zim = open_archive(bad)  # opening does not read the index (no full check on open)
    with pytest.raises(LibraryError) as err:
        zim.search("teasel")
    msg = one_sentence(err.value, bad)
    assert msg.startswith(f"the ZIM archive {bad} could not be searched (")
    assert capfd.readouterr() == ("", "")  # libzim's own report from C++ is kept off stderr


def test_without_libzim_the_install_hint(wiki_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for mod in ("libzim", "libzim.reader", "libzim.search", "libzim.suggestion"):
        monkeypatch.setitem(sys.modules, mod, None)  # makes `import libzim…` raise ImportError
    with pytest.raises(LibraryError) as err:
        open_archive(wiki_path)
    assert str(err.value) == (
        "reading ZIM archives needs the optional libzim package: pip install 'qwq-edge[zim]'"
    )


def test_module_imports_libzim_lazily() -> None:
    code = (
        "import sys; sys.modules['libzim'] = None\n"
        "import qwq_edge.library.zim\n"
        "sys.modules.pop('libzim')\n"
        "assert not any(m.startswith('libzim') for m in sys.modules), sorted(sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_concurrent_searches_match_serial_ones(wiki: ZimArchive) -> None:
    queries = [QUESTION, "nap sleep", "teasel nap zebra", "cloth wool"]
    expected = {q: wiki.search(q) for q in queries}
    seen: list[bool] = []

    def worker() -> None:
        for _ in range(15):
            seen.extend(wiki.search(q) == expected[q] for q in queries)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 4 * 15 * len(queries) and all(seen)


def test_closed_archive_says_so(wiki_path: Path) -> None:
    zim = open_archive(wiki_path)
    assert zim.search("teasel")
    zim.close()
    with pytest.raises(LibraryError) as err:
        zim.search("teasel")
    assert one_sentence(err.value, wiki_path).endswith("was closed")
