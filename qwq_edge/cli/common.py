"""What every command shares: exit codes, the one-line failure, and the run options that
are generated from the settings' own fields."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qwq_edge.settings import OPTIONS, kind_of

EXIT_INTERRUPTED = 130


def fail(message: str, code: int = 1) -> int:
    print(f"qwq-edge: {message}", file=sys.stderr)
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
        else:
            kind = base if base in (int, float) else str
            target.add_argument(flag, dest=name, type=kind, help=help_text)


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run options given on the command line (None: not given)."""
    return {name: getattr(args, name, None) for name, f in OPTIONS.items() if f.metadata["flag"]}
