"""A research report end to end on a scripted engine: the plan under its grammar, the
sections branched from the plan's state, every claim judged, the files written from the
journal, a Ctrl+C mid-report leaving a partial report, and --continue finishing it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import Controls
from qwq_edge.events import (
    ClaimChecked,
    Event,
    ReportPlanned,
    SectionStarted,
    SectionWritten,
    Stats,
    ToolResult,
)
from qwq_edge.research.run import ReportOptions, Research
from qwq_edge.runtime.research import Session, finish, run_phase
from qwq_edge.settings import Settings
from qwq_edge.store.journal import Journal
from qwq_edge.store.recorder import Recorder
from qwq_edge.store.snapshots import Snapshots
from tests.support.fakes import FakeSearch
from tests.support.scripted_engine import ScriptedEngine

CALL = '{"action": "web_search", "action_input": {"query": "%s"}}'
PLAN = json.dumps(
    {
        "title": "Gold in 2026",
        "sections": [
            {"title": "Prices", "goal": "Where the price stands.", "questions": ["Price?"]},
            {"title": "Demand", "goal": "Who buys gold.", "questions": ["Buyers?"]},
            {"title": "Outlook", "goal": "What comes next.", "questions": ["Next?"]},
        ],
    }
)
SUPPORTED = '{"verdict": "supported", "passage": 1}'
UNSUPPORTED = '{"verdict": "unsupported", "passage": 0}'


def section(query: str, text: str) -> list[str]:
    return ["<tool_call>", CALL % query, text + "<|im_end|>"]


def research(tmp_path: Path, script: list[str]) -> tuple[Session, Journal]:
    journal = Journal(tmp_path / "j.sqlite3")
    engine = ScriptedEngine(script)
    agent = Agent(engine, FakeSearch(), Settings(), today=date(2026, 12, 8))
    snaps = Snapshots(tmp_path / "kv", 1 << 30)
    r = Research(agent, ReportOptions(sections=3), recorder=Recorder(journal), snapshots=snaps)
    return Session(r, journal, []), journal


def run_all(session: Session, out: list[Event], controls: Controls | None = None) -> None:
    r = session.research
    c = controls or Controls()
    run_phase(session, lambda ctl: r.propose("gold", ctl), out.append, c)
    run_phase(session, lambda ctl: r.decide(r.plan), out.append, c)
    run_phase(session, r.write, out.append, c)


def test_a_report_is_planned_researched_checked_and_written(tmp_path: Path) -> None:
    script = [
        PLAN,
        *section("gold price", "Gold costs 10 [1]. It rose [2]."),
        SUPPORTED,
        UNSUPPORTED,
        *section("gold demand", "Banks buy gold [3]."),
        SUPPORTED,
        *section("gold outlook", "Nobody knows [9]."),
    ]
    session, journal = research(tmp_path, script)
    events: list[Event] = []
    run_all(session, events)
    plans = [e for e in events if isinstance(e, ReportPlanned)]
    assert [p.status for p in plans] == ["proposed", "approved"]
    assert [s.title for s in plans[0].sections] == ["Prices", "Demand", "Outlook"]
    assert [e.index for e in events if isinstance(e, SectionStarted)] == [1, 2, 3]
    checks = [e for e in events if isinstance(e, ClaimChecked)]
    assert [(c.section, c.verdict) for c in checks] == [
        (1, "supported"), (1, "unsupported"), (2, "supported"), (3, "unmatched"),
    ]  # fmt: skip
    assert checks[0].source == 1 and "content 1.1" in checks[0].passage
    written = [e for e in events if isinstance(e, SectionWritten)]
    assert [w.index for w in written] == [1, 2, 3]
    assert written[2].unmatched == (9,)
    # Sources are numbered once for the report: section 2's search gave 3 and 4.
    assert written[1].sources[0].n == 3
    done = finish(session, tmp_path / "out", events.append)
    assert not done.partial and done.files
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith("# Gold in 2026")
    assert "It rose [2]. *[unsupported]*" in md
    assert "Banks buy gold [3]." in md  # renumbered: the third source cited
    assert "Nobody knows [9?]. *[cites no source]*\n" in md
    assert md.count("https://example.com/") == 3  # the references cited, no more
    prov = (tmp_path / "out" / "report.provenance.md").read_text()
    assert "query `gold demand`" in prov and "| unsupported | It rose \\[2\\]." in prov
    row = journal.session(session.session_id)
    assert row.kind == "report" and row.status == "done"


def test_every_section_starts_from_the_plan_state(tmp_path: Path) -> None:
    script = [PLAN, *section("a", "A [1]."), SUPPORTED, *section("b", "B [3]."), SUPPORTED,
              *section("c", "C [5]."), SUPPORTED]  # fmt: skip
    session, _ = research(tmp_path, script)
    events: list[Event] = []
    run_all(session, events)
    plan_len = len(session.research.plan_context)
    starts = [i for i, e in enumerate(events) if isinstance(e, SectionStarted)]
    for i in starts:
        first = next(e for e in events[i:] if isinstance(e, Stats))
        # Only the brief is evaluated: the plan's tokens come from the KV (the snapshot
        # restored after the verifier's contexts).
        assert first.tokens_reused >= plan_len - 1  # its last token goes with the brief
        assert first.tokens_evaluated < first.context_used - plan_len + 8


def test_a_cancel_in_section_two_leaves_a_partial_report_that_continue_finishes(
    tmp_path: Path,
) -> None:
    from qwq_edge.runtime import research as rt
    from qwq_edge.runtime.build import recorder_for

    script = [
        PLAN,
        *section("gold price", "Gold costs 10 [1]."),
        SUPPORTED,
        "Let me look for the demand figures.",  # section 2 is cancelled as it begins
    ]
    journal = Journal(tmp_path / "j.sqlite3")
    engine = ScriptedEngine(script)
    settings = Settings()
    session = rt.start(settings, engine, journal, ReportOptions(sections=3), FakeSearch())
    r = session.research
    controls = Controls()

    def consume(event: Event) -> None:
        if isinstance(event, SectionStarted) and event.index == 2:
            controls.cancel()

    run_phase(session, lambda c: r.propose("gold", c), consume, Controls())
    run_phase(session, lambda c: r.decide(r.plan), consume, Controls())
    assert run_phase(session, r.write, consume, controls) == "cancelled"
    done = finish(session, tmp_path / "out", lambda e: None)
    assert done.partial and done.missing == ("Demand", "Outlook")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "**Partial report.**" in md and "## Prices" in md and "## Demand" not in md
    assert journal.session(session.session_id).status == "partial"

    # --continue: a new process, the same journal; sections 2 and 3 only. (A new
    # FakeSearch gives the same URLs again: they keep their numbers, 1 and 2.)
    engine2 = ScriptedEngine(
        [*section("gold demand", "Banks buy gold [1]."), SUPPORTED,
         *section("gold outlook", "It may rise [2]."), SUPPORTED]
    )  # fmt: skip
    again, told = rt.resume(
        settings, engine2, journal, session.session_id, ReportOptions(sections=3), FakeSearch()
    )
    said = list(told)
    assert "1 of 3 sections written" in said[0].message  # type: ignore[attr-defined]
    assert again.research.agent.turn == 3  # the plan, section 1, section 2's cut turn
    events: list[Event] = list(journal.events(session.session_id))
    again.events = events
    assert run_phase(again, again.research.write, lambda e: None, Controls()) == "eos"
    done = finish(again, tmp_path / "out", lambda e: None)
    assert not done.partial
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Partial" not in md and "## Demand" in md and "## Outlook" in md
    assert journal.session(session.session_id).status == "done"
    # Section 2 branched from the plan: the journal holds it from the plan's end.
    plan_len = len(journal.context(session.session_id, upto_turn=1) or [])
    starts = {turn: start for turn, start, _ in journal.context_rows(session.session_id)}
    assert starts[max(starts)] == plan_len
    assert recorder_for  # the resumed session records into the same session row


def test_sessions_list_export_and_bundle_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qwq_edge import cli
    from qwq_edge.runtime import open_journal
    from qwq_edge.store.bundle import import_bundle

    journal = open_journal()
    engine = ScriptedEngine([PLAN, *section("gold price", "Gold costs 10 [1]."), SUPPORTED])
    agent = Agent(engine, FakeSearch(), Settings(), today=date(2026, 12, 8))
    r = Research(agent, ReportOptions(sections=3), recorder=Recorder(journal))
    session = Session(r, journal, [])
    controls = Controls()

    def stop_after_one(event: Event) -> None:
        if isinstance(event, SectionWritten):
            controls.cancel()

    run_phase(session, lambda c: r.propose("gold", c), lambda e: None, Controls())
    run_phase(session, lambda c: r.decide(r.plan), lambda e: None, Controls())
    run_phase(session, r.write, stop_after_one, controls)
    finish(session, tmp_path / "live", lambda e: None)
    sid = session.session_id
    assert cli.main(["sessions"]) == 0
    assert f"{sid}" in (out := capsys.readouterr().out) and "[report] gold" in out
    assert "partial" in out
    assert cli.main(["sessions", "export", sid, "--to", "report", str(tmp_path / "again")]) == 0
    for name in ("report.md", "report.bib", "report.ris", "report.json"):
        assert (tmp_path / "again" / name).read_text() == (tmp_path / "live" / name).read_text()
    assert cli.main(["sessions", "export", sid, str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "b-report" / "report.md").is_file()  # the files beside the bundle
    other = Journal(tmp_path / "other.sqlite3")
    journal.delete(sid)
    new = import_bundle(other, tmp_path / "b.json")
    assert other.session(new).kind == "report" and other.session(new).status == "partial"
    assert cli.main(["replay", sid]) == 1  # deleted here
    capsys.readouterr()


def test_fix_rewrites_or_drops_each_doubtful_sentence_once(tmp_path: Path) -> None:
    script = [
        PLAN,
        *section("a", "Gold costs 10 [1]. It rose 5% [2]."),
        SUPPORTED, UNSUPPORTED, '{"action": "rewrite", "sentence": "It rose a little"}',
        *section("b", "Banks buy gold [3]."),
        '{"verdict": "partly", "passage": 1}', '{"action": "drop"}',
        *section("c", "Outlook unclear [5]."), SUPPORTED,
    ]  # fmt: skip
    session, _ = research(tmp_path, script)
    session.research.options = ReportOptions(sections=3, fix=True)
    events: list[Event] = []
    run_all(session, events)
    fixed = [(c.verdict, c.fixed) for c in events if isinstance(c, ClaimChecked)]
    # A rewrite keeps the claim's citation, so it stays checkable.
    assert fixed == [("supported", None), ("unsupported", "It rose a little [2]"),
                     ("partly", ""), ("supported", None)]  # fmt: skip
    finish(session, tmp_path / "out", events.append)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "It rose a little [2] *[revised after checking]*" in md
    assert "Banks buy gold" not in md


def test_a_section_with_nothing_to_write_from_is_left_for_continue(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    script = [PLAN, *section("a", ""), *section("b", ""), *section("c", "")]
    agent = Agent(ScriptedEngine(script), FakeSearch(hits=0), Settings(), today=date(2026, 12, 8))
    session = Session(Research(agent, ReportOptions(sections=3), recorder=Recorder(journal)),
                      journal, [])  # fmt: skip
    events: list[Event] = []
    run_all(session, events)
    assert not [e for e in events if isinstance(e, SectionWritten)]
    assert sum("has no text" in getattr(e, "message", "") for e in events) == 3
    done = finish(session, tmp_path / "out", events.append)
    assert done.partial and done.missing == ("Prices", "Demand", "Outlook")


def test_a_section_may_search_what_another_section_searched(tmp_path: Path) -> None:
    script = [PLAN, *section("gold", "A [1]."), SUPPORTED, "<tool_call>", CALL % "gold",
              "<tool_call>", CALL % "gold demand", "B [3].<|im_end|>", SUPPORTED,
              *section("c", "C [5].")]  # fmt: skip
    session, _ = research(tmp_path, script)
    events: list[Event] = []
    run_all(session, events)
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.query, r.error_kind) for r in results][:3] == [
        ("gold", None), ("gold", None), ("gold demand", None),
    ]  # fmt: skip
    assert not any("same results" in (r.error or "") for r in results)


def test_a_cancel_while_the_section_is_checked_leaves_it_for_continue(tmp_path: Path) -> None:
    script = [PLAN, *section("a", "A rose [1]. B fell [2]."), SUPPORTED, UNSUPPORTED]
    session, _ = research(tmp_path, script)
    r = session.research
    controls = Controls()

    def cancel_after_first_verdict(event: Event) -> None:
        if isinstance(event, ClaimChecked):
            controls.cancel()

    run_phase(session, lambda c: r.propose("gold", c), lambda e: None, Controls())
    run_phase(session, lambda c: r.decide(r.plan), lambda e: None, Controls())
    assert run_phase(session, r.write, cancel_after_first_verdict, controls) == "cancelled"
    assert r.written == {}  # not half checked: --continue checks it again
    assert finish(session, tmp_path / "out", lambda e: None).missing[0] == "Prices"


def test_planning_that_fails_writes_nothing_and_the_report_stays_a_failed_report(
    tmp_path: Path,
) -> None:
    class Broken(ScriptedEngine):
        def stream(self, *args: object, **kw: object):  # type: ignore[no-untyped-def, override]
            raise RuntimeError("llama_decode returned -3")
            yield ""

    journal = Journal(tmp_path / "j.sqlite3")
    agent = Agent(Broken([]), FakeSearch(), Settings(), today=date(2026, 12, 8))
    r = Research(agent, ReportOptions(sections=3), recorder=Recorder(journal))
    session = Session(r, journal, [])
    said: list[Event] = []
    assert run_phase(session, lambda c: r.propose("gold", c), said.append, Controls()) == "error"
    done = finish(session, tmp_path / "out", said.append)
    assert not done.files and not (tmp_path / "out").exists()
    assert any("nothing was written" in getattr(e, "message", "") for e in said)
    row = journal.session(agent.session_id)
    assert row.kind == "report" and row.status == "failed"


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("claim_checked", "verdict", "bogus"),
        ("claim_checked", "fixed", 5),
        ("claim_checked", "cited", [[1]]),
        ("report_written", "missing", [1]),
        ("report_planned", "status", "hacked"),
        ("tool_result", "sources", [{"n": 1, "title": "t", "url": "u", "fetched_at": 1e300}]),
    ],
)
def test_a_bundle_with_a_report_field_of_the_wrong_kind_is_refused(
    tmp_path: Path, kind: str, key: str, value: object
) -> None:
    from qwq_edge.store.bundle import export_bundle, import_bundle
    from qwq_edge.store.journal import JournalError

    session, journal = research(tmp_path, [PLAN, *section("a", "A [1]."), SUPPORTED])
    events: list[Event] = []
    run_all(session, events)
    finish(session, tmp_path / "out", events.append)
    export_bundle(journal, session.session_id, tmp_path / "b.json")
    data = json.loads((tmp_path / "b.json").read_text())
    target = next(e for e in data["events"] if e["type"] == kind)
    target[key] = value
    (tmp_path / "b.json").write_text(json.dumps(data))
    with pytest.raises(JournalError, match=r"b\.json"):
        import_bundle(Journal(tmp_path / "other.sqlite3"), tmp_path / "b.json")
