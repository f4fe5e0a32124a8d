"""What every command shares: exit codes, the one-line failure, and the run options that
are generated from the settings' own fields."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qwq_edge.settings import OPTIONS, bounds_problem, kind_of
from qwq_edge.text import printable

EXIT_INTERRUPTED = 130


def fail(message: str, code: int = 1) -> int:
    """The one-line failure; a message may quote untrusted text (a bundle's model name)."""
    print(f"qwq-edge: {printable(message)}", file=sys.stderr)
    return code


def add_run_options(p: argparse.ArgumentParser) -> None:
    """One flag per setting that declares one (``opt(..., flag=...)``)."""
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for name, f in OPTIONS.items():
        flag = f.metadata.get("flag")
        if not flag:
            continue
        base, choices, _ = kind_of(name)
        help_text = f.metadata.get("help") or None
        target: Any = p
        group = f.metadata.get("group")
        if group:
            if group not in groups:
                groups[group] = p.add_mutually_exclusive_group()
            target = groups[group]
        if base is bool:
            target.add_argument(flag, dest=name, action="store_true", default=None, help=help_text)
        elif choices:
            target.add_argument(flag, dest=name, choices=list(choices), help=help_text)
        elif base in (int, float):
            target.add_argument(flag, dest=name, type=_number(name, base), help=help_text)
        else:
            target.add_argument(flag, dest=name, type=str, help=help_text)
    # The short way to turn speculation off (the same setting as --speculation off).
    p.add_argument("--no-speculation", dest="speculation", action="store_const", const="off",
                   help="decode one token at a time (no drafts from the context)")  # fmt: skip


def _number(name: str, base: type) -> Any:
    """An argparse ``type`` that reads a number and holds it to the setting's range, so a
    bad value is refused at parse time with one sentence."""

    def parse(text: str) -> int | float:
        try:
            value: int | float = int(text) if base is int else float(text)
        except ValueError:
            kind = "a whole number" if base is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {kind}, not {text!r}") from None
        problem = bounds_problem(name, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = base.__name__  # argparse names the type in its own messages
    return parse


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run options given on the command line (None: not given)."""
    return {name: getattr(args, name, None) for name, f in OPTIONS.items() if f.metadata["flag"]}
