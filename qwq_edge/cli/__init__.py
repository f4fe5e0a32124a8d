"""The ``qwq-edge`` command line: a front end that parses input and renders events.

One dispatch style: every area module (``ask``, ``sessions``, ``models``, ``doctor``) adds
its subcommands with ``set_defaults(handler=...)``; the parser is the command list.
Heavy modules (llama_cpp, tavily, textual) are imported inside the handlers, so
``qwq-edge --help`` and ``--version`` answer at once.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import NoReturn

from qwq_edge import __version__
from qwq_edge.cli import ask, doctor, evaluate, library, models, reading, research, sessions
from qwq_edge.cli.common import EXIT_INTERRUPTED, fail
from qwq_edge.errors import QwqEdgeError

AREAS = (ask, research, sessions, library, reading, evaluate, models, doctor)


class Parser(argparse.ArgumentParser):
    """A parse error is one line (no usage block): ``qwq-edge ask: argument --n-ctx: must be
    at least 0, not -1``. Subcommand parsers inherit this class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="qwq-edge",
        description="An offline research agent: a local GGUF reasoning model that searches the "
        "web, cites its sources, and keeps everything on disk. With no command, the "
        "full-screen app opens.",
    )
    parser.add_argument("--version", action="version", version=f"qwq-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area in AREAS:
        area.register(sub)
    return parser


def commands(parser: argparse.ArgumentParser | None = None) -> tuple[str, ...]:
    """Every top-level command, read from the parser."""
    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return tuple(action.choices)
    return ()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] not in (*commands(parser), "-h", "--help", "--version"):
        words = ["tui", *words]  # no command: the app, with any run options given
    args = parser.parse_args(words)
    try:
        code: int = args.handler(args)
        return code
    except QwqEdgeError as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # before OSError, its base: `| head` closed the pipe early
        return _pipe_closed()
    except (OSError, sqlite3.Error) as exc:  # a disk or database problem: one line, no trace
        return fail(f"{type(exc).__name__}: {exc}")


def _pipe_closed() -> int:
    """The reader went away (``| head``): nothing more to say, and no traceback when Python
    flushes stdout at exit (it now points at /dev/null)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 1
