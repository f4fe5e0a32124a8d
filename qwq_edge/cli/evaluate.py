"""``qwq-edge eval``: answer a QA set once per arm (no retrieval, library, web, both) and
grade it; ``eval shipped`` runs the Orrowmere set the project ships over its own corpus
(added to the library first), ``eval compare RUN_A RUN_B`` compares two finished runs."""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import threading
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qwq_edge.cli.common import EXIT_INTERRUPTED, add_run_options, run_overrides
from qwq_edge.errors import ConfigError
from qwq_edge.evaluation.grading import GRADERS
from qwq_edge.text import printable

SHIPPED_NAMES = ("shipped", "orrowmere")
CORPUS = "orrowmere"


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="grade the answers on a QA set, with and without search")
    p.add_argument(
        "dataset", nargs="?",
        help="a SimpleQA .csv, FlashRAG .jsonl or HotpotQA .json; 'shipped' for the Orrowmere "
        "set; 'compare' to compare two runs",
    )  # fmt: skip
    p.add_argument("runs", nargs="*", help="with compare: the two run folders")
    p.add_argument(
        "--arms", default=None,
        help="comma-separated: none (no retrieval), library, web, auto (default none,library)",
    )  # fmt: skip
    p.add_argument("--limit", type=int, default=None, help="the first N questions only")
    p.add_argument("--shuffle", action="store_true", help="shuffle the questions (by --seed)")
    p.add_argument(
        "--grader", choices=GRADERS, default=None,
        help="exact, contains (a gold inside the answer: Search-R1's sub-EM; the default, "
        "since a chat model answers in sentences), f1 (>= 0.5), or model",
    )  # fmt: skip
    p.add_argument("--grader-model", help="a GGUF for --grader model (default: the answering one)")
    p.add_argument("--grader-server", help="a llama-server URL for --grader model")
    p.add_argument("--out", help="the run folder (default: evals/RUN under the data folder)")
    p.add_argument("--resume", metavar="RUN", help="go on with the run in this folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--trajectories", metavar="FILE",
        help="also write every answered session as a training trajectory (JSON lines, with "
        "its loss mask and its grade)",
    )  # fmt: skip
    add_run_options(p)
    p.set_defaults(handler=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    if args.dataset == "compare":
        return _compare(args.runs)
    if args.runs:
        raise ConfigError(f"eval takes one data set, not {len(args.runs) + 1} arguments")
    meta = _meta(args)
    return _run(args, meta)


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    """What the run is (kept in run.json so --resume needs nothing else)."""
    old: dict[str, Any] = {}
    if args.resume:
        path = Path(args.resume) / "run.json"
        if not path.is_file():
            raise ConfigError(f"{args.resume} holds no eval run (no run.json)")
        old = json.loads(path.read_text(encoding="utf-8"))
    dataset = args.dataset or old.get("dataset")
    if not dataset:
        raise ConfigError("give a data set: a .csv, .jsonl or .json file, or 'shipped'")
    return {
        "dataset": dataset,
        "arms": args.arms or old.get("arms") or "none,library",
        "grader": args.grader or old.get("grader") or "contains",
        "limit": args.limit if args.limit is not None else old.get("limit"),
        "shuffle": args.shuffle or bool(old.get("shuffle")),
        "seed": args.seed if args.seed is not None else old.get("seed"),
    }


def _run(args: argparse.Namespace, meta: dict[str, Any]) -> int:
    from qwq_edge import runtime
    from qwq_edge.agent.state import Controls
    from qwq_edge.evaluation.formats import SHIPPED, read_dataset
    from qwq_edge.paths import paths
    from qwq_edge.runtime.evaluation import parse_arms, run_eval

    arms = parse_arms(meta["arms"])
    shipped = meta["dataset"] in SHIPPED_NAMES
    items = read_dataset(SHIPPED if shipped else Path(meta["dataset"]))
    if meta["shuffle"]:
        random.Random(meta["seed"] if meta["seed"] not in (None, -1) else 0).shuffle(items)
    if meta["limit"] is not None:
        items = items[: max(0, meta["limit"])]
    if not items:
        raise ConfigError(f"{meta['dataset']} has no questions")
    settings = runtime.load_settings(run_overrides(args))
    if shipped and any(a != "none" for a in arms):
        _shipped_corpus()
    if args.resume:
        out = Path(args.resume)
    elif args.out:
        out = Path(args.out)
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = paths().data_dir / "evals" / stamp
    if not args.resume and (out / "results.jsonl").exists():
        raise ConfigError(f"{out} already holds a run; go on with it with --resume {out}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "run.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    engine = runtime.load_engine(settings)
    grade = _model_grader(args, settings, engine) if meta["grader"] == "model" else None
    journal = runtime.open_journal()
    controls = Controls()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda signum, frame: controls.cancel())
    total = len(items) * len(arms)
    progress = _Progress(total, arms)
    try:
        run = run_eval(
            settings, engine, items, arms, meta["grader"], out, resume=bool(args.resume),
            on_progress=progress, journal=journal, model_grade=grade, controls=controls,
            dataset=str(meta["dataset"]),
        )  # fmt: skip
        if args.trajectories:
            _trajectories(journal, run.results, Path(args.trajectories), engine)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        progress.end()
        journal.close()
    _print_summary(out, args.json)
    if run.interrupted:
        print(f"qwq-edge: stopped; go on with --resume {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _trajectories(journal: Any, results: list[Any], path: Path, vocab: Any) -> None:
    """Each answered session as a trajectory line, its grade and arm attached."""
    from qwq_edge.agent.trajectories import write_trajectories

    extra = {
        r.session_id: {"eval": {"run": r.run, "item": r.id, "arm": r.arm, "grade": r.grade,
                                "correct": r.correct, "golds": list(r.golds)}}
        for r in results if r.session_id
    }  # fmt: skip
    n = write_trajectories(journal, list(extra), path, extra, vocab=vocab)
    print(f"qwq-edge: {n} trajectories written to {path}", file=sys.stderr)


def _shipped_corpus() -> None:
    """The Orrowmere documents under the data folder, in the library as source 'orrowmere'."""
    from qwq_edge.bench.report_corpus import write_corpus
    from qwq_edge.library.index import Library
    from qwq_edge.paths import paths
    from qwq_edge.runtime.library import add_source

    library = Library(paths().library)
    try:
        if any(s.name == CORPUS and s.complete for s in library.sources()):
            return
        folder = write_corpus(paths().data_dir / "eval-corpus" / CORPUS)[0].parent
        print(f"qwq-edge: adding the Orrowmere corpus to the library ({folder})", file=sys.stderr)
        add_source(library, folder, CORPUS)
    finally:
        library.close()


def _model_grader(args: argparse.Namespace, settings: Any, engine: Any) -> Any:
    from qwq_edge import runtime
    from qwq_edge.runtime.grading import ModelGrader

    grader_engine = engine
    if args.grader_server:
        grader_engine = runtime.load_engine(replace(settings, server=args.grader_server))
    elif args.grader_model:
        grader_engine = runtime.load_engine(
            replace(settings, server=None), path=Path(args.grader_model)
        )
    side = ModelGrader(grader_engine, settings.sampling, reasoning=grader_engine.info.reasoning)
    return side.grade


class _Progress:
    """One line per question on stderr (one updating line on a terminal), with the running
    accuracy of each arm."""

    def __init__(self, total: int, arms: tuple[str, ...]) -> None:
        self.total, self.arms, self.count = total, arms, 0
        self.tty = sys.stderr.isatty()

    def __call__(self, result: Any, results: list[Any]) -> None:
        self.count = len(results)  # a resumed run counts what it had done
        parts = []
        for arm in self.arms:
            rs = [r for r in results if r.arm == arm]
            right = sum(r.correct for r in rs)
            parts.append(f"{arm} {right}/{len(rs)}" + (f" ({right / len(rs):.0%})" if rs else ""))
        mark = "right" if result.correct else "wrong"
        line = (
            f"[{self.count}/{self.total}] {result.arm} {result.id}: {mark}, "
            f"{result.seconds:.1f}s | " + "  ".join(parts)
        )
        line = printable(line)  # an item's id comes from the data set's file
        if self.tty:
            print(f"\r\x1b[K{line}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty and self.count:
            print(file=sys.stderr)


def _print_summary(out: Path, as_json: bool) -> None:
    text = (out / "summary.yaml").read_text(encoding="utf-8")
    if not as_json:
        print(text, end="")
        print(f"results: {out / 'results.jsonl'}")
        return
    from qwq_edge.runtime.evaluation import read_results

    print(json.dumps({"run": str(out), "summary": text, "results": len(read_results(out))}))


def _compare(runs: list[str]) -> int:
    from qwq_edge.evaluation.stats import wilson
    from qwq_edge.runtime.evaluation import comparison, read_results

    if len(runs) != 2:
        raise ConfigError("eval compare takes two run folders")
    a, b = (read_results(Path(r)) for r in runs)
    for name, rs in zip(runs, (a, b), strict=True):
        if not rs:
            raise ConfigError(f"{name} holds no eval results (results.jsonl)")
    arms = sorted({r.arm for r in a} & {r.arm for r in b})
    if not arms:
        raise ConfigError("the two runs share no arm")
    for arm in arms:
        ra = [r for r in a if r.arm == arm]
        rb = [r for r in b if r.arm == arm]
        c = comparison(ra, rb)
        lines = [f"arm {arm}: {c['paired_n']} questions answered by both"]
        for name, rs in zip(runs, (ra, rb), strict=True):
            ids = {r.id for r in (rb if rs is ra else ra)}
            both = [r for r in rs if r.id in ids]
            right = sum(r.correct for r in both)
            low, high = wilson(right, len(both))
            acc = right / len(both) if both else 0.0
            lines.append(
                f"  {printable(name)}: {right}/{len(both)} = {acc:.1%} (95% {low:.1%}–{high:.1%})"
            )
        lines.append(
            f"  right only in the first: {c['only_first']}, only in the second: "
            f"{c['only_second']}; McNemar exact p = {c['mcnemar_p']:.4g}"
        )
        print("\n".join(lines))
    return 0
