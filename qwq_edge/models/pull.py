"""Resumable model downloads from the Hugging Face Hub (or any ``HF_ENDPOINT`` mirror).

huggingface_hub resolves the file (endpoint, ``HF_TOKEN``, redirects, the sha256 the Hub
publishes for LFS files) and streams it with retries. Its own ``hf_hub_download`` deletes a
partial file when it fails, so a 20 GB download that dies at 80 % would start over; we keep
``<file>.part`` instead and continue it with a Range request, check free disk space first,
verify the sha256, and only then move the file into place.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from qwq_edge.errors import QwqEdgeError
from qwq_edge.models.files import (
    Progress,
    ProgressFn,
    partial_path,
    sha256_file,
    write_sidecar,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
DISK_MARGIN = 512 << 20  # never fill a disk to the last byte
DEFAULT_ENDPOINT = "https://huggingface.co"


class PullError(QwqEdgeError):
    kind = "pull"


def offline() -> bool:
    value = os.environ.get("HF_HUB_OFFLINE", "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def refuse_if_offline() -> None:
    if offline():
        raise PullError(
            "HF_HUB_OFFLINE is set, so nothing can be downloaded; copy the .gguf onto this "
            "machine and run `qwq-edge models add PATH --name NAME`"
        )


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _progress_class(progress: ProgressFn | None) -> Any:
    """A tqdm class for huggingface_hub's download loop that reports to ``progress``."""
    from tqdm.auto import tqdm

    class Reporter(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True  # we draw our own line
            super().__init__(*args, **kwargs)
            self._done = int(kwargs.get("initial") or 0)
            self._start = self._done
            self._total = kwargs.get("total")
            self._t0 = time.monotonic()

        def update(self, n: float | None = 1) -> bool | None:
            self._done += int(n or 0)
            if progress is not None:
                rate = (self._done - self._start) / max(time.monotonic() - self._t0, 1e-6)
                progress(Progress(self._done, self._total, rate))
            return None

    return Reporter


def _explain(exc: BaseException, repo: str, filename: str) -> PullError:
    from huggingface_hub import errors

    where = endpoint()
    if isinstance(exc, errors.GatedRepoError):
        return PullError(f"{repo} is gated: accept its terms on {where} and set HF_TOKEN")
    if isinstance(exc, errors.RepositoryNotFoundError):
        return PullError(f"{repo} was not found on {where} (private? set HF_TOKEN)")
    if isinstance(exc, (errors.EntryNotFoundError, errors.RemoteEntryNotFoundError)):
        return PullError(f"{repo} has no file {filename} on {where}")
    if isinstance(exc, errors.HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return PullError(f"{where} answered HTTP {status} for {filename}; try again later")
    name = type(exc).__name__
    if "Connect" in name or "Timeout" in name or isinstance(exc, OSError):
        return PullError(
            f"cannot reach {where} (no network?); the partial download is kept: run the "
            "same command again to resume"
        )
    return PullError(f"the download of {filename} failed ({name}); run the command again")


def pull(
    repo: str,
    filename: str,
    dest: Path,
    *,
    revision: str = "main",
    expected_sha256: str | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Download ``repo``/``filename`` to ``dest``; resume a ``.part`` left by an earlier try.

    Returns ``dest``. A sha256 mismatch deletes the partial file and raises PullError;
    Ctrl+C keeps it for the next attempt."""
    refuse_if_offline()
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

    url = hf_hub_url(repo, filename, revision=revision, endpoint=endpoint())
    try:
        meta = get_hf_file_metadata(url, endpoint=endpoint(), retry_on_errors=True)
    except Exception as exc:  # every failure becomes one sentence
        raise _explain(exc, repo, filename) from None
    size = meta.size
    published = meta.etag if meta.etag and _SHA256.match(meta.etag) else None
    want_sha = (expected_sha256 or published or "").lower() or None

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(dest)
    have = part.stat().st_size if part.exists() else 0
    if size is not None and have > size:
        part.unlink()
        have = 0
    if size is not None:
        free = shutil.disk_usage(dest.parent).free
        need = size - have
        if need + DISK_MARGIN > free:
            raise PullError(
                f"not enough disk space for {filename}: {need / 1e9:.1f} GB more is needed and "
                f"{free / 1e9:.1f} GB is free in {dest.parent}"
            )
    headers = build_hf_headers()
    if urlsplit(meta.location).netloc != urlsplit(url).netloc:
        # A signed URL on a storage host: the Hub token must not leave the Hub.
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    try:
        with part.open("ab") as f:
            http_get(
                meta.location,
                f,
                resume_size=have,
                headers=headers,
                expected_size=size,
                displayed_filename=filename,
                tqdm_class=_progress_class(progress),
            )
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        raise _explain(exc, repo, filename) from None
    if want_sha is not None:
        got = sha256_file(part, progress)
        if got != want_sha:
            part.unlink(missing_ok=True)
            raise PullError(
                f"{filename} failed its sha256 check (expected {want_sha[:12]}…, got "
                f"{got[:12]}…); the file was deleted, run the command again"
            )
        write_sidecar(dest, got)
    os.replace(part, dest)
    return dest
