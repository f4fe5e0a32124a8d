"""Corpora for the library bench and the tests: real Kiwix ZIM archives, raw-syntax PDFs,
deterministic made-up text (a seeded ``random.Random`` over syllables, so no figure depends
on what a model knows) and made-up facts with questions asked in other words.

libzim's ``Creator`` prints progress from C++ straight to file descriptor 1, even with
``config_verbose(False)``, so a ZIM build runs with fd 1 pointed at /dev/null; Python's
``sys.stdout`` redirection would not catch it (docs/architecture.md, "The library").
libzim is an optional extra, so it is imported inside ``build_zim`` only.

A PDF is written as raw PDF syntax (Helvetica, one content stream per page, an exact xref
table) rather than with a PDF library, so the bytes are the same on every run and nothing
depends on how some writer version lays out a file. pypdf reads its text back.
"""

from __future__ import annotations

import importlib
import os
import random
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from qwq_edge.library.index import STOPWORDS

# -- ZIM archives ---------------------------------------------------------------------------


@cache
def _article_class() -> Any:
    """A libzim ``Item`` subclass for one HTML article (made once libzim is imported)."""
    writer = importlib.import_module("libzim.writer")
    item: Any = writer.Item

    class Article(item):  # type: ignore[misc]
        def __init__(self, path: str, title: str, html: str) -> None:
            super().__init__()
            self._path, self._title, self._html = path, title, html

        def get_path(self) -> str:
            return self._path

        def get_title(self) -> str:
            return self._title

        def get_mimetype(self) -> str:
            return "text/html"  # only text/html items go into the full-text index

        def get_contentprovider(self) -> Any:
            return writer.StringProvider(self._html)

        def get_hints(self) -> dict[Any, int]:
            return {writer.Hint.FRONT_ARTICLE: True}  # an article, in the title index

    return Article


def page(title: str, body: str) -> str:
    """A whole HTML page around ``body`` (what mwoffliner writes, reduced)."""
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send fd 1 to /dev/null for the duration (C++ writes there directly)."""
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def build_zim(
    path: Path,
    articles: list[tuple[str, str, str]],
    *,
    fulltext: bool = True,
    name: str = "test",
    redirects: Sequence[tuple[str, str, str]] = (),
    compress: bool = True,
) -> Path:
    """Write ``articles`` ((path, title, html body), the body wrapped in a page) as a ZIM at
    ``path``, with a Xapian full-text index when ``fulltext`` and Kiwix's metadata.
    ``redirects`` are (path, title, target path). ``compress=False`` stores clusters
    uncompressed: zstd (at libzim's fixed, high level) is most of a big build's time, about
    50 s of 10k articles on 2 cores, while Kiwix's archives are compressed. Raises
    ``ImportError`` without libzim."""
    writer = importlib.import_module("libzim.writer")
    article = _article_class()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_stdout():
        creator = writer.Creator(path).config_indexing(fulltext, "eng").config_verbose(False)
        if not compress:
            creator.config_compression(writer.Compression.none)
        if articles:
            creator.set_mainpath(articles[0][0])
        with creator:
            for entry, title, body in articles:
                creator.add_item(article(entry, title, page(title, body)))
            for entry, title, target in redirects:
                creator.add_redirection(entry, title, target, {writer.Hint.FRONT_ARTICLE: True})
            for key, value in (
                ("Title", f"{name} test archive"),
                ("Language", "eng"),
                ("Creator", "qwq-edge tests"),
                ("Publisher", "qwq-edge"),
                ("Date", "2025-01-01"),
                ("Description", "An archive built by the qwq-edge test suite"),
                ("Name", name),
            ):
                creator.add_metadata(key, value)
    return path


# -- PDFs -----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(lines: Sequence[str]) -> bytes:
    """One page's content stream: a heading in 16 pt, then the lines in 11 pt."""
    ops = ["BT", "/F1 16 Tf", "72 760 Td", f"({_escape(lines[0])}) Tj", "/F1 11 Tf"]
    for line in lines[1:]:
        ops += ["0 -28 Td", f"({_escape(line)}) Tj"]
    ops.append("ET")
    return ("\n".join(ops) + "\n").encode("latin-1")


def pdf_bytes(pages: Sequence[Sequence[str]], title: str, producer: str = "qwq-edge") -> bytes:
    """A minimal, valid PDF 1.4: catalog, page tree, font, info, one page + stream each.
    ``pages``: each page's lines (the first is set as a heading). Latin-1 text only."""
    n = len(pages)
    # object numbers: 1 catalog, 2 pages, 3 font, 4 info, then (page, stream) pairs
    kids = " ".join(f"{5 + 2 * i} 0 R" for i in range(n))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Title ({_escape(title)}) /Producer ({_escape(producer)}) >>".encode("latin-1"),
    ]
    for i, lines in enumerate(pages):
        stream = _content(lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            f" /Resources << /Font << /F1 3 0 R >> >> /Contents {6 + 2 * i} 0 R >>".encode()
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for num, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{num} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"  # each entry is exactly 20 bytes, EOL included
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 4 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write_pdf(
    path: Path, pages: list[str], title: str = "A generated document", producer: str = "qwq-edge"
) -> Path:
    """Write a PDF whose page i shows ``pages[i]``, one line of text per line of the string
    (wrap long text first: ``textwrap.wrap``, about 90 characters fit a line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pdf_bytes([p.split("\n") for p in pages], title, producer))
    return path


# -- made-up text ---------------------------------------------------------------------------

_SOUNDS = "b d f g h k l m n p r s t v z br dr gr kr pl st th tr sk ch sh|a e i o u ai ea ou"
_ONSETS, _VOWELS = (part.split() for part in _SOUNDS.split("|"))
_CODAS = ("", "", "", "n", "r", "l", "s", "th", "nd", "rk", "st")
# English glue between the made-up content words: real text is about half function words,
# which FTS5 indexes too (they weigh on the index size) and queries drop.
_GLUE_TEXT = "the of and to in a was is for on by with as at from that it were which"
_GLUE = _GLUE_TEXT.split()


class Babble:
    """A seeded generator of made-up words in a Zipf distribution (a few words are very
    common, most are rare, as in real text), and of sentences, documents and questions.
    Ranks start at ``OFFSET`` (Zipf–Mandelbrot): these are the content words, the ones
    past the commonest English words, so the top one is in about one passage of eight."""

    OFFSET = 100

    def __init__(self, seed: int = 7, vocabulary: int = 20_000) -> None:
        self.rng = random.Random(seed)
        words: set[str] = set()
        while len(words) < vocabulary:
            word = self._word()
            if word not in STOPWORDS and len(word) > 3:
                words.add(word)
        self.words = sorted(words)
        self.rng.shuffle(self.words)  # rank i is the i-th most common word
        self._cum = list(accumulate(1.0 / (rank + self.OFFSET) for rank in range(vocabulary)))

    def _word(self) -> str:
        rng = self.rng
        stem = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(1, 4))]
        return "".join(stem) + rng.choice(_CODAS)

    def common(self, k: int) -> list[str]:
        """``k`` content words drawn by their Zipf frequency."""
        return self.rng.choices(self.words, cum_weights=self._cum, k=k)

    def rare(self) -> str:
        """One word from the long tail (past the 1,000 most common)."""
        return self.words[self.rng.randrange(1000, len(self.words))]

    def name(self) -> str:
        return self.rare().capitalize()

    def sentence(self) -> str:
        rng = self.rng
        words = self.common(rng.randint(5, 12))  # about half of them after a glue word:
        out = [f"{rng.choice(_GLUE)} {w}" if rng.random() < 0.5 else w for w in words]
        return " ".join(out).capitalize() + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 7)))

    def title(self) -> str:
        return " ".join(w.capitalize() for w in [self.name(), *self.common(1)])

    def document(self, paragraphs: int) -> tuple[str, list[str]]:
        return self.title(), [self.paragraph() for _ in range(paragraphs)]

    def question(self) -> str:
        """A question as a model would ask it: a frame of stopwords, a rare word (a name)
        and two or three words of everyday frequency."""
        frame = self.rng.choice(
            ("what is the {} of {} {}", "when did {} {} the {}", "who {} the {} in {}",
             "how does the {} {} {}", "which {} {} {} first")
        )  # fmt: skip
        words = [self.name(), *self.common(self.rng.randint(2, 3))]
        self.rng.shuffle(words)
        return frame.format(*words[:3]) + (f" {words[3]}" if len(words) > 3 else "") + "?"

    def pdf_pages(self, count: int, lines: int = 20) -> list[str]:
        """``count`` pages of text, each ``lines`` lines of at most 90 characters."""
        pages = []
        for _ in range(count):
            text: list[str] = []
            while len(text) < lines:
                text += textwrap.wrap(self.paragraph(), 90)
            pages.append("\n".join([self.title(), *text[: lines - 1]]))
        return pages


# -- retrieval: made-up facts, and questions asked in other words ------------------------

# (title, the fact as the document states it, a question asked in other words, a name the
# generated documents also use). Written by hand: the questions paraphrase, keeping only a
# name (and at most one other word) from the fact, as a reader who half remembers would ask.
FACTS: list[tuple[str, str, str, str]] = [
    ("The Corvath Span", "The span across the Corvath was drawn up by the engineer Maela Orsk, "
     "whose plans the town council accepted in 1841.",
     "Which engineer designed the bridge over the Corvath river?", "Corvath"),
    ("Tessary lantern", "The Tessary lantern was first shown to the public in 1763 by the "
     "glassblower Odo Fen.", "In what year was the Tessary lamp invented?", "Tessary"),
    ("Vell Harrow", "Vell Harrow grew from a trading post set up by the fur merchant Ansel "
     "Quorne around 1702.", "Who founded the town of Vell Harrow?", "Harrow"),
    ("Grimsalt belfry", "The Grimsalt belfry rises one hundred and twelve metres above the "
     "square.", "How tall is the Grimsalt tower?", "Grimsalt"),
    ("Liss Anmora", "Liss Anmora devoted most of her canvases to storm clouds over the salt "
     "flats.", "What did the painter Liss Anmora mostly paint?", "Anmora"),
    ("Settlement of Orrowmere", "The first colonists reached Orrowmere aboard the cog Bright "
     "Heron in 1588.", "Which ship carried the first settlers to Orrowmere island?",
     "Orrowmere"),
    ("Kelvish stew", "Cooks prepare Kelvish stew by simmering smoked eel with barley and sour "
     "plums.", "What ingredients go into Kelvish stew?", "Kelvish"),
    ("Tomas Veyle", "The pilot Tomas Veyle mapped the soundings of the Sunder Reach during the "
     "winter of 1655.", "Who was the navigator that charted the Sunder Reach?", "Sunder"),
    ("Pellick engine", "A single Pellick engine lifted about nine hundred litres each minute "
     "from the flooded galleries.", "How fast could the Pellick engine pump water?",
     "Pellick"),
    ("Lantern Fair of Ostrevel", "Every autumn Ostrevel holds the Lantern Fair once the last "
     "sheaves are brought in from the fields.",
     "Which celebration marks the close of the harvest in Ostrevel?", "Ostrevel"),
    ("Imre Callowan", "Imre Callowan, who later catalogued the southern comets, came into the "
     "world in the fishing village of Brisk Hollow.",
     "Where was the astronomer Imre Callowan born?", "Callowan"),
    ("Hollin organ", "The pipes of the Hollin organ were cast from a tin and copper alloy dug "
     "at Fennick.", "What material was the Hollin organ built from?", "Hollin"),
    ("Quarren in the border wars", "Quarren held out against the besiegers for forty-one "
     "days before the gates were opened.", "How long did the siege of Quarren last?",
     "Quarren"),
    ("Ada Stennet", "The weaver Ada Stennet built the first Marrow loom in her workshop in "
     "1794.", "Who invented the Marrow loom?", "Marrow"),
    ("Tallisk", "Most of the wealth of Tallisk comes from selling dried kelp to ports across "
     "the gulf.", "What is the main export of Tallisk?", "Tallisk"),
    ("Brenmoor line", "Trains began running on the Brenmoor line in the spring of 1866.",
     "When did the Brenmoor railway open?", "Brenmoor"),
    ("Audrenne", "Audrenne straddles the slow brown waters of the Misk, which divides the old "
     "quarter from the docks.", "Which river flows through the city of Audrenne?",
     "Audrenne"),
    ("Corra Dallin", "Corra Dallin spent thirty years researching the marsh fever that struck "
     "the delta villages.", "What disease did the physician Corra Dallin study?", "Dallin"),
    ("Saint Ober's church", "Seven bronze chimes are housed in the small church of Saint "
     "Ober.", "How many bells hang in the Saint Ober chapel?", "Ober"),
    ("Varga glacier crossing", "The crossing of the Varga glacier in 1903 was commanded by "
     "Captain Helle Norrsund.", "Who led the expedition that crossed the Varga ice field?",
     "Varga"),
]  # fmt: skip
# Around each fact: sentences any document of its kind might hold.
_FILLER = [
    "{0} is described in the county survey of the old coast.",
    "Local histories mention {0} many times, though the records are thin.",
    "Visitors still come to see what is left of {0} in the summer months.",
    "A small museum keeps letters and drawings connected with {0}.",
    "The regional archive holds several maps on which {0} is marked.",
    "Later writers repeated the story of {0} with small changes.",
]
# Other documents of the same kinds, in the questions' own words: what a real library holds
# next to the answer. {A} {P} {Q}: places, {N}: a person, {Y}: a year.
_KINDS = [
    ("{A} Bridge", "The {A} bridge crosses the {P} river south of {Q}. It was designed by the "
     "engineer {N} and opened in {Y}."),
    ("{A}", "{A} is a market town on the {P} river. It was founded in {Y} by settlers from "
     "{Q}, and its main export is wool."),
    ("{A} pump", "The {A} pump was invented by {N} in {Y}. It could raise water from the "
     "mines at {Q} faster than any earlier machine."),
    ("{N}", "{N} was a painter from {Q} who painted harbours and portraits, and studied in "
     "{P} until {Y}."),
    ("{N}", "{N} was a navigator who charted the coasts of {Q} in {Y} and later led an "
     "expedition across the {P} ice field."),
    ("{A} (ship)", "The ship {A} carried settlers and cattle to the island of {Q} in {Y}. "
     "She was wrecked off {P}."),
    ("{A} stew", "{A} stew is a dish from {Q} made from mutton, onions and barley."),
    ("{A} festival", "The {A} festival in {Q} celebrates the end of winter with fires and "
     "music; it was first held in {Y}."),
    ("Siege of {A}", "The siege of {A} lasted ninety days in {Y}, until an army from {Q} "
     "relieved the town."),
    ("{A} railway", "The {A} railway opened in {Y}, linking {Q} with the port of {P}."),
    ("{N}", "{N} was an astronomer born in {Q} in {Y}, who studied the moons of the outer "
     "planets."),
    ("{N}", "{N} was a physician in {Q} who studied the spread of disease among dock workers "
     "in {Y}."),
    ("{A} chapel", "The chapel of {A} in {Q} has three bells and a wooden tower built in {Y}."),
    ("{A} organ", "The organ of the {A} church in {Q} was built from oak and lead in {Y}."),
    ("{A} loom", "The {A} loom, a hand loom for narrow cloth, was invented in {Q} in {Y} by "
     "{N}."),
    ("{A} tower", "The {A} tower in {Q} is forty metres tall and was built in {Y} as a "
     "watchtower."),
]  # fmt: skip
ECHO = 0.25  # how often a generated document's {Q} is one of the facts' names


def retrieval_corpus(
    documents: int = 200, seed: int = 5
) -> tuple[list[tuple[str, list[str]]], list[tuple[str, int]]]:
    """``documents`` (title, paragraphs), the facts' documents among generated ones of the
    same kinds, and the questions, each with the index of the document that answers it."""
    babble = Babble(seed, vocabulary=2000)
    rng = babble.rng
    docs: list[tuple[str, list[str]]] = []
    for _ in range(documents - len(FACTS)):
        title, text = rng.choice(_KINDS)
        names = {
            "A": babble.name(),
            "P": babble.name(),
            "Q": rng.choice(FACTS)[3] if rng.random() < ECHO else babble.name(),
            "N": f"{babble.name()} {babble.name()}",
            "Y": str(rng.randint(1500, 1950)),
        }
        filler = rng.choice(_FILLER).format(names["A"])
        docs.append((title.format(**names), [text.format(**names), filler]))
    slots = sorted(rng.sample(range(documents), len(FACTS)))
    questions: list[tuple[str, int]] = []
    for slot, (title, fact, question, _) in zip(slots, FACTS, strict=True):
        before, after = rng.sample(_FILLER, 2)
        docs.insert(slot, (title, [before.format(title), f"{fact} {after.format(title)}"]))
        questions.append((question, slot))
    return docs, questions
