"""A report's bibliography as BibTeX, RIS and CSL-JSON, built from what is known of each
source: its title and URL, where it was read from, when, and the author and date the page
itself states.

Every value comes from an untrusted page, so each is cleaned (escape sequences, control and
bidi characters gone, whitespace runs and newlines made one space) and then escaped for its
format: a title holding ``}``, ``@`` or a newline must neither end a BibTeX entry nor start
a RIS tag. In BibTeX, braces a title balances are written ``\\{``/``\\}``; a lone one becomes
``\\textbraceleft{}``/``\\textbraceright{}``, so the braces of the file stay balanced for
BibTeX itself, which counts them regardless of backslashes. URLs are written verbatim, with
only the characters no URL may hold (space, braces, backslash, quotes) percent-encoded
(and, in RIS, the ``;`` that separates URLs there).
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import unquote, urlsplit

from qwq_edge.text import printable

# Origins read as web pages (fetched now, or a stored copy of one); "file" and "zim" are
# documents of the local library.
WEB_LIKE = frozenset({"web", "cache", "pack", "page"})
_NOTES = {
    "cache": "Cached copy",
    "pack": "Offline pack",
    "page": "Stored copy",
    "zim": "Kiwix archive",
    "file": "Local document",
}
MAX_AUTHORS = 50
MAX_VALUE = 2000  # characters kept of one value (a title, an author list)

# ANSI/VT escape sequences whole (CSI, OSC, DCS/PM/APC strings, two-character escapes), so
# that "\x1b[31m" leaves nothing behind; printable() then takes every other control.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
)
_ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?!\d)")
_BIB_CHARS = {
    "\\": r"\textbackslash{}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_LIGATURE = re.compile(r"([-'`])(?=\1)")  # "--", "''", "``": TeX ligatures, kept as typed
_URL_UNSAFE = re.compile(r"""[\s"<>\\^`{|}]""")
_INITIALS = re.compile(r"^(?:[A-Z][a-z]?\.?[\s-]*)+$")
_NAME_SPLIT = re.compile(r"\s*;\s*|\s+and\s+|\s+&\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Reference:
    """One entry of the bibliography."""

    n: int  # the number the report cites it by, [n]
    title: str
    url: str  # http(s) URL, file:// URI of a library document, or zim://ARCHIVE/PATH
    origin: str  # "web", "cache", "pack", "zim", "file" or "page"
    accessed: float = 0.0  # unix time it was fetched or read (0: unknown)
    author: str = ""  # as the page states it ("" unknown)
    published: str = ""  # ISO "2024-03-05", "2024-03" or "2024" ("" unknown)
    site: str = ""  # the site's name; else the host, the ZIM archive or "Local library"


def reference(
    n: int,
    title: str,
    url: str,
    origin: str,
    *,
    accessed: float = 0.0,
    author: str = "",
    published: str = "",
    site: str = "",
) -> Reference:
    """A ``Reference`` with its values cleaned, its date made ISO (or dropped) and its site
    named: the one given, else the URL's host, the ZIM archive or the local library."""
    url = safe_url(url)
    return Reference(
        n, clean(title), url, origin, accessed=accessed, author=clean(author),
        published=iso_date(published), site=clean(site) or site_of(url),
    )  # fmt: skip


def clean(text: str) -> str:
    """``text`` safe for any format: escape sequences and control characters gone, every
    whitespace run (newlines too) one space, at most ``MAX_VALUE`` characters."""
    text = printable(_ESCAPES.sub("", text))
    return " ".join(text.split())[:MAX_VALUE]


def iso_date(text: str) -> str:
    """The ISO date at the start of ``text`` ("2024-03-05T10:00Z" gives "2024-03-05"),
    as precise as it is valid; "" when it is not a date."""
    m = _ISO_DATE.match(text.strip())
    if m is None:
        return ""
    year, month, day = m.group(1), m.group(2), m.group(3)
    if not 1 <= int(year) <= 9999:
        return ""
    if month is None or not 1 <= int(month) <= 12:
        return year
    if day is not None:
        try:
            date(int(year), int(month), int(day))
        except ValueError:
            return f"{year}-{month}"
        return f"{year}-{month}-{day}"
    return f"{year}-{month}"


def site_of(url: str) -> str:
    """The site a URL names: its host without ``www.``, the ZIM archive's name, or
    "Local library" for a ``file://`` URI."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "Local library"
    if scheme == "zim":
        return clean(unquote(url.split("://", 1)[1].partition("/")[0]))
    host = (parts.hostname or "") if scheme in ("http", "https") else ""
    return host.removeprefix("www.")


# -- shared pieces -------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """One author: a family and given name, or one literal name (an organisation)."""

    family: str = ""
    given: str = ""
    literal: str = ""


def names(author: str) -> list[Name]:
    """The authors in ``author`` as the page wrote them: "A. Smith, B. Jones",
    "Smith, A. and Jones, B.", "Smith, Alice", "Alice Smith; Bob Jones" or one name."""
    out: list[Name] = []
    for part in _NAME_SPLIT.split(clean(author)):
        pieces = [p.strip() for p in part.split(",") if p.strip()]
        if not pieces:
            continue
        # "Smith, A., Jones, B." or "Smith, Alice": family names without spaces, each
        # followed by given names that are initials or one word
        paired = len(pieces) % 2 == 0 and all(
            " " not in f and (" " not in g or _INITIALS.match(g))
            for f, g in zip(pieces[::2], pieces[1::2], strict=True)
        )
        if paired:
            out += [Name(family=f, given=g) for f, g in zip(pieces[::2], pieces[1::2], strict=True)]
        elif len(pieces) == 2 and not all(" " in p for p in pieces):  # "van Gogh, Vincent"
            out.append(Name(family=pieces[0], given=pieces[1]))
        else:
            out += [_written(p) for p in pieces]
    return out[:MAX_AUTHORS]


def _written(name: str) -> Name:
    """A name written "Given [von] Family"; one word is a literal name."""
    words = name.split()
    if len(words) < 2:
        return Name(literal=name)
    # BibTeX's rule: the family name starts at the first lowercase word after the first
    # ("Vincent van Gogh"), else it is the last word.
    start = next((i for i in range(1, len(words) - 1) if words[i][:1].islower()), len(words) - 1)
    return Name(family=" ".join(words[start:]), given=" ".join(words[:start]))


def _ref(ref: Reference) -> Reference:
    """``ref`` cleaned (a Reference may be built without ``reference``); empty title: URL."""
    url = safe_url(ref.url)
    title = clean(ref.title) or url
    site = clean(ref.site) or site_of(url)
    return replace(
        ref, title=title, url=url, author=clean(ref.author),
        published=iso_date(ref.published), site=site,
    )  # fmt: skip


def safe_url(url: str) -> str:
    """``url`` cleaned, with the characters no URL may hold percent-encoded."""
    url = printable(_ESCAPES.sub("", url)).strip()
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)


def _day(t: float) -> tuple[int, int, int] | None:
    if t <= 0:
        return None
    g = time.gmtime(t)
    return g.tm_year, g.tm_mon, g.tm_mday


def _stamp(day: tuple[int, int, int], sep: str) -> str:
    y, m, d = day
    return f"{y:04d}{sep}{m:02d}{sep}{d:02d}"


def _date_parts(published: str) -> list[int]:
    return [int(p) for p in published.split("-")] if published else []


def keys(refs: Sequence[Reference]) -> list[str]:
    """A stable, unique citation key per reference: the first author's family name, the
    year and the number (``smith2024ref3``), or ``ref3``; a repeat gets a letter."""
    out: list[str] = []
    seen: set[str] = set()
    for ref in refs:
        first = next(iter(names(ref.author)), None)
        who = (first.family or first.literal) if first is not None else ""
        slug = unicodedata.normalize("NFKD", who).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z]", "", slug.lower())[:20]
        base = f"{slug}{ref.published[:4]}ref{ref.n}" if slug else f"ref{ref.n}"
        key, i = base, 0
        while key in seen:
            i += 1
            key = f"{base}{_letters(i)}"
        seen.add(key)
        out.append(key)
    return out


def _letters(i: int) -> str:
    s = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


# -- BibTeX --------------------------------------------------------------------------------


def bib_escape(text: str) -> str:
    """``text`` for a braced BibTeX value: every special character escaped, the braces of
    the result balanced for BibTeX's own counting."""
    matched = _matched_braces(text)
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch in "{}":
            if i in matched:
                out.append("\\" + ch)
            else:
                out.append(r"\textbraceleft{}" if ch == "{" else r"\textbraceright{}")
        else:
            out.append(_BIB_CHARS.get(ch, ch))
    return _LIGATURE.sub(r"\1{}", "".join(out))


def _matched_braces(text: str) -> set[int]:
    """Positions of the braces of ``text`` that pair up."""
    stack: list[int] = []
    matched: set[int] = set()
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            matched.update((stack.pop(), i))
    return matched


def _bib_name(name: Name) -> str:
    if name.literal:
        return "{" + bib_escape(name.literal) + "}"
    family = bib_escape(name.family)
    family = "{" + family + "}" if " " in name.family else family
    # a comma in the given names would read as a "Jr" part
    return f"{family}, {bib_escape(name.given.replace(',', ' '))}"


def bibtex(refs: Sequence[Reference]) -> str:
    """The references as BibTeX (biblatex's ``@online``; ``@misc`` for library documents)."""
    entries: list[str] = []
    cleaned = [_ref(r) for r in refs]
    for key, ref in zip(keys(cleaned), cleaned, strict=True):
        web = ref.origin in WEB_LIKE
        note = _NOTES.get(ref.origin, "")
        fields: list[tuple[str, str]] = [("title", "{" + bib_escape(ref.title) + "}")]
        authors = names(ref.author)
        if authors:
            fields.append(("author", " and ".join(_bib_name(a) for a in authors)))
        if ref.published:
            fields += [("date", ref.published), ("year", ref.published[:4])]
        if web:
            fields += [("organization", bib_escape(ref.site))] if ref.site else []
            fields += [("note", note)] if note else []
        else:
            fields += [("howpublished", note)] if note else []
            fields += [("publisher", bib_escape(ref.site))] if ref.site else []
        fields.append(("url", ref.url))
        day = _day(ref.accessed)
        if day is not None:
            fields.append(("urldate", _stamp(day, "-")))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@{'online' if web else 'misc'}{{{key},\n{body}\n}}\n")
    return "\n".join(entries)


# -- RIS -----------------------------------------------------------------------------------


def ris(refs: Sequence[Reference]) -> str:
    """The references as RIS (``ELEC`` for web pages, ``GEN`` for library documents)."""
    lines: list[str] = []
    for ref in (_ref(r) for r in refs):
        lines.append("TY  - " + ("ELEC" if ref.origin in WEB_LIKE else "GEN"))
        lines.append(f"ID  - {ref.n}")
        lines.append(f"TI  - {ref.title}")
        for a in names(ref.author):
            lines.append(f"AU  - {a.literal or f'{a.family}, {a.given}'}")
        if ref.published:
            parts = ref.published.split("-")
            lines.append(f"PY  - {parts[0]}")
            lines.append(f"DA  - {'/'.join(parts)}")
        if ref.site:
            lines.append(f"PB  - {ref.site}")
        lines.append(f"UR  - {ref.url.replace(';', '%3B')}")  # ";" separates URLs in RIS
        day = _day(ref.accessed)
        if day is not None:
            lines.append(f"Y2  - {_stamp(day, '/')}")
        note = _NOTES.get(ref.origin, "")
        if note:
            lines.append(f"N1  - {note}")
        lines += ["ER  - ", ""]
    return "\n".join(lines)


# -- CSL-JSON ------------------------------------------------------------------------------


def csl_json(refs: Sequence[Reference]) -> str:
    """The references as a CSL-JSON array (``webpage``; ``document`` for library ones)."""
    items: list[dict[str, Any]] = []
    cleaned = [_ref(r) for r in refs]
    for key, ref in zip(keys(cleaned), cleaned, strict=True):
        item: dict[str, Any] = {
            "id": key,
            "type": "webpage" if ref.origin in WEB_LIKE else "document",
            "title": ref.title,
            "URL": ref.url,
        }
        authors = names(ref.author)
        if authors:
            item["author"] = [
                {"literal": a.literal} if a.literal else {"family": a.family, "given": a.given}
                for a in authors
            ]
        if ref.published:
            item["issued"] = {"date-parts": [_date_parts(ref.published)]}
        day = _day(ref.accessed)
        if day is not None:
            item["accessed"] = {"date-parts": [list(day)]}
        if ref.site:
            item["container-title"] = ref.site
        note = _NOTES.get(ref.origin, "")
        if note:
            item["note"] = note
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
