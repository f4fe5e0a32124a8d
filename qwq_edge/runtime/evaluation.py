"""``qwq-edge eval``: every question of a QA set answered once per arm (no retrieval, the
library, the web, both), each a journaled session of its own, graded, and written to
``results.jsonl`` as it finishes; ``summary.yaml`` holds the accuracy per arm with its
Wilson interval, McNemar's exact test for two arms, and medians per question.

A killed run loses at most the question in flight: ``resume`` skips the (item, arm) pairs
already in ``results.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qwq_edge import __version__
from qwq_edge.agent.state import Controls
from qwq_edge.engine.base import Engine
from qwq_edge.errors import ConfigError
from qwq_edge.evaluation.formats import Item
from qwq_edge.evaluation.grading import Grader, f1, grade, short_answer
from qwq_edge.evaluation.stats import mcnemar_exact, median, paired, wilson
from qwq_edge.events import Event, FinalAnswer, PageOpened, Stats, ToolResult
from qwq_edge.runtime.build import build_agent, recorder_for
from qwq_edge.runtime.sources import make_provider
from qwq_edge.runtime.turn import run_turn
from qwq_edge.search.base import SearchProvider
from qwq_edge.settings import Settings, source_set
from qwq_edge.store.journal import Journal

ARMS = ("none", "library", "web", "auto")
RESULTS = "results.jsonl"
SUMMARY = "summary.yaml"

ProviderFor = Callable[[Settings], SearchProvider]
ModelGrade = Callable[[Item, str], str]  # -> "correct", "incorrect" or "not_attempted"


@dataclass(frozen=True)
class Result:
    """One question answered by one arm: a line of ``results.jsonl``."""

    run: str
    id: str
    arm: str
    question: str
    golds: tuple[str, ...]
    prediction: str
    correct: bool
    grade: str  # correct / incorrect (word graders), or the grader model's verdict
    f1: float
    searches: int
    opens: int
    tokens_generated: int
    tokens_evaluated: int
    seconds: float
    session_id: str
    finish: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        data = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        data["golds"] = tuple(data.get("golds", ()))
        return cls(**data)


def parse_arms(text: str) -> tuple[str, ...]:
    arms = tuple(dict.fromkeys(a.strip().lower() for a in text.split(",") if a.strip()))
    bad = [a for a in arms if a not in ARMS]
    if bad or not arms:
        raise ConfigError(f"arms must be among {', '.join(ARMS)} (comma-separated), not {text!r}")
    return arms


def arm_settings(settings: Settings, arm: str) -> Settings:
    """``none``: no search at all; otherwise the ``sources`` setting of that name."""
    if arm == "none":
        return replace(settings, sources="library", max_searches=0, min_searches=0, read_top=0)
    return replace(settings, sources=arm)


def search_source(settings: Settings, arm: str) -> str:
    """What the arm searched, for the summary (the leaderboard's "search source")."""
    if arm == "none":
        return "none"
    names = sorted(source_set(arm_settings(settings, arm)))
    out = []
    for name in names:
        if name == "web":
            out.append(f"web ({settings.search}{', offline cache' if settings.offline else ''})")
        else:
            out.append(f"library ({settings.library_mode})")
    return " + ".join(out)


def read_results(out_dir: Path) -> list[Result]:
    path = out_dir / RESULTS
    if not path.is_file():
        return []
    results = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            results.append(Result.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError, KeyError):
            continue  # a line cut by a kill: that question runs again
    return results


class Tally:
    """The events of one question, counted."""

    def __init__(self) -> None:
        self.answer = ""
        self.searches = self.opens = self.generated = self.evaluated = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, FinalAnswer):
            self.answer = event.text
        elif isinstance(event, ToolResult):
            self.searches += 1
        elif isinstance(event, PageOpened):
            self.opens += 1
        elif isinstance(event, Stats):
            self.generated += event.tokens_generated
            self.evaluated += event.tokens_evaluated


@dataclass
class Run:
    """What a run did: its results (resumed ones included), and whether Ctrl+C ended it."""

    results: list[Result]
    interrupted: bool = False


def run_eval(
    settings: Settings,
    engine: Engine,
    items: Sequence[Item],
    arms: Sequence[str],
    grader: Grader,
    out_dir: Path,
    *,
    resume: bool = False,
    on_progress: Callable[[Result, list[Result]], None] | None = None,
    journal: Journal | None = None,
    provider_for: ProviderFor | None = None,
    model_grade: ModelGrade | None = None,
    controls: Controls | None = None,
    dataset: str = "",
) -> Run:
    """Answer every item with every arm; ``summary.yaml`` is written whatever happened."""
    if grader == "model" and model_grade is None:
        raise ConfigError("the model grader needs a grader model")
    out_dir.mkdir(parents=True, exist_ok=True)
    run_id = out_dir.name
    done = read_results(out_dir) if resume else []
    if not resume and (out_dir / RESULTS).exists():
        raise ConfigError(f"{out_dir} already holds a run; resume it with --resume {out_dir}")
    if resume:  # written again without a line a kill cut short
        lines = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in done)
        (out_dir / RESULTS).write_text(lines, encoding="utf-8")
    seen = {(r.id, r.arm) for r in done}
    controls = controls or Controls()
    providers: dict[str, SearchProvider] = {}
    run = Run(list(done))
    try:
        with (out_dir / RESULTS).open("a", encoding="utf-8") as out:
            for item in items:
                for arm in arms:
                    if (item.id, arm) in seen:
                        continue
                    s = arm_settings(settings, arm)
                    if arm not in providers:
                        providers[arm] = (provider_for or make_provider)(s)
                    result = _answer(
                        run_id, s, engine, item, arm, grader, providers[arm], journal,
                        model_grade, controls,
                    )  # fmt: skip
                    if controls.cancelled:
                        run.interrupted = True
                        return run
                    run.results.append(result)
                    out.write(json.dumps(asdict(result), ensure_ascii=False) + "\n")
                    out.flush()
                    if on_progress is not None:
                        on_progress(result, run.results)
    finally:
        write_summary(out_dir, settings, engine, arms, grader, run, dataset)
    return run


def _answer(
    run_id: str,
    settings: Settings,
    engine: Engine,
    item: Item,
    arm: str,
    grader: Grader,
    provider: SearchProvider,
    journal: Journal | None,
    model_grade: ModelGrade | None,
    controls: Controls,
) -> Result:
    agent = build_agent(settings, engine, provider)
    recorder = recorder_for(journal, engine) if journal is not None else None
    tally = Tally()
    started = time.perf_counter()
    finish = run_turn(agent, item.question, tally, controls=controls, recorder=recorder)
    seconds = time.perf_counter() - started
    answer = short_answer(tally.answer)
    if grader == "model" and model_grade is not None and not controls.cancelled:
        verdict = model_grade(item, tally.answer) if tally.answer.strip() else "not_attempted"
        correct = verdict == "correct"
    else:
        correct = bool(tally.answer.strip()) and grade(grader, tally.answer, item.answers)
        verdict = "correct" if correct else "incorrect"
    return Result(
        run=run_id, id=item.id, arm=arm, question=item.question, golds=item.answers,
        prediction=tally.answer, correct=correct, grade=verdict,
        f1=round(f1(answer, item.answers), 4), searches=tally.searches, opens=tally.opens,
        tokens_generated=tally.generated, tokens_evaluated=tally.evaluated,
        seconds=round(seconds, 3), session_id=agent.session_id, finish=finish,
    )  # fmt: skip


def arm_summary(results: Iterable[Result]) -> dict[str, Any]:
    rs = list(results)
    n, right = len(rs), sum(r.correct for r in rs)
    low, high = wilson(right, n)
    return {
        "n": n,
        "correct": right,
        "accuracy": round(right / n, 4) if n else 0.0,
        "interval_95": [round(low, 4), round(high, 4)],
        "median_seconds": round(median([r.seconds for r in rs]), 2),
        "median_tokens_generated": median([r.tokens_generated for r in rs]),
        "median_tokens_evaluated": median([r.tokens_evaluated for r in rs]),
        "median_searches": median([r.searches for r in rs]),
        "median_opens": median([r.opens for r in rs]),
        "mean_f1": round(sum(r.f1 for r in rs) / n, 4) if n else 0.0,
    }


def comparison(first: Sequence[Result], second: Sequence[Result]) -> dict[str, Any]:
    """McNemar's exact test over the items both answered."""
    n, b, c = paired({r.id: r.correct for r in first}, {r.id: r.correct for r in second})
    return {"paired_n": n, "only_first": b, "only_second": c, "mcnemar_p": mcnemar_exact(b, c)}


def write_summary(
    out_dir: Path,
    settings: Settings,
    engine: Engine,
    arms: Sequence[str],
    grader: str,
    run: Run,
    dataset: str = "",
) -> dict[str, Any]:
    info = engine.info
    by_arm = {arm: [r for r in run.results if r.arm == arm] for arm in arms}
    data: dict[str, Any] = {
        "run": out_dir.name,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software_version": __version__,
        "dataset": dataset,
        "model": Path(info.path).name,
        "quant": info.quant or "",
        "grader": grader,
        "complete": not run.interrupted,
        "arms": {
            arm: {"search_source": search_source(settings, arm), **arm_summary(rs)}
            for arm, rs in by_arm.items()
        },
    }
    if len(arms) == 2:
        data["comparison"] = {"arms": list(arms), **comparison(by_arm[arms[0]], by_arm[arms[1]])}
    (out_dir / SUMMARY).write_text(to_yaml(data), encoding="utf-8")
    return data


def to_yaml(data: Any, indent: int = 0) -> str:
    """A small YAML writer (mappings, lists of scalars, scalars as JSON, which YAML reads)."""
    pad = "  " * indent
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:\n{to_yaml(value, indent + 1)}")
        elif isinstance(value, list):
            lines.append(f"{pad}{key}: [{', '.join(json.dumps(v) for v in value)}]")
        else:
            lines.append(f"{pad}{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + ("\n" if indent == 0 else "")
