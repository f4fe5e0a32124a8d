"""The command line's shape: one dispatch style, the README's command table in sync with the
parser, and run options generated from the settings' fields."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from qwq_edge import cli
from qwq_edge.cli.common import run_overrides
from qwq_edge.settings import OPTIONS

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def _readme_commands() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Commands", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `([a-z-]+)` \| (.+?) \|$", section, flags=re.M))


def test_the_readme_lists_every_command_with_its_help() -> None:
    parser = cli.build_parser()
    helps = {
        name: action.help
        for group in parser._subparsers._group_actions  # type: ignore[union-attr]
        for action in group._choices_actions  # type: ignore[attr-defined]
        for name in [action.dest]
    }
    assert _readme_commands() == helps
    assert tuple(helps) == cli.commands(parser)


def test_every_command_has_a_handler() -> None:
    parser = cli.build_parser()
    for name in cli.commands(parser):
        words = {"ask": ["ask", "q"], "replay": ["replay", "x"], "open": ["open", "3"]}.get(
            name, [name]
        )
        assert callable(parser.parse_args(words).handler), name


def test_run_options_come_from_the_settings_fields() -> None:
    parser = cli.build_parser()
    flagged = {n for n, f in OPTIONS.items() if f.metadata["flag"]}
    args = parser.parse_args(["ask", "q", "--gpu-layers", "-1", "--kv-type", "q8_0", "--offline"])
    given = {k: v for k, v in run_overrides(args).items() if v is not None}
    assert given == {"n_gpu_layers": -1, "kv_type": "q8_0", "offline": True}
    assert set(run_overrides(args)) == flagged
    with pytest.raises(SystemExit):
        parser.parse_args(["ask", "q", "--offline", "--refresh"])  # one group: exclusive


def test_no_command_opens_the_app_with_the_options_given(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int | None]] = []

    def fake_tui(args: argparse.Namespace) -> int:
        seen.append((args.command, args.n_ctx))
        return 0

    monkeypatch.setattr(cli.ask, "cmd_tui", fake_tui)  # registered when the parser is built
    assert cli.main(["--n-ctx", "2048"]) == 0
    assert cli.main([]) == 0
    assert seen == [("tui", 2048), ("tui", None)]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ask", "what", "is", "x"], ("what is x", None, None)),
        (["ask", "--continue", "and then?"], ("and then?", None, None)),  # the last session
        (["ask", "--continue", "ID", "and then?"], ("and then?", "ID", None)),
        (["ask", "--continue", "ID", "--from-turn", "1", "then?"], ("then?", "ID", 1)),
        (["ask", "--from-turn", "2", "--continue", "ID", "then?"], ("then?", "ID", 2)),
    ],
)
def test_continue_takes_an_optional_session_before_the_question(
    argv: list[str], expected: tuple[str, str | None, int | None]
) -> None:
    from qwq_edge.cli.ask import _question_and_session

    args = cli.build_parser().parse_args(argv)
    assert (*_question_and_session(args), args.from_turn) == expected


def test_an_empty_question_is_refused_before_loading_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["ask", "  "]) == 1
    assert capsys.readouterr().err == "qwq-edge: the question is empty; ask something\n"
