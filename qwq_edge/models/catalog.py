"""The model catalog: models/catalog.toml (shipped in the package) plus the user's own GGUFs.

A model is named ``NAME`` or ``NAME:QUANT`` (``qwq-32b``, ``qwq-32b:q8_0``). Catalog files
live in ``<data dir>/models/``; the two test models in the shared test-model cache; a GGUF
added with ``qwq-edge models add`` stays where it is and is recorded in
``<config dir>/models.toml``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwq_edge.errors import ConfigError
from qwq_edge.paths import Paths, paths, test_models_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Quant:
    name: str
    file: str
    size: int
    sha256: str | None = None
    path: Path | None = None  # set for user-added models: the file is wherever the user keeps it


@dataclass(frozen=True)
class Model:
    name: str
    title: str
    quants: dict[str, Quant]
    default_quant: str
    repo: str | None = None  # Hugging Face repository to pull from
    source: str | None = None
    reasoning: bool = False
    n_ctx: int = 16384  # the context to run with when it fits
    min_ctx: int = 8192  # below this, prefer a quantized KV cache
    min_searches: int = 0
    read_top: int = 0  # results of each search opened for the model (weak models rarely open)
    max_thinking_tokens: int = 0  # the thinking budget it runs with unless one is set
    sampling: dict[str, float] = field(default_factory=dict)
    shape: dict[str, int] = field(default_factory=dict)  # for planning before a download
    user: bool = False
    test_model: bool = False
    embedding: bool = False  # an embedding model for the library, never the chat model

    def quant(self, name: str | None = None) -> Quant:
        key = (name or self.default_quant).lower()
        if key not in self.quants:
            raise ConfigError(
                f"{self.name} has no quant {key!r}; choose one of {', '.join(self.quants)}"
            )
        return self.quants[key]


def catalog_file() -> Path:
    # In a wheel the catalog is packaged beside the code; in a checkout it is models/.
    packaged = Path(__file__).resolve().parent.parent / "catalog.toml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "models" / "catalog.toml"


def user_file(where: Paths | None = None) -> Path:
    return (where or paths()).config_dir / "models.toml"


def _model(name: str, raw: dict[str, Any], *, user: bool = False) -> Model:
    quants = {
        q.lower(): Quant(
            q.lower(),
            str(v["file"]),
            int(v.get("size", 0)),
            v.get("sha256"),
            Path(v["path"]) if v.get("path") else None,
        )
        for q, v in raw.get("quants", {}).items()
    }
    return Model(
        name=name,
        title=str(raw.get("title", name)),
        quants=quants,
        default_quant=str(raw.get("default_quant") or next(iter(quants), "")),
        repo=raw.get("repo"),
        source=raw.get("source"),
        reasoning=bool(raw.get("reasoning", False)),
        n_ctx=int(raw.get("n_ctx", 16384)),
        min_ctx=int(raw.get("min_ctx", min(8192, int(raw.get("n_ctx", 16384))))),
        min_searches=int(raw.get("min_searches", 0)),
        read_top=int(raw.get("read_top", 0)),
        max_thinking_tokens=int(raw.get("max_thinking_tokens", 0)),
        sampling=dict(raw.get("sampling", {})),
        shape=dict(raw.get("shape", {})),
        user=user,
        test_model=str(raw.get("source", "")).startswith("pypi"),
        embedding=bool(raw.get("embedding", False)),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        models: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")).get("models", {})
        return models
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or delete it") from None


_loaded: dict[tuple[str, str, int], dict[str, Model]] = {}


def load(where: Paths | None = None) -> dict[str, Model]:
    """Every known model: the shipped catalog first, then the user's additions. Parsed once
    per process (again only when the user's file changes)."""
    mine = user_file(where)
    try:
        stamp = mine.stat().st_mtime_ns
    except OSError:
        stamp = -1
    key = (str(catalog_file()), str(mine), stamp)
    if key not in _loaded:
        models = {n: _model(n, raw) for n, raw in _read(catalog_file()).items()}
        for n, raw in _read(mine).items():
            if n not in models:
                models[n] = _model(n, raw, user=True)
        _loaded[key] = models
    return dict(_loaded[key])


def split_name(spec: str) -> tuple[str, str | None]:
    name, _, quant = spec.partition(":")
    return name.strip().lower(), (quant.strip().lower() or None)


def find(spec: str, where: Paths | None = None) -> tuple[Model, Quant]:
    name, quant = split_name(spec)
    models = load(where)
    if name not in models:
        known = ", ".join(models)
        raise ConfigError(f"no model named {name!r}; known: {known} (`qwq-edge models` lists them)")
    model = models[name]
    return model, model.quant(quant)


def local_path(model: Model, quant: Quant, where: Paths | None = None) -> Path:
    """Where this quant's file is (or will be, once pulled)."""
    if quant.path is not None:
        return quant.path
    if model.test_model:
        return test_models_dir() / quant.file
    return (where or paths()).models_dir / quant.file


def by_path(path: Path, where: Paths | None = None) -> tuple[Model, Quant] | None:
    """The catalog entry a file on disk belongs to, by location or file name."""
    try:
        resolved = path.resolve()
    except OSError:
        resolved = path
    for model in load(where).values():
        for quant in model.quants.values():
            there = local_path(model, quant, where)
            if there == path or there.resolve() == resolved or quant.file == path.name:
                return model, quant
    return None


def add_user_model(
    name: str, path: Path, quant: str, size: int, where: Paths | None = None
) -> Path:
    if not NAME.match(name):
        raise ConfigError(f"model name {name!r}: use lowercase letters, digits, '.', '_' or '-'")
    if name in load(where):
        raise ConfigError(f"a model named {name!r} exists already; pick another --name")
    target = user_file(where)
    entries = _read(target)
    entries[name] = {
        "title": f"{path.name} (added from {path.parent})",
        "quants": {quant.lower(): {"file": path.name, "path": str(path), "size": size}},
    }
    _write_user(target, entries)
    return target


def remove_user_model(name: str, where: Paths | None = None) -> bool:
    target = user_file(where)
    entries = _read(target)
    if name not in entries:
        return False
    del entries[name]
    _write_user(target, entries)
    return True


def _write_user(target: Path, entries: dict[str, Any]) -> None:
    lines = ["# Models added with `qwq-edge models add` (the files stay where they are)."]
    for name, raw in sorted(entries.items()):
        lines += ["", f"[models.{json.dumps(name)}]", f"title = {json.dumps(raw['title'])}"]
        for q, v in raw["quants"].items():
            fields = ", ".join(f"{k} = {json.dumps(v[k])}" for k in ("file", "path", "size"))
            lines.append(f"quants.{json.dumps(q)} = {{ {fields} }}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    _loaded.clear()
