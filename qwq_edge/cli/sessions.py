"""``qwq-edge sessions``, ``replay`` and ``cache``: the offline side of the command line
(journaled sessions, their replay and re-run, and the search cache)."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwq_edge.errors import QwqEdgeError
from qwq_edge.text import printable

if TYPE_CHECKING:
    from qwq_edge.events import PageOpened, ToolResult
    from qwq_edge.search.cache import SearchCache
    from qwq_edge.store.journal import Journal


def register(sub: Any) -> None:
    s = sub.add_parser("sessions", help="list, show, delete, export and import journaled sessions")
    s.add_argument("--search", default="", help="only sessions whose title contains this")
    s.add_argument("--limit", type=int, default=30)
    ss = s.add_subparsers(dest="action", metavar="ACTION")
    show = ss.add_parser("show", help="print a session in full (no model, no network)")
    show.add_argument("id")
    show.add_argument("--source", type=int, help="print source N: its snippet, URL and fetch time")
    ss.add_parser("delete", help="delete a session").add_argument("id")
    ex = ss.add_parser("export", help="write a session to a file")
    ex.add_argument("id")
    ex.add_argument("--to", choices=["md", "json", "bundle", "report", "trajectory", "messages"],
                    default="bundle", help="report: a report's files (Markdown, BibTeX, RIS, "
                    "CSL-JSON, provenance) into the folder FILE; trajectory: one JSON line of "
                    "token ids, loss mask, segments and tool calls; messages: one JSON line of "
                    "chat messages with tool_calls (both read the session's model file)"
                    )  # fmt: skip
    ex.add_argument("file", type=Path)
    ss.add_parser("import", help="add a session bundle from another machine").add_argument(
        "file", type=Path
    )
    s.set_defaults(handler=cmd_sessions)

    r = sub.add_parser("replay", help="play a recorded session back, or re-run it offline")
    r.add_argument("id")
    r.add_argument("--pace", action="store_true", help="reproduce the recorded timing")
    r.add_argument("--speed", type=float, default=1.0, help="with --pace: 2 plays twice as fast")
    r.add_argument("--json", action="store_true", help="write the events as JSON lines")
    r.add_argument("--rerun", action="store_true", help="run the model again, searches from disk")
    r.add_argument("--model", help="with --rerun: another model (regression replay)")
    r.set_defaults(handler=cmd_replay)

    c = sub.add_parser("cache", help="the search cache: stats, clear, export, import")
    cs = c.add_subparsers(dest="action", metavar="ACTION")
    cs.add_parser("stats", help="entries, hits, size and age")
    cs.add_parser("clear", help="delete every cached search")
    cs.add_parser("export", help="write a search pack for another machine").add_argument(
        "file", type=Path
    )
    cs.add_parser(
        "import", help="merge a search pack (never overwrites newer entries)"
    ).add_argument("file", type=Path)
    c.set_defaults(handler=cmd_cache)


def _journal() -> Journal:
    from qwq_edge import runtime

    journal = runtime.open_journal()
    runtime.say_notice(journal)
    return journal


def _cache() -> SearchCache:
    from qwq_edge import runtime

    cache = runtime.open_cache()
    runtime.say_notice(cache)
    return cache


def _index_pack(cache: SearchCache, results: list[ToolResult | PageOpened] | None = None) -> None:
    """Imported searches (and a bundle's library passages) join the library at once,
    labelled as a pack."""
    from qwq_edge import runtime

    n = runtime.index_imported(cache, results or [])
    if n:
        print(f"{n} imported searches and passages are now in the library")


def _age(t: float) -> str:
    secs = max(0.0, time.time() - t)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs / size:.0f}{unit} ago"
    return "just now"


def cmd_sessions(args: argparse.Namespace) -> int:
    journal = _journal()
    action = args.action
    if action is None:
        rows = journal.sessions(limit=args.limit, search=args.search)
        if not rows:
            print('no sessions yet: `qwq-edge ask "..."` records one')
        for row in rows:  # every field may have come from a bundle: shown through printable
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created))
            title = textwrap.shorten(printable(row.title), 60)
            branch = f"  (branch of {row.parent}, turn {row.parent_turn})" if row.parent else ""
            title = f"[report] {title}" if row.kind == "report" else title
            line = f"{row.id}  {when}  {row.searches:>2} searches  {row.status:<11}  {title}"
            print(printable(line + branch))
        return 0
    session_id = journal.resolve(args.id) if action != "import" else ""
    if action == "show":
        return _show(journal, session_id, args.source)
    if action == "delete":
        journal.delete(session_id)
        print(f"deleted {printable(session_id)}")
        return 0
    if action == "export":
        return _export(journal, session_id, args.to, args.file)
    from qwq_edge.events import PageOpened, ToolResult
    from qwq_edge.store.bundle import import_bundle

    cache = _cache()
    new_id = import_bundle(journal, args.file, cache)
    kept = (ToolResult, PageOpened)
    _index_pack(cache, [e for e in journal.events(new_id) if isinstance(e, kept)])
    new_id = printable(new_id)
    print(f"imported {new_id}: `qwq-edge replay {new_id}` plays it back")
    return 0


def _show(journal: Journal, session_id: str, source: int | None) -> int:
    from qwq_edge.cli.render import TextRenderer
    from qwq_edge.events import Source, ToolResult

    row = journal.session(session_id)
    events = list(journal.events(session_id))
    if source is None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created))
        print(printable(f"{row.id} · {when} · {row.model} ({row.quant}) · {row.status}"))
        render = TextRenderer(echo_questions=True, stats=False)
        for e in events:
            render(e)
        return 0
    for e in events:
        if not isinstance(e, ToolResult):
            continue
        for hit, src in zip(e.hits, e.sources, strict=False):
            if src.n == source:
                _print_source(src, hit.content, e.query)
                return 0
    known: list[Source] = [s for e in events if isinstance(e, ToolResult) for s in e.sources]
    numbers = ", ".join(str(s.n) for s in known) or "none"
    raise QwqEdgeError(f"session {session_id} has no source {source} (it has: {numbers})")


def _print_source(src: Any, content: str, query: str) -> None:
    from qwq_edge.text import printable

    content, query = printable(content), printable(query)
    print(f"[{src.n}] {printable(src.title)}\n    {printable(src.url)}")
    if src.fetched_at:
        fetched = time.strftime("%Y-%m-%d %H:%M", time.localtime(src.fetched_at))
        print(f"    fetched {fetched} ({_age(src.fetched_at)}) for the query {query!r}")
    if src.cache_key:
        print(f"    cache key {printable(src.cache_key)}")
    width = min(100, shutil.get_terminal_size().columns)
    print()
    print(textwrap.fill(content, width=width, initial_indent="    ", subsequent_indent="    "))


def _export(journal: Journal, session_id: str, kind: str, target: Path) -> int:
    import json

    from qwq_edge.store.bundle import export_bundle, session_dict, to_markdown

    if kind in ("trajectory", "messages"):
        return _export_trajectory(journal, session_id, kind, target)
    if kind == "report" or (kind == "md" and journal.session(session_id).kind == "report"):
        return _export_report(journal, session_id, kind, target)
    if kind == "md":
        row = journal.session(session_id)
        target.write_text(to_markdown(row, list(journal.events(session_id))), encoding="utf-8")
    elif kind == "json":
        data = session_dict(journal, session_id)
        target.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        n = export_bundle(journal, session_id, target, _cache())
        print(f"bundle with {n} cached search payloads")
        if journal.session(session_id).kind == "report":  # and the report's files beside it
            _export_report(journal, session_id, "report", target.with_name(target.stem + "-report"))
    print(f"wrote {target}")
    return 0


def _export_trajectory(journal: Journal, session_id: str, kind: str, target: Path) -> int:
    """The session as a training trajectory, or as chat messages: one JSON line (one per
    section for a report)."""
    import json

    from qwq_edge.agent.trajectories import session_lines
    from qwq_edge.agent.trajectory import TrajectoryError
    from qwq_edge.engine.vocab import LlamaVocab
    from qwq_edge.models.files import open_model
    from qwq_edge.paths import paths

    row = journal.session(session_id)
    model = row.settings.get("model_path")
    # The path is the journal's (a bundle's, perhaps): only a file of the name the session
    # names, and a GGUF by our own header check, is handed to llama.cpp.
    if not isinstance(model, str) or Path(model).name != row.model or not Path(model).is_file():
        raise QwqEdgeError(
            f"the model file this session ran with ({row.model or 'not recorded'}) is not "
            "here; its tokens can only be decoded with that model's vocabulary"
        )
    try:
        open_model(model)
        vocab = LlamaVocab(Path(model), log_path=paths().llama_log)
        lines = session_lines(journal, session_id, vocab, to=kind)
    except TrajectoryError as exc:
        raise QwqEdgeError(str(exc)) from None
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def _export_report(journal: Journal, session_id: str, kind: str, target: Path) -> int:
    """A report's files, rebuilt from its journal (``--to md``: its report.md alone)."""
    from qwq_edge.runtime.research import rewrite

    if journal.session(session_id).kind != "report":
        raise QwqEdgeError(f"session {session_id} is not a report; export it --to md")
    if kind == "md":
        with tempfile.TemporaryDirectory() as folder:
            target.write_text((rewrite(journal, session_id, Path(folder))[0]).read_text())
        print(f"wrote {target}")
        return 0
    for path in rewrite(journal, session_id, target):
        print(f"wrote {path}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from qwq_edge.cli.render import JsonRenderer, TextRenderer

    journal = _journal()
    session_id = journal.resolve(args.id)
    events = list(journal.events(session_id))
    if args.rerun and journal.session(session_id).kind == "report":
        raise QwqEdgeError("a report is not re-run; `qwq-edge research` writes a new one")
    if args.rerun:
        return _rerun(journal, session_id, events, args.model)
    render: Callable[[Any], None] = (
        JsonRenderer() if args.json else TextRenderer(echo_questions=True)
    )
    last = events[0].t if events else 0.0
    for e in events:
        if args.pace and args.speed > 0:
            time.sleep(max(0.0, min(e.t - last, 30.0)) / args.speed)
        last = e.t
        render(e)
    return 0


def _rerun(journal: Journal, session_id: str, events: list[Any], model: str | None) -> int:
    from qwq_edge import runtime
    from qwq_edge.agent.replay import model_candidates, settings_from_record
    from qwq_edge.events import SessionStarted

    start = next((e for e in events if isinstance(e, SessionStarted)), None)
    if start is None:
        raise QwqEdgeError(f"session {session_id} has no start event; it cannot be re-run")
    settings = settings_from_record(start.settings)
    here = runtime.load_settings()
    if here.server and not model:  # the other way round: re-run on the configured server
        return _rerun_on_server(settings.replace(server=here.server, server_key=here.server_key),
                                session_id, events, start.model)  # fmt: skip
    if model:
        path = Path(model)
    else:
        found = [p for p in model_candidates(start.settings, start.model) if p.is_file()]
        if not found:
            raise QwqEdgeError(
                f"the recorded model {start.model} is not on this machine; pass --model PATH"
            )
        path = found[0]
    print(printable(f"re-running {session_id} with {path.name}, no network …"), file=sys.stderr)
    engine = runtime.load_engine(settings, path=path)
    results = runtime.rerun_session(events, engine, runtime.offline_provider(_cache()))
    same = all(r.identical for r in results)
    for i, r in enumerate(results, 1):
        print(f"\nturn {i}: {printable(r.question)}")
        if model:
            _side_by_side(f"recorded ({start.model})", r.recorded, r.recorded_sources,
                          f"re-run ({path.name})", r.rerun, r.rerun_sources)  # fmt: skip
        else:
            print("  identical answer" if r.identical else "  the answer DIFFERS")
            if not r.identical:
                _side_by_side("recorded", r.recorded, r.recorded_sources,
                              "re-run", r.rerun, r.rerun_sources)  # fmt: skip
    print("\nidentical to the recording" if same else "\nnot identical to the recording")
    engine.close()
    return 0 if same or model else 1


def _rerun_on_server(settings: Any, session_id: str, events: list[Any], recorded: str) -> int:
    from qwq_edge import runtime

    engine = runtime.load_engine(settings, on_wait=lambda s: print(printable(s), file=sys.stderr))
    serving = Path(engine.info.path).name
    if serving != recorded:  # the model identity check, before anything runs
        print(printable(f"qwq-edge: note: the server runs {serving}, but {session_id} was "
                        f"recorded with {recorded}; the answers will differ"),
              file=sys.stderr)  # fmt: skip
    print(printable(f"re-running {session_id} on {engine.info.fit.removeprefix('model on ')} …"),
          file=sys.stderr)  # fmt: skip
    results = runtime.rerun_session(events, engine, runtime.offline_provider(_cache()))
    same = all(r.identical for r in results)
    for i, r in enumerate(results, 1):
        print(f"\nturn {i}: {printable(r.question)}")
        print("  identical answer" if r.identical else "  the answer DIFFERS")
    print("\nidentical to the recording" if same else "\nnot identical to the recording")
    engine.close()
    return 0 if same else 1


def _side_by_side(a_title: str, a: str, a_src: Any, b_title: str, b: str, b_src: Any) -> None:
    width = max(30, (min(shutil.get_terminal_size().columns, 160) - 3) // 2)

    def column(title: str, text: str, sources: Any) -> list[str]:
        lines = [title, "-" * min(width, len(title))]
        for para in (text or "(no answer)").splitlines() or [""]:
            lines += textwrap.wrap(para, width) or [""]
        lines += [""] + [textwrap.shorten(f"[{s.n}] {s.url}", width) for s in sources]
        return lines

    left, right = column(a_title, a, a_src), column(b_title, b, b_src)
    for i in range(max(len(left), len(right))):
        lcol = left[i] if i < len(left) else ""
        rcol = right[i] if i < len(right) else ""
        print(printable(f"{lcol:<{width}} | {rcol}"))


def cmd_cache(args: argparse.Namespace) -> int:
    cache = _cache()
    if args.action in (None, "stats"):
        st = cache.stats()
        print(f"{st.path}\n{st.entries} cached searches · {st.hits} hits · {st.bytes / 1e6:.1f} MB")
        if st.oldest is not None and st.newest is not None:
            print(f"oldest {_age(st.oldest)} · newest {_age(st.newest)}")
    elif args.action == "clear":
        print(f"removed {cache.clear()} cached searches")
    elif args.action == "export":
        n = cache.export(args.file)
        print(f"wrote {n} cached searches to {args.file}")
    else:
        added, updated = cache.import_pack(args.file)
        print(f"imported {added} new and {updated} newer cached searches from {args.file}")
        _index_pack(cache)
    return 0
