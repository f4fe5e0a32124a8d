"""``qwq-edge open URL|N``: what the ``open`` tool would give the model, with no model
loaded: the passages of a page, document, PDF page or ZIM article that best match a focus,
under their headings, and where they sit in it."""

from __future__ import annotations

import argparse
import json
from typing import Any

from qwq_edge.cli.common import fail


def register(sub: Any) -> None:
    o = sub.add_parser(
        "open", help="read a page, library document or ZIM article around a focus (no model)"
    )
    o.add_argument("target", help="a URL (http, https, file://, zim://) or a source number")
    o.add_argument("--focus", default="", help="what to look for (default: the question)")
    o.add_argument("--session", help="the session a source number belongs to (default: the last)")
    o.add_argument("--offline", action="store_true", help="only the library's stored copy")
    o.add_argument("--json", action="store_true", help="one JSON object")
    o.set_defaults(handler=cmd_open)


def cmd_open(args: argparse.Namespace) -> int:
    from qwq_edge import runtime
    from qwq_edge.cli.render import opened_line, passages_label
    from qwq_edge.errors import ReadError
    from qwq_edge.events import to_dict
    from qwq_edge.runtime.reading import open_source
    from qwq_edge.text import printable

    settings = runtime.load_settings({"offline": True} if args.offline else None)
    try:
        event = open_source(settings, args.target, args.focus, args.session)
    except ReadError as exc:
        return fail(str(exc))
    if args.json:
        data = to_dict(event)
        data["where"] = passages_label(event)
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(opened_line(event).strip())
    print(printable(f"URL: {event.url}"))
    if event.focus:
        print(printable(f"focus: {event.focus}"))
    heading = None
    for p in event.passages:
        if p.heading != heading:
            print(printable(f"\n§ {p.heading}") if p.heading else "")
            heading = p.heading
        print(printable(f"[{p.index + 1}] {p.text}"))
    return 0
