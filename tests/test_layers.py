"""Imports go one way: the core never imports Textual; --help stays instant."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).parent.parent / "qwq_edge"
# layer rank: a module may import only modules of the same or a lower rank
RANK = {"qwq_edge": 0, "events": 0, "config": 0, "errors": 0, "paths": 0, "sqlite": 0}
RANK |= {"catalog": 0}
RANK |= {"engine": 1, "search": 1, "store": 1}
RANK |= {
    "agent": 2,
    "cli": 3,
    "cli_offline": 3,
    "cli_models": 3,
    "render": 3,
    "tui": 3,
    "__main__": 3,
    "bench": 3,
}


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys, qwq_edge.agent, qwq_edge.agent.factory, qwq_edge.engine.llama, "
        "qwq_edge.search.tavily, qwq_edge.events, qwq_edge.config, qwq_edge.render, qwq_edge.cli; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from qwq_edge.cli import build_parser; build_parser().format_help(); "
        "heavy = [m for m in ('llama_cpp', 'tavily', 'textual', 'numpy') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_go_downward(path: Path) -> None:
    rel = path.relative_to(PKG.parent).with_suffix("")
    here = _layer(".".join(rel.parts).removesuffix(".__init__"))
    if here not in RANK:
        pytest.skip(f"{here} is not layered")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qwq_edge."):
            there = _layer(node.module)
            assert RANK.get(there, 0) <= RANK[here], f"{rel} imports {node.module}"


def test_version_and_help_from_the_console_script() -> None:
    exe = Path(sys.executable).with_name("qwq-edge")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("qwq-edge ")
    helptext = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    for command in ("ask", "chat", "doctor"):
        assert command in helptext.stdout
