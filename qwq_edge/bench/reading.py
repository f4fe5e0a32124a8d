"""The bench's reading section: how well the ``open`` tool reads real documentation pages.

On the corpus that ``scripts/fetch_reading_corpus.py`` caches (Sphinx, DocBook XSL and
SQLite's own pages, from Debian's documentation packages), and skipped with a note when it
is not there:

- extraction: each page's ground truth comes from its own structure (the generator's main
  container is main text; its navigation bars, sidebars, tables of contents and footers
  are furniture). Main kept = the share of the main text's 5-word shingles found in the
  extraction; furniture dropped = the share of furniture lines (link texts and the like,
  only those whose words do not also occur in the main text) absent from it; precision =
  the share of the extraction's shingles that are main text. Words are compared casefolded,
  letters and digits only, so Markdown markup and escapes do not count;
- focus: hand-written questions in other words, each with the sentence that answers it,
  split into a tuning half and a test half. Hit = the sentence's words, in order, are in the
  passages ``focus.select`` reads at the default budget, against the first passages of the
  page within the same budget (what ``select`` reads when nothing matches);
- time per open (``extract`` + ``select``) and the tokens it adds (``focus.estimate``).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.bench.report import Row
from qwq_edge.library.passages import SEP, Block, Passage, html_blocks
from qwq_edge.reading.extract import extract, html_main
from qwq_edge.reading.focus import estimate, select
from qwq_edge.reading.reader import Reader

BUDGET = 1500  # open_max_tokens' default
SHINGLE = 5
HALVES = ("tuning", "test")
Result = dict[str, Any]
_WORDS = re.compile(r"[^\W_]+")
_DROP = "//script|//style|//noscript|//template"

# site -> (its pages' URL base, the main container, the furniture): XPath on lxml.html
RULES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "python": ("https://docs.python.org/3.11/", "//div[@role='main']", (
        "//div[contains(concat(' ', @class, ' '), ' mobile-nav ')]", "//div[@class='related']",
        "//div[@class='sphinxsidebar']", "//div[@class='footer']")),
    "postgresql": ("https://www.postgresql.org/docs/15/", "//body", (
        "//div[@class='navheader']", "//div[@class='navfooter']", "//div[@class='toc']")),
    "sqlite": ("https://sqlite.org/", "//body", (
        "/html/body/div[@class='nosearch']", "//div[@class='fancy_toc']",
        "//p[.//a[@id='mtimelink']]")),
}  # fmt: skip


@dataclass(frozen=True)
class Question:
    page: str  # the manifest's "file"
    half: str  # "tuning" or "test"
    ask: str  # the focus, in other words than the answer's
    answer: str  # a sentence of the page, literally


def questions() -> list[Question]:
    """``reading_questions.json``, written before any ranking was run."""
    data = json.loads((Path(__file__).with_name("reading_questions.json")).read_text("utf-8"))
    return [Question(**q) for q in data["questions"]]


def progress(what: str) -> None:
    print(f"bench: reading: {what} …", file=sys.stderr, flush=True)


def corpus_dir() -> Path:
    """Where ``scripts/fetch_reading_corpus.py`` keeps the pages (outside the checkout)."""
    explicit = os.environ.get("QWQ_EDGE_READING_CORPUS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qwq-edge-test" / "reading-corpus"


def corpus(root: Path) -> list[dict[str, str]] | None:
    """The manifest's pages, each with its ``html`` read in; None when any is missing."""
    try:
        pages: list[dict[str, str]] = json.loads((root / "manifest.json").read_text("utf-8"))[
            "pages"
        ]
        return [{**p, "html": (root / p["file"]).read_bytes().decode("utf-8")} for p in pages]
    except (OSError, ValueError, KeyError):
        return None


# -- extraction against the page's own structure --------------------------------------------


def words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


def shingles(ws: Sequence[str]) -> set[tuple[str, ...]]:
    if len(ws) < SHINGLE:
        return {tuple(ws)} if ws else set()
    return {tuple(ws[i : i + SHINGLE]) for i in range(len(ws) - SHINGLE + 1)}


def _joined(ws: Sequence[str]) -> str:
    return f" {' '.join(ws)} "


def contains(text: str, sentence: str) -> bool:
    """``sentence``'s words, in order and together, are in ``text``'s."""
    return _joined(words(sentence)) in _joined(words(text))


@dataclass(frozen=True)
class Truth:
    main: list[str]  # the main text's words
    furniture: list[list[str]]  # furniture lines' words: only those not in the main text


def truth(html: str, site: str) -> Truth:
    """Main text and furniture by the generator's own markup (``RULES[site]``)."""
    import lxml.html  # type: ignore[import-untyped]  # lazy, as trafilatura is

    doc = lxml.html.fromstring(html.encode("utf-8"))
    _, main_path, furniture_paths = RULES[site]
    for e in doc.xpath(_DROP):
        e.drop_tree()
    lines: list[list[str]] = []
    for path in furniture_paths:
        for e in doc.xpath(path):
            lines += [words(piece) for piece in e.itertext()]
            e.drop_tree()
    main = words(" ".join(e.text_content() for e in doc.xpath(main_path)))
    inside = _joined(main)
    seen: set[str] = set()
    furniture = []
    for ws in lines:
        key = _joined(ws)
        if ws and key not in inside and key not in seen:
            seen.add(key)
            furniture.append(ws)
    return Truth(main, furniture)


def block_text(blocks: Sequence[Block]) -> str:
    """An extraction as text: each heading once, where it starts, then the paragraphs."""
    out, heading = [], ""
    for where, para in blocks:
        if where != heading and where:
            out.append(where.split(SEP)[-1])
        heading = where
        out.append(para)
    return "\n".join(out)


def score(t: Truth, blocks: Sequence[Block]) -> dict[str, float | None]:
    """Main kept, furniture dropped and precision of one extraction (None: nothing to
    count: a page with no furniture that its main text does not also say)."""
    got = words(block_text(blocks))
    main, ours = shingles(t.main), shingles(got)
    text = _joined(got)
    dropped = [_joined(ws) not in text for ws in t.furniture]
    return {
        "kept": len(main & ours) / len(main) if main else None,
        "dropped": sum(dropped) / len(dropped) if dropped else None,
        "precision": len(ours & main) / len(ours) if ours else 0.0,
        "words": len(got),
    }


EXTRACTORS: dict[str, Callable[[str, str], list[Block]]] = {
    "html_main (trafilatura, favor_recall)": lambda html, url: html_main(html, url)[1],
    "trafilatura's default": lambda html, url: html_main(html, url, favor_recall=False)[1],
    "stdlib html_blocks": lambda html, url: html_blocks(html)[1],
}


def extraction(pages: Sequence[dict[str, str]]) -> Result:
    """Every extractor on every page: per-page scores and the medians and means."""
    progress(f"extraction on {len(pages)} pages, {len(EXTRACTORS)} extractors")
    per_page = []
    for p in pages:
        url = RULES[p["site"]][0] + p["page"]
        t = truth(p["html"], p["site"])
        row: Result = {"file": p["file"], "site": p["site"], "main_words": len(t.main),
                       "furniture_lines": len(t.furniture)}  # fmt: skip
        for name, run in EXTRACTORS.items():
            row[name] = score(t, run(p["html"], url))
        per_page.append(row)
    out: Result = {"pages": per_page, "sites": sorted({p["site"] for p in pages})}
    for name in EXTRACTORS:
        out[name] = {}
        for key in ("kept", "dropped", "precision"):
            got = [(r["site"], r[name][key]) for r in per_page if r[name][key] is not None]
            xs = [x for _, x in got]
            by_site = {s: statistics.median(x for site, x in got if site == s)
                       for s in sorted({site for site, _ in got})}  # fmt: skip
            out[name][key] = {"median": statistics.median(xs), "mean": statistics.mean(xs),
                              "min": min(xs), "max": max(xs), "n": len(xs),
                              "by_site": by_site}  # fmt: skip
    return out


# -- focus, time and tokens per open ------------------------------------------------------


def _shown(p: Passage) -> str:
    return f"{p.heading}\n{p.text}" if p.heading else p.text


def focus(pages: Sequence[dict[str, str]], asked: Sequence[Question]) -> Result:
    """Each question opened as the tool opens a page (``extract`` then ``select``), timed;
    pages without a question are opened with their title as the focus, for the timing."""
    progress(f"focus: {len(asked)} questions, time per open on {len(pages)} pages")
    by_file = {p["file"]: p for p in pages}
    opens: list[tuple[dict[str, str], Question | None]] = [(by_file[q.page], q) for q in asked]
    opens += [(p, None) for p in pages if p["file"] not in {q.page for q in asked}]
    first = opens[0][0]
    extract(RULES[first["site"]][0], "text/html", first["html"].encode())  # imports, caches
    results, times, tokens = [], [], []
    for page, q in opens:
        url = RULES[page["site"]][0] + page["page"]
        body = page["html"].encode("utf-8")
        t0 = time.perf_counter()
        got = extract(url, "text/html", body)
        t1 = time.perf_counter()
        chosen = select(got.passages, q.ask if q else got.title, max_tokens=BUDGET)
        t2 = time.perf_counter()
        times.append({"extract_ms": (t1 - t0) * 1000, "select_ms": (t2 - t1) * 1000,
                      "ms": (t2 - t0) * 1000})  # fmt: skip
        tokens.append(sum(estimate(_shown(got.passages[i])) + 4 for i in chosen.indices))
        if q is None:
            continue
        top = select(got.passages, "", max_tokens=BUDGET)  # what is read when nothing matches
        texts = [p.text for p in got.passages]
        results.append({"page": q.page, "half": q.half, "ask": q.ask,
                        "in_page": contains(" ".join(texts), q.answer),
                        "hit": contains(" ".join(texts[i] for i in chosen.indices), q.answer),
                        "baseline": contains(" ".join(texts[i] for i in top.indices), q.answer),
                        "answer_at": [i for i, t in enumerate(texts) if contains(t, q.answer)],
                        "read": chosen.where(), "first_read": top.where()})  # fmt: skip
    out: Result = {"questions": results, "opens": len(opens), "times": times, "tokens": tokens}
    for half in HALVES:
        mine = [r for r in results if r["half"] == half]
        out[half] = {k: sum(r[k] for r in mine) for k in ("hit", "baseline", "in_page")}
        out[half]["n"] = len(mine)
    return out


def served(root: Path, pages: Sequence[dict[str, str]]) -> list[float]:
    """The whole open as the tool does it, per page, in ms: fetched over HTTP from a server
    on 127.0.0.1 (the real ``Reader``: bounded session, every hop checked), extracted and
    ranked."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    reader = Reader(None, timeout=20, max_bytes=8_000_000, allow_private=True)
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    out = []
    try:
        for page in pages:
            t0 = time.perf_counter()
            got = reader.read(base + page["file"])
            select(got.passages, got.title, max_tokens=BUDGET)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        httpd.shutdown()
        httpd.server_close()
    return out


def measure(root: Path | None = None) -> Result:
    root = root or corpus_dir()
    pages = corpus(root)
    if pages is None:
        return {"skipped": f"no corpus at {root}: run `python scripts/fetch_reading_corpus.py`"}
    t0 = time.perf_counter()
    packages = sorted({f"{p['package']} {p['version']}" for p in pages})
    out: Result = {"corpus": str(root), "pages": len(pages), "packages": packages}
    out["extraction"] = extraction(pages)
    out["focus"] = focus(pages, questions())
    out["served_ms"] = served(root, pages)
    out["seconds"] = time.perf_counter() - t0
    return out


def _pct(x: float) -> float:
    return 100 * x


def rows(results: Result) -> list[Row]:
    """The reading table; a single row saying why when the corpus is not there."""
    if "skipped" in results:
        return [Row("reading real pages", "open", None, note=f"skipped: {results['skipped']}")]
    out: list[Row] = []
    ext = results["extraction"]
    n = results["pages"]
    labels = {"kept": f"main text kept, {n} pages", "dropped": f"furniture dropped, {n} pages",
              "precision": f"extraction that is main text, {n} pages"}  # fmt: skip
    for key, label in labels.items():
        for name in EXTRACTORS:
            r = ext[name][key]
            sites = ", ".join(f"{s} {_pct(v):.0f}" for s, v in r["by_site"].items())
            note = f"mean {_pct(r['mean']):.1f}%; median by site: {sites}"
            out.append(Row(label, name, _pct(r["median"]), _pct(r["min"]), _pct(r["max"]), "%",
                           note=note))  # fmt: skip
    foc = results["focus"]
    for half in HALVES:
        h = foc[half]
        if not h["n"]:
            continue
        label = f"answer read at {BUDGET} tokens, {h['n']} {half} questions"
        base = _pct(h["baseline"] / h["n"])
        hit = _pct(h["hit"] / h["n"])
        out.append(Row(label, "focus.select", hit, unit="%", ratio=hit / base if base else None,
                       note=f"{h['hit']} of {h['n']}; answer in the extraction: "
                       f"{h['in_page']} of {h['n']}; ratio: ÷ first passages"))  # fmt: skip
        out.append(Row(label, "first passages", base, unit="%",
                       note=f"{h['baseline']} of {h['n']}"))  # fmt: skip
    ms = [t["ms"] for t in foc["times"]]
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[18] if len(ms) > 1 else ms[0]
    ex = statistics.median(t["extract_ms"] for t in foc["times"])
    sel = statistics.median(t["select_ms"] for t in foc["times"])
    note = f"p95 {p95:.0f} ms; median extract {ex:.0f} ms, select {sel:.1f} ms"
    out.append(Row(f"time per open, {foc['opens']} opens", "extract + select",
                   statistics.median(ms), min(ms), max(ms), "ms", note=note))  # fmt: skip
    whole = results.get("served_ms") or []
    if whole:
        out.append(Row(f"time per open, {len(whole)} opens", "fetch (loopback) + extract + select",
                       statistics.median(whole), min(whole), max(whole), "ms",
                       note="the real Reader, over HTTP from 127.0.0.1"))  # fmt: skip
    tok = foc["tokens"]
    out.append(Row(f"tokens added per open, {foc['opens']} opens", "focus.estimate",
                   statistics.median(tok), min(tok), max(tok), "tokens",
                   note=f"budget {BUDGET}; the page's header line not counted"))  # fmt: skip
    return out


def misses(results: Result) -> list[str]:
    """One line per question whose answer ``select`` did not read, for below the table."""
    out = []
    for q in results.get("focus", {}).get("questions", []):
        if not q["hit"]:
            where = (f"answer in passage {', '.join(str(i + 1) for i in q['answer_at'])}"
                     if q["in_page"] else "answer not in the extraction")  # fmt: skip
            out.append(f"{q['half']}: {q['ask']!r} ({q['page']}): {where}; read {q['read']}")
    return out


def section(quick: bool = False, root: Path | None = None) -> tuple[list[Row], Result]:
    """The whole section: its rows and the raw results (``quick`` measures the same)."""
    results = measure(root)
    return rows(results), results
