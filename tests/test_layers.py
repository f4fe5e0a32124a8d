"""The architecture, checked: imports go one way (docs/architecture.md, "Layers"), the core
never imports Textual, modules stay small, and --help stays instant."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).parent.parent / "qwq_edge"
# A module may import only modules of the same or a lower rank.
RANK = {
    # plain data and settings
    "qwq_edge": 0, "events": 0, "errors": 0, "paths": 0, "settings": 0, "settings_parse": 0,
    "sqlite": 0, "jsonfix": 0, "text": 0,
    # backends and stores
    "models": 1, "engine": 1, "search": 1, "store": 1, "library": 1, "reading": 1,
    "evaluation": 1,
    # the loop
    "agent": 2, "research": 2,
    # composition and turns
    "runtime": 3,
    # front ends (and the bench, which drives the front ends)
    "cli": 4, "tui": 4, "bench": 4, "__main__": 4,
}  # fmt: skip
MAX_LINES = 400
MODULES = sorted(PKG.rglob("*.py"))


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_module(name: str) -> bool:
    return (PKG / f"{name}.py").is_file() or (PKG / name).is_dir()


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            if node.module == "qwq_edge":  # `from qwq_edge import events`: the modules named
                out += [f"qwq_edge.{a.name}" for a in node.names if _is_module(a.name)]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [m for m in out if m.startswith("qwq_edge.")]


def test_every_package_has_a_rank() -> None:
    tops = {p.relative_to(PKG).parts[0].removesuffix(".py") for p in MODULES}
    tops.discard("__init__")
    assert tops <= set(RANK), f"give these a rank: {sorted(tops - set(RANK))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_only_go_downward(path: Path) -> None:
    rel = path.relative_to(PKG.parent).with_suffix("")
    here = _layer(".".join(rel.parts).removesuffix(".__init__"))
    for module in _imports(path):
        there = _layer(module)
        assert RANK[there] <= RANK[here], f"{rel} (rank {RANK[here]}) imports {module}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_modules_stay_small_and_say_what_they_hold(path: Path) -> None:
    text = path.read_text()
    lines = text.count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(PKG)} has {lines} lines; split it by concern"
    assert ast.get_docstring(ast.parse(text)), f"{path.relative_to(PKG)} needs a docstring"


def test_the_rank_test_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from qwq_edge.tui.app import QwqEdgeApp\n")
    assert [RANK[_layer(m)] for m in _imports(bad)] == [4]
    assert RANK["engine"] < 4


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys, qwq_edge.agent, qwq_edge.runtime, qwq_edge.engine.llama, qwq_edge.models, "
        "qwq_edge.search.tavily, qwq_edge.events, qwq_edge.settings, qwq_edge.cli, "
        "qwq_edge.cli.render; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from qwq_edge.cli import build_parser; build_parser().format_help(); "
        "heavy = [m for m in ('llama_cpp', 'tavily', 'textual', 'numpy', 'huggingface_hub') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_version_and_help_from_the_console_script() -> None:
    exe = Path(sys.executable).with_name("qwq-edge")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("qwq-edge ")
    helptext = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    for command in ("ask", "chat", "doctor"):
        assert command in helptext.stdout
