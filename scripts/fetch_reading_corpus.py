#!/usr/bin/env python3
"""Fetch the reading bench's corpus: real documentation pages from three generators, taken
from Debian's documentation packages (``qwq_edge/bench/reading.py`` measures on them).

- Sphinx (the Python 3.11 documentation, python-docs-theme), from ``python3.11-doc``;
- DocBook XSL (the PostgreSQL 15 manual), from ``postgresql-doc-15``;
- SQLite's own site generator (sqlite.org's pages), from ``sqlite3-doc``.

Each ``.deb`` is fetched with ``apt-get download`` (no root needed) and unpacked with
``dpkg-deb -x`` in a temporary folder, removed afterwards; only the pages listed below are
copied into the cache, with a ``manifest.json`` naming each page's package and version. The
cache lies outside the checkout: ``$QWQ_EDGE_READING_CORPUS``, else
``$XDG_CACHE_HOME/qwq-edge-test/reading-corpus`` (``~/.cache`` without XDG_CACHE_HOME).
Stdlib only; idempotent (a complete corpus returns at once; ``--force`` fetches again).

    python scripts/fetch_reading_corpus.py [--force] [--print-path]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from qwq_edge.bench.reading import corpus_dir

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Site:
    name: str  # the folder in the corpus, and the rules' key in bench/reading.py
    generator: str
    package: str
    root: str  # the HTML's folder inside the package
    pages: tuple[str, ...]


SITES = (
    Site("python", "Sphinx (python-docs-theme)", "python3.11-doc",
         "usr/share/doc/python3.11/html", (
             "library/re.html", "library/argparse.html", "library/subprocess.html",
             "library/sqlite3.html", "library/logging.html", "library/functools.html",
             "library/json.html", "library/pathlib.html", "tutorial/classes.html",
             "tutorial/errors.html", "reference/compound_stmts.html",
             "howto/functional.html", "using/cmdline.html",
         )),
    Site("postgresql", "DocBook XSL", "postgresql-doc-15",
         "usr/share/doc/postgresql-doc-15/html", (
             "sql-select.html", "sql-createtable.html", "routine-vacuuming.html",
             "using-explain.html", "datatype-json.html", "hot-standby.html",
             "ddl-partitioning.html", "runtime-config-wal.html", "sql-copy.html",
             "plpgsql-control-structures.html", "tutorial-join.html", "sql-droptable.html",
         )),
    Site("sqlite", "SQLite's own generator (sqlite.org)", "sqlite3-doc",
         "usr/share/doc/sqlite3", (
             "lang_select.html", "wal.html", "datatype3.html", "queryplanner.html",
             "foreignkeys.html", "windowfunctions.html", "lockingv3.html", "tempfiles.html",
             "json1.html", "lang_createtable.html", "howtocorrupt.html", "autoinc.html",
             "lang_vacuum.html",
         )),
)  # fmt: skip


def complete(root: Path) -> bool:
    """The manifest is there and lists every page, each on disk."""
    try:
        pages = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["pages"]
    except (OSError, ValueError, KeyError):
        return False
    want = {(s.name, p) for s in SITES for p in s.pages}
    have = {(p["site"], p["page"]) for p in pages if (root / p["file"]).is_file()}
    return want <= have


def _run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stderr.strip()}")
    return done.stdout


def _fetch(site: Site, root: Path) -> list[dict[str, str]]:
    print(f"fetching {site.package} …", file=sys.stderr, flush=True)
    out = []
    with tempfile.TemporaryDirectory(prefix="qwq-edge-deb-") as tmp:
        _run("apt-get", "download", site.package, cwd=Path(tmp))
        deb = next(Path(tmp).glob(f"{site.package}_*.deb"))
        version = _run("dpkg-deb", "-f", str(deb), "Version").strip()
        _run("dpkg-deb", "-x", str(deb), tmp)
        for page in site.pages:
            src = Path(tmp) / site.root / page
            if not src.is_file():
                sys.exit(f"{page} is not in {deb.name} (under {site.root})")
            dest = root / site.name / page
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            out.append({"site": site.name, "generator": site.generator, "page": page,
                        "file": f"{site.name}/{page}", "package": site.package,
                        "version": version})  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="fetch again even if complete")
    parser.add_argument("--print-path", action="store_true", help="print the corpus folder")
    args = parser.parse_args()
    root = corpus_dir()
    if args.print_path:
        print(root)
        return 0
    if complete(root) and not args.force:
        print(f"reading corpus complete at {root}", file=sys.stderr)
        return 0
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed (a Debian or Ubuntu system) to fetch the corpus")
    root.mkdir(parents=True, exist_ok=True)
    pages: list[dict[str, str]] = []
    for site in SITES:
        pages += _fetch(site, root)
    (root / MANIFEST).write_text(json.dumps({"pages": pages}, indent=1), encoding="utf-8")
    print(f"{len(pages)} pages from {len(SITES)} packages in {root}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
