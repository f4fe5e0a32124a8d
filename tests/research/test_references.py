"""The bibliography read back by real parsers: bibtexparser (v2) with pylatexenc decoding
the LaTeX, rispy for RIS, json for CSL-JSON. Titles from hostile pages (braces, TeX
specials, ``@``, newlines, terminal escapes) come back as the same text, every format."""

from __future__ import annotations

import calendar
import json
from typing import Any

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts
from bibtexparser.model import Entry
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from qwq_edge.research.references import Reference, bibtex, csl_json, reference, ris

ACCESSED = calendar.timegm((2025, 1, 2, 12, 0, 0))

# (as the page gave it, as every format must give it back)
HOSTILE = [
    ("Braces {balanced} and a lone } here", "Braces {balanced} and a lone } here"),
    ("A lone { opening", "A lone { opening"),
    ("}{ reversed }}", "}{ reversed }}"),
    ("100% & $5 #1 under_score caret^ tilde~ back\\slash", None),
    ("@misc{evil, title={pwned}} trailing", None),
    (
        "Line one\nLine two\r\n@article{x,\n  title = {y}}",
        "Line one Line two @article{x, title = {y}}",
    ),
    ("Red \x1b[31malert\x1b[0m text\x1b]0;retitled\x07 end", "Red alert text end"),
    ("Dashes -- and --- and quotes '' `` kept", None),
    ("\\textbf{not bold} \\input{/etc/passwd} \\\\ \\end{document}", None),
    ("Café 東京 — naïve\u202e reversed", "Café 東京 — naïve reversed"),
    ("ER  - \nTY  - JOUR\nTI  - injected", "ER - TY - JOUR TI - injected"),
]


def _decoder() -> LatexNodes2Text:
    db = get_default_latex_context_db()
    db.add_context_category(
        "text-symbols",
        prepend=True,
        macros=[  # LaTeX's names for the ASCII characters (pylatexenc lacks or maps them)
            MacroTextSpec("textbraceleft", "{"),
            MacroTextSpec("textbraceright", "}"),
            MacroTextSpec("textasciicircum", "^"),
            MacroTextSpec("textasciitilde", "~"),
            MacroTextSpec("textbackslash", "\\"),
        ],
    )
    return LatexNodes2Text(latex_context=db, math_mode="verbatim")


DECODE = _decoder()


def parse_bib(text: str, *, names: bool = False) -> dict[str, Entry]:
    middleware = [SeparateCoAuthors(), SplitNameParts()] if names else []
    library = bibtexparser.parse_string(text, append_middleware=middleware)
    assert not library.failed_blocks
    assert [b for b in library.blocks if not isinstance(b, Entry)] == []
    return {e.key: e for e in library.entries}


def field(entry: Entry, name: str) -> Any:
    f = entry.fields_dict.get(name)
    return None if f is None else f.value


def text_of(value: str) -> str:
    return " ".join(DECODE.latex_to_text(value).split())


def sample() -> list[Reference]:
    return [
        reference(
            1, "Teasel — Plant Notes", "https://www.example.org/plants/teasel?x=1&y=a_b#top",
            "web", accessed=ACCESSED, author="Smith, A. and Jones, B.", published="2024-03-05",
        ),
        reference(2, "Cached", "https://cache.example/c", "cache", author="Alice Smith"),
        reference(3, "Pack", "https://pack.example/p", "pack", published="2024-03"),
        reference(4, "Page", "http://page.example:8080/p", "page", published="2023"),
        reference(
            5, "Teasel", "zim://wikipedia_en_all_maxi/A/Teasel_(plant)", "zim",
            accessed=ACCESSED, author="Reuters",
        ),
        reference(
            6, "Lighthouses", "file:///home/me/library/light%20houses.pdf", "file",
            author="Vincent van Gogh; Smith, Alice",
        ),
    ]  # fmt: skip


# -- BibTeX --------------------------------------------------------------------------------


@pytest.mark.parametrize(("title", "expected"), HOSTILE)
def test_a_hostile_title_parses_back_to_its_text_in_every_format(
    title: str, expected: str | None
) -> None:
    expected = expected or " ".join(title.split())
    ref = reference(7, title, "https://example.com/a%20b?q=1&r=2_3#frag", "web")
    other = reference(8, "After", "https://example.com/after", "web")
    entries = parse_bib(bibtex([ref, other]))
    assert set(entries) == {"ref7", "ref8"}  # nothing injected, nothing swallowed
    (first, second) = entries.values()
    title_value = field(first, "title")
    assert title_value.startswith("{") and title_value.endswith("}")  # capitals kept
    assert text_of(title_value) == expected
    assert field(first, "url") == "https://example.com/a%20b?q=1&r=2_3#frag"
    assert field(second, "title") == "{After}"
    (rec, after) = rispy.loads(ris([ref, other]))
    assert rec["title"] == expected and after["title"] == "After"
    assert rec["urls"] == ["https://example.com/a%20b?q=1&r=2_3#frag"]
    items = json.loads(csl_json([ref, other]))
    assert items[0]["title"] == expected and items[1]["title"] == "After"


def test_braces_balance_as_bibtex_itself_counts_them() -> None:
    """BibTeX (and btparse, biber's parser) count ``\\{`` as a brace: every entry must
    balance by raw count, never dropping below zero before its end."""
    refs = [reference(n, title, "https://e.x/", "web", author=title) for n, (title, _) in
            enumerate(HOSTILE)]  # fmt: skip
    for entry in bibtex(refs).split("\n\n"):
        depth = 0
        for i, ch in enumerate(entry.strip()):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth > 0 or i == len(entry.strip()) - 1 or i < entry.index("{"), entry
        assert depth == 0, entry


def test_entry_types_fields_and_dates() -> None:
    entries = parse_bib(bibtex(sample()))
    assert list(entries) == [
        "smith2024ref1",
        "smithref2",
        "ref3",
        "ref4",
        "reutersref5",
        "vangoghref6",
    ]
    kinds = [e.entry_type for e in entries.values()]
    assert kinds == ["online", "online", "online", "online", "misc", "misc"]
    web = entries["smith2024ref1"]
    assert field(web, "url") == "https://www.example.org/plants/teasel?x=1&y=a_b#top"
    assert field(web, "urldate") == "2025-01-02"
    assert field(web, "date") == "2024-03-05" and field(web, "year") == "2024"
    assert field(web, "organization") == "example.org"
    assert text_of(field(web, "title")) == "Teasel — Plant Notes"
    assert field(entries["ref3"], "date") == "2024-03" and field(entries["ref3"], "note")
    assert field(entries["ref4"], "organization") == "page.example"
    zim = entries["reutersref5"]
    assert field(zim, "url") == "zim://wikipedia_en_all_maxi/A/Teasel_(plant)"
    assert text_of(field(zim, "publisher")) == "wikipedia_en_all_maxi"
    assert field(zim, "howpublished") == "Kiwix archive"
    doc = entries["vangoghref6"]
    assert field(doc, "url") == "file:///home/me/library/light%20houses.pdf"
    assert field(doc, "publisher") == "Local library"
    assert field(doc, "howpublished") == "Local document"
    assert field(doc, "urldate") is None and field(doc, "date") is None


def test_authors_split_into_names() -> None:
    entries = parse_bib(bibtex(sample()), names=True)
    people = [(n.last, n.first) for n in field(entries["smith2024ref1"], "author")]
    assert people == [(["Smith"], ["A."]), (["Jones"], ["B."])]
    (alice,) = field(entries["smithref2"], "author")
    assert (alice.last, alice.first) == (["Smith"], ["Alice"])
    (org,) = field(entries["reutersref5"], "author")
    assert org.last == ["{Reuters}"] and org.first == []  # one literal name
    gogh, smith = field(entries["vangoghref6"], "author")
    assert (gogh.last, gogh.first) == (["{van Gogh}"], ["Vincent"])
    assert (smith.last, smith.first) == (["Smith"], ["Alice"])


def test_a_hostile_author_stays_one_field() -> None:
    ref = reference(1, "T", "https://e.x/", "web", author="Evil}, Name {x\n@misc{y,")
    (entry,) = parse_bib(bibtex([ref])).values()
    assert text_of(field(entry, "author")) == "Evil}, Name {x @misc{y"  # "Family, Given"
    (rec,) = rispy.loads(ris([ref]))
    assert rec["authors"] == ["Evil}, Name {x @misc{y"]


def test_keys_are_unique_across_thirty_entries() -> None:
    refs = [
        reference(n % 25, f"Title {n}", f"https://e.x/{n}", "web", author="Smith, A.",
                  published="2024")
        for n in range(30)
    ]  # fmt: skip
    bib_keys = list(parse_bib(bibtex(refs)))
    assert len(bib_keys) == len(set(bib_keys)) == 30
    csl_ids = [item["id"] for item in json.loads(csl_json(refs))]
    assert csl_ids == bib_keys
    assert bib_keys[:2] == ["smith2024ref0", "smith2024ref1"]
    assert bibtex(refs) == bibtex(refs)  # stable


def test_an_empty_title_is_the_url_and_a_reference_may_be_built_directly() -> None:
    ref = Reference(2, "", "https://www.example.com/x y", "web", published="2024-02-30")
    (entry,) = parse_bib(bibtex([ref])).values()
    assert text_of(field(entry, "title")) == "https://www.example.com/x%20y"
    assert field(entry, "date") == "2024-02"  # an impossible day dropped, the month kept
    assert field(entry, "organization") == "example.com"
    (item,) = json.loads(csl_json([ref]))
    assert item["title"] == item["URL"] == "https://www.example.com/x%20y"


# -- RIS -----------------------------------------------------------------------------------


def test_ris_records() -> None:
    records = rispy.loads(ris(sample()))
    assert [r["type_of_reference"] for r in records] == ["ELEC"] * 4 + ["GEN"] * 2
    assert [r["id"] for r in records] == ["1", "2", "3", "4", "5", "6"]
    web = records[0]
    assert web["title"] == "Teasel — Plant Notes"
    assert web["authors"] == ["Smith, A.", "Jones, B."]
    assert web["year"] == "2024" and web["date"] == "2024/03/05"
    assert web["access_date"] == "2025/01/02"
    assert web["publisher"] == "example.org"
    assert web["urls"] == ["https://www.example.org/plants/teasel?x=1&y=a_b#top"]
    assert "notes" not in web
    assert records[2]["date"] == "2024/03" and records[2]["notes"] == ["Offline pack"]
    zim = records[4]
    assert zim["urls"] == ["zim://wikipedia_en_all_maxi/A/Teasel_(plant)"]
    assert zim["notes"] == ["Kiwix archive"] and zim["authors"] == ["Reuters"]
    assert zim["publisher"] == "wikipedia_en_all_maxi"
    doc = records[5]
    assert doc["notes"] == ["Local document"] and doc["publisher"] == "Local library"
    assert doc["authors"] == ["van Gogh, Vincent", "Smith, Alice"]


def test_a_semicolon_in_a_url_does_not_split_it_in_ris() -> None:
    ref = reference(1, "T", "https://e.x/p;v=1?a=1;b=2", "web")
    (rec,) = rispy.loads(ris([ref]))
    assert rec["urls"] == ["https://e.x/p%3Bv=1?a=1%3Bb=2"]
    (entry,) = parse_bib(bibtex([ref])).values()
    assert field(entry, "url") == "https://e.x/p;v=1?a=1;b=2"


# -- CSL-JSON ------------------------------------------------------------------------------


def test_csl_json_items() -> None:
    text = csl_json(sample())
    assert "Plant Notes" in text and "\\u" not in text  # ensure_ascii=False
    items = json.loads(text)
    assert [i["type"] for i in items] == ["webpage"] * 4 + ["document"] * 2
    web = items[0]
    assert web["id"] == "smith2024ref1" and web["title"] == "Teasel — Plant Notes"
    assert web["URL"] == "https://www.example.org/plants/teasel?x=1&y=a_b#top"
    assert web["author"] == [{"family": "Smith", "given": "A."}, {"family": "Jones", "given": "B."}]
    assert web["issued"] == {"date-parts": [[2024, 3, 5]]}
    assert web["accessed"] == {"date-parts": [[2025, 1, 2]]}
    assert web["container-title"] == "example.org"
    assert items[2]["issued"] == {"date-parts": [[2024, 3]]}
    assert items[3]["issued"] == {"date-parts": [[2023]]} and "accessed" not in items[3]
    assert items[4]["author"] == [{"literal": "Reuters"}]
    assert items[4]["container-title"] == "wikipedia_en_all_maxi"
    assert items[5]["author"][0] == {"family": "van Gogh", "given": "Vincent"}
    assert items[5]["container-title"] == "Local library"


# -- what reference() fills in -------------------------------------------------------------


def test_reference_names_the_site_and_bounds_the_date() -> None:
    assert reference(1, "t", "https://www.bbc.co.uk/news", "web").site == "bbc.co.uk"
    assert reference(1, "t", "https://docs.python.org/3/", "web").site == "docs.python.org"
    assert reference(1, "t", "zim://wiki%20pedia/A/X", "zim").site == "wiki pedia"
    assert reference(1, "t", "file:///tmp/a.pdf", "file").site == "Local library"
    assert reference(1, "t", "https://x.org/", "web", site="The X").site == "The X"
    stamped = reference(1, "t", "https://x.org/", "web", published="2024-03-05T10:00:00Z")
    assert stamped.published == "2024-03-05"
    assert reference(1, "t", "https://x.org/", "web", published="March 2024").published == ""
    assert reference(1, "t", "https://x.org/", "web", published="2024-13-01").published == "2024"
    assert reference(1, "t", "https://x.org/", "web", published="20240305").published == ""
    hostile = reference(1, "a\x1b[2Jb", "https://x.org/\x1b[31m", "web", author="A\nB C")
    assert (hostile.title, hostile.url, hostile.author) == ("ab", "https://x.org/", "A B C")
