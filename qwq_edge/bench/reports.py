"""The bench's research report section: a real report (``qwq-edge research``'s phases, the
plan run as proposed, as ``--yes`` does) with the model on the made-up Orrowmere corpus
(``bench.report_corpus``) in a library of its own, offline, in a temporary home; then the
verifier on the planted claims (``bench.claims``) on the same model.

Measured: the sections written, the share of cited numbers that match a source (goal: all),
the verdicts per kind, seconds per section, the tokens evaluated to start a section on top
of the plan's KV against a re-prefill of the same prefix (``provenance.branch_figures``),
and the verifier's agreement with the planted labels. A few minutes on two cores, so
``bench --quick`` leaves it out; ``python -m qwq_edge.bench.reports`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qwq_edge.agent.citations import cited_numbers
from qwq_edge.agent.state import Controls
from qwq_edge.bench.claims import verifier_agreement
from qwq_edge.bench.report import Row, markdown
from qwq_edge.bench.report_corpus import TOPIC, write_corpus
from qwq_edge.events import Event, SectionStarted
from qwq_edge.library.index import Library
from qwq_edge.paths import paths, test_models_dir
from qwq_edge.research.document import Report, from_events
from qwq_edge.research.provenance import branch_figures
from qwq_edge.research.run import ReportOptions
from qwq_edge.runtime import research
from qwq_edge.runtime.build import load_engine, load_settings, open_journal
from qwq_edge.runtime.library import add_source

SECTIONS = 3
N_CTX = 4096
Result = dict[str, Any]


def progress(what: str) -> None:
    print(f"bench: report: {what} …", file=sys.stderr, flush=True)


@contextmanager
def _home(root: Path) -> Iterator[None]:
    """A QWQ_EDGE_HOME of its own (journal, library, snapshots), words-only search."""
    keys = ("QWQ_EDGE_HOME", "QWQ_EDGE_LIBRARY_MODE")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({"QWQ_EDGE_HOME": str(root), "QWQ_EDGE_LIBRARY_MODE": "bm25"})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def figures(report: Report) -> Result:
    """What the bench reports of one report, from its events."""
    planned = len(report.plan.sections) if report.plan else 0
    logs = [report.sections[i] for i in sorted(report.sections)]
    written = [log for log in logs if log.written is not None]
    cited = resolved = 0
    for log in written:
        assert log.written is not None
        nums = set(cited_numbers(log.written.text))
        cited += len(nums)
        resolved += len(nums & set(report.sources))
    verdicts = Counter(c.verdict for log in logs for c in log.checks)
    branch = [branch_figures(log) for log in logs if log.stats]
    return {
        "title": report.plan.title if report.plan else "",
        "planned": planned,
        "written": len(written),
        "empty": sum(not (log.written and log.written.text.strip()) for log in written),
        "cited": cited,
        "resolved": resolved,
        "verdicts": dict(sorted(verdicts.items())),
        "section_seconds": [log.ended - log.started for log in written],
        "start_evaluated": [b for b, _ in branch],
        "start_reprefill": [f for _, f in branch],
    }


def measure(model: Path, threads: int | None = None, sections: int = SECTIONS) -> Result:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qwq-edge-bench-report-") as tmp, _home(Path(tmp)):
        folder = write_corpus(Path(tmp) / "orrowmere")[0].parent
        library = Library(paths().library)
        try:
            add_source(library, folder, "orrowmere")
        finally:
            library.close()
        overrides = {"sources": "library", "offline": True, "seed": 0, "n_ctx": N_CTX,
                     "threads": threads, "read_top": 0}  # fmt: skip
        settings = load_settings(overrides)
        engine = load_engine(settings, path=model, log_path=Path(tmp) / "llama.log")
        journal = open_journal()
        try:
            session = research.start(settings, engine, journal, ReportOptions(sections=sections))
            r = session.research

            def told(event: Event) -> None:
                if isinstance(event, SectionStarted):
                    progress(f"section {event.index}: {event.title}")

            progress(f"the plan of a {sections}-section report on {TOPIC!r}")
            controls = Controls()
            research.run_phase(session, lambda c: r.propose(TOPIC, c), told, controls)
            research.run_phase(session, lambda _c: r.decide(r.plan), told, controls)
            research.run_phase(session, r.write, told, controls)
            research.finish(session, Path(tmp) / "out", told)
            out = figures(from_events(session.events))
            out["report_seconds"] = time.perf_counter() - t0
            progress("the verifier on the planted claims")
            agreement = verifier_agreement(engine)
        finally:
            engine.close()
            journal.close()
    out["agreement"] = agreement
    out["seconds"] = time.perf_counter() - t0
    return out


def _spread(xs: list[float]) -> tuple[float | None, float | None, float | None]:
    return (statistics.median(xs), min(xs), max(xs)) if xs else (None, None, None)


def rows(res: Result) -> list[Row]:
    loop = "qwq-edge research"
    verdicts = ", ".join(f"{k} {v}" for k, v in res["verdicts"].items()) or "none"
    out = [
        Row(f"report: sections written, {res['planned']} planned", loop, res["written"],
            unit="sections", note=f"{res['empty']} empty; {res['report_seconds']:.0f} s in all"),
        Row("report: cited numbers that match a source", loop,
            100 * res["resolved"] / res["cited"] if res["cited"] else None, unit="%",
            goal="100%" if res["cited"] else "", met=res["resolved"] == res["cited"],
            note=f"{res['resolved']} of {res['cited']} (distinct per section)"
            if res["cited"] else "nothing cited"),
        Row("report: claims checked", "verify.Judge", sum(res["verdicts"].values()),
            unit="claims", note=verdicts),
        Row("report: seconds per written section", loop, *_spread(res["section_seconds"]),
            unit="s"),
    ]  # fmt: skip
    branch, full = res["start_evaluated"], res["start_reprefill"]
    if branch:
        ratio = statistics.median(branch) / statistics.median(full) if any(full) else None
        out.append(Row("report: tokens evaluated to start a section", "branch from the plan's "
                       "KV", *_spread([float(x) for x in branch]), "tokens", ratio,
                       note="ratio: ÷ re-prefill"))  # fmt: skip
        out.append(Row("report: tokens evaluated to start a section", "re-prefill of the same "
                       "prefix", *_spread([float(x) for x in full]), "tokens"))  # fmt: skip
    a = res["agreement"]
    per = "; ".join(f"{k} {v['agree']}/{v['n']}" for k, v in a["per_label"].items())
    out.append(
        Row(f"verifier agreement, {a['n']} planted claims", "verify.Judge",
            100 * a["agreement"], unit="%",
            note=f"{a['agree']} of {a['n']}; {per}; partly {a['partly']} (counted as not "
            f"supported); {a['seconds']:.0f} s")
    )  # fmt: skip
    return out


def section(model: Path, threads: int | None = None) -> tuple[list[Row], Result]:
    results = measure(model, threads)
    return rows(results), results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m qwq_edge.bench.reports", description=__doc__)
    p.add_argument(
        "--model",
        type=Path,
        default=test_models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        help="GGUF (default: the Qwen2.5 0.5B test model)",
    )
    p.add_argument("--threads", type=int)
    p.add_argument("--json", type=Path, help="where to write the results")
    args = p.parse_args(argv)
    table, results = section(args.model, args.threads)
    print(markdown(table))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
