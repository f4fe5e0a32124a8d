"""Documents cut into passages: a few hundred words each, under the heading path they sit in.

Every reader (text, Markdown, HTML, a PDF page, a ZIM article, a cached web result) turns
its document into ``(heading path, paragraph)`` blocks; ``passages()`` packs those into
passages that never straddle a heading, so a hit can say where in the document it is.
HTML is read with the standard library's parser: the library needs text and headings, not
a DOM, and this keeps the core free of a parser dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

PASSAGE_WORDS = 200  # a passage is cut near this many words (a paragraph is not split below)
MAX_WORDS = 320  # ... and a longer paragraph is split into pieces of at most this many
# ... and of at most this many characters (text with few spaces: CJK, base64, a minified
# page): FTS5's snippet() is quadratic in a row's matches, so one huge row slows every
# search that touches it (issue 28).
MAX_CHARS = 4000
MAX_PASSAGES = 10_000  # a document is cut after this many passages (about 2M words)
SEP = " › "  # between the levels of a heading path

Block = tuple[str, str]  # (heading path, paragraph text)


@dataclass(frozen=True)
class Passage:
    title: str  # the document's title
    heading: str  # where in the document: "Usage › Options" ("" at the top)
    text: str
    uri: str  # what a citation opens: file:///ABS/PATH[#page=N], zim://ARCHIVE/PATH, https://…


def passages(
    title: str, uri: str, blocks: Iterable[Block], words: int = PASSAGE_WORDS
) -> list[Passage]:
    """Pack consecutive paragraphs under one heading into passages of about ``words`` words."""
    out: list[Passage] = []
    heading, count, chars = "", 0, 0
    buf: list[str] = []

    def flush() -> None:
        nonlocal buf, count, chars
        if buf:
            out.append(Passage(title, heading, " ".join(buf), uri))
        buf, count, chars = [], 0, 0

    for where, para in blocks:
        pieces = para.split()
        if not pieces:
            continue
        if where != heading:
            flush()
            heading = where
        for part in _parts(pieces):
            text = " ".join(part)
            if count and (count + len(part) > words or chars + len(text) + 1 > MAX_CHARS):
                flush()
            buf.append(text)
            count += len(part)
            chars += len(text) + 1
    flush()
    return out


def _parts(words: list[str]) -> Iterator[list[str]]:
    """A paragraph's words in pieces of at most ``MAX_WORDS`` words and ``MAX_CHARS``
    characters; a "word" longer than that is cut into slices."""
    part: list[str] = []
    chars = 0
    for word in words:
        for i in range(0, len(word), MAX_CHARS):
            piece = word[i : i + MAX_CHARS]
            if part and (len(part) >= MAX_WORDS or chars + len(piece) > MAX_CHARS):
                yield part
                part, chars = [], 0
            part.append(piece)
            chars += len(piece) + 1
    if part:
        yield part


def _push(path: list[tuple[int, str]], level: int, name: str) -> None:
    """A heading of ``level`` closes every open heading at its level or deeper."""
    while path and path[-1][0] >= level:
        path.pop()
    path.append((level, name))


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def text_blocks(text: str) -> list[Block]:
    """Plain text: paragraphs are separated by blank lines; there are no headings."""
    return [("", p) for p in re.split(r"\n\s*\n", text) if p.strip()]


def markdown_blocks(text: str) -> tuple[str, list[Block]]:
    """Markdown: ATX headings (``#`` … ``######``) make the heading path. Returns the first
    level-1 heading (the title, or "") and the blocks."""
    title = ""
    path: list[tuple[int, str]] = []  # (level, heading) from the top down
    out: list[Block] = []
    para: list[str] = []
    fenced = False

    def flush() -> None:
        if para:
            out.append((SEP.join(name for _, name in path), " ".join(para)))
            para.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        m = None if fenced else _MD_HEADING.match(line)
        if m:
            flush()
            level, name = len(m.group(1)), m.group(2)
            if level == 1 and not title:
                title = name
            _push(path, level, name)
        elif line.strip():
            para.append(line.strip())
        else:
            flush()
    flush()
    return title, out


_SKIP = {"script", "style", "noscript", "template", "svg", "nav", "footer", "head"}
_BREAK = {
    "p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "section", "article", "br",
    "blockquote", "pre", "dd", "dt", "dl", "figcaption", "main", "header", "aside",
}  # fmt: skip
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.blocks: list[Block] = []
        self._path: list[tuple[int, str]] = []
        self._text: list[str] = []
        self._skip = 0
        self._heading: int | None = None
        self._in_title = False

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        self._text.clear()
        if not text:
            return
        if self._heading is not None:
            _push(self._path, self._heading, text)
        else:
            self.blocks.append((SEP.join(name for _, name in self._path), text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADINGS:
            self._flush()
            self._heading = _HEADINGS[tag]
        elif tag in _BREAK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADINGS:
            self._flush()
            self._heading = None
        elif tag in _BREAK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._text.append(data)


def html_blocks(html: str) -> tuple[str, list[Block]]:
    """HTML: visible text by block element, under its h1–h6 path. Returns the ``<title>``
    (or the first h1, or "") and the blocks."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    parser._flush()
    title = " ".join(parser.title.split())
    if not title:
        title = next((b[0].split(SEP)[0] for b in parser.blocks if b[0]), "")
    return title, parser.blocks
