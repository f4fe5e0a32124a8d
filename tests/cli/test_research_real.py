"""`qwq-edge research` end to end with the real Qwen2.5 test model, offline, on the made-up
Orrowmere corpus (``bench.report_corpus``) in the local library: the report and its
bibliography files are well formed and every citation resolves, the journal holds a report
session that replays with the network blocked, and a Ctrl+C at the start of section 2 leaves
a partial report that ``--continue`` finishes.

What the 0.5B model writes is not asserted, only the shape of what comes out of it."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
import rispy

from qwq_edge.bench.report_corpus import TOPIC, write_corpus
from qwq_edge.research.document import safe
from qwq_edge.store.journal import Journal
from tests.support.env import cli_env

pytestmark = pytest.mark.model

# Every web request refused in the child processes: the report runs on the library alone.
BLOCK_NETWORK = """
import socket
_connect = socket.socket.connect
def _refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network blocked by the test")
    return _connect(self, address, *args)
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""
RUN = ["--json", "--sources", "library", "--n-ctx", "4096", "--seed", "0"]
_GROUP = re.compile(r"(?<!\\)\[(\d+\??(?:,\s*\d+\??)*)\]")
Events = list[dict[str, Any]]


class Cli:
    def __init__(self, home: Path, tmp: Path) -> None:
        site = tmp / "site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(BLOCK_NETWORK)
        self.env = cli_env(home, PYTHONPATH=str(site))
        self.home = home

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "qwq_edge", *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, env=self.env, timeout=600
        )


@pytest.fixture
def cli(isolated_home: Path, tmp_path: Path) -> Cli:
    c = Cli(isolated_home, tmp_path)
    write_corpus(tmp_path / "orrowmere")
    added = c.run("library", "add", str(tmp_path / "orrowmere"))
    assert added.returncode == 0, added.stderr
    return c


def events_of(stdout: str) -> Events:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def references(md: str) -> set[int]:
    if "\n## References\n" not in md:
        return set()
    block = md.split("\n## References\n", 1)[1]
    return {int(m.group(1)) for m in re.finditer(r"^(\d+)\. ", block, re.M)}


def cited(md: str) -> set[int]:
    """Every report number cited in the body (``[n?]``, a number matching no source, left
    out: the report marks it so)."""
    body = md.split("\n## References\n", 1)[0]
    out = set()
    for m in _GROUP.finditer(body):
        out |= {int(x) for x in re.split(r",\s*", m.group(1)) if not x.endswith("?")}
    return out


def check_files(out: Path, title: str, written: list[str]) -> str:
    md = (out / "report.md").read_text()
    assert md.startswith(f"# {safe(title)}\n")
    headings = re.findall(r"^## (.+)$", md, re.M)
    for name in written:
        assert safe(name) in headings, (name, headings)
    refs = references(md)
    assert cited(md) <= refs, (sorted(cited(md)), sorted(refs))
    if cited(md):
        assert "References" in headings and refs == set(range(1, len(refs) + 1))
    library = bibtexparser.parse_string((out / "report.bib").read_text())
    assert not library.failed_blocks and len(library.entries) == len(refs)
    assert len(rispy.loads((out / "report.ris").read_text())) == len(refs)
    assert len(json.loads((out / "report.json").read_text())) == len(refs)
    assert (out / "report.provenance.md").read_text().startswith("# Provenance: ")
    return md


def test_a_report_on_the_library_is_written_cited_journaled_and_replayed(
    cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    t0 = time.monotonic()
    proc = cli.run("research", TOPIC, "--yes", "--sections", "3", "--out", str(out), *RUN)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    events = events_of(proc.stdout)
    sid = events[0]["session_id"]
    plan = [e for e in events if e["type"] == "report_planned"][-1]
    assert plan["status"] == "approved" and 1 <= len(plan["sections"]) <= 3
    written = [e for e in events if e["type"] == "section_written"]
    n = len(plan["sections"])
    # A section the model found nothing for is left for --continue (the report says so).
    assert written and [w["index"] for w in written] == sorted({w["index"] for w in written})
    assert all(1 <= w["index"] <= n for w in written)
    results = [e for e in events if e["type"] == "tool_result"]
    assert results and all(r["provider"] == "library" and r["error"] is None for r in results)
    done = events[-1]
    assert done["type"] == "report_written" and done["partial"] == (len(written) < n)
    md = check_files(out, plan["title"], [w["title"] for w in written])
    assert ("Partial report" in md) == done["partial"]
    checks = [e for e in events if e["type"] == "claim_checked"]
    verdicts = {v: sum(c["verdict"] == v for c in checks) for v in {c["verdict"] for c in checks}}
    print(f"report: {len(written)} sections, {len(cited(md))} sources cited, "
          f"verdicts {verdicts}, {took:.0f} s")  # fmt: skip

    journal = Journal(cli.home / "data" / "journal.sqlite3")
    try:
        assert journal.session(sid).kind == "report"
    finally:
        journal.close()
    listed = cli.run("sessions")
    assert listed.returncode == 0 and sid in listed.stdout and "[report]" in listed.stdout
    replay = cli.run("replay", sid)
    assert replay.returncode == 0, replay.stderr
    assert TOPIC in replay.stdout and "Traceback" not in replay.stderr


def test_ctrl_c_in_section_two_leaves_a_partial_report_that_continue_finishes(
    cli: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    argv = cli.argv("research", TOPIC, "--yes", "--sections", "3", "--out", str(out), *RUN)
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env
    )
    assert proc.stdout is not None
    seen: Events = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(json.loads(line))
        wrote = any(e["type"] == "section_written" for e in seen)
        if seen[-1]["type"] == "section_started" and seen[-1]["index"] >= 2 and wrote:
            proc.send_signal(signal.SIGINT)  # in a section after one was written
            break
    rest, err = proc.communicate(timeout=300)
    events = seen + events_of(rest)
    cut = seen[-1]["index"]
    assert seen[-1] == {**seen[-1], "type": "section_started"} and cut >= 2, err[-3000:]
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    sid = events[0]["session_id"]
    plan = [e for e in events if e["type"] == "report_planned"][-1]
    done = [e for e in events if e["type"] == "section_written"]
    assert done and all(e["index"] < cut for e in done)
    assert events[-1]["type"] == "report_written" and events[-1]["partial"]
    md = check_files(out, plan["title"], [e["title"] for e in done])
    assert "> **Partial report.**" in md and f"--continue {sid}" in md

    again = cli.run("research", "--continue", sid, "--out", str(out), *RUN)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    more = events_of(again.stdout)
    # Only the sections not written yet were researched; a section the model found
    # nothing for stays missing, and says so.
    assert not {e["index"] for e in done} & {
        e["index"] for e in more if e["type"] == "section_started"
    }
    empty = sum("has no text" in e.get("message", "") for e in more if e["type"] == "notice")
    assert more[-1]["type"] == "report_written" and more[-1]["partial"] == bool(empty)
    written = done + [e for e in more if e["type"] == "section_written"]
    assert len(written) + empty == len(plan["sections"])
    md = check_files(out, plan["title"], [e["title"] for e in written])
    assert ("Partial report" in md) == bool(empty)
