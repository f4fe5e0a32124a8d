"""Where qwq-edge keeps things: platformdirs locations, all relocatable by ``QWQ_EDGE_HOME``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "qwq-edge"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def library(self) -> Path:
        """The local library's index (its own file: it can be rebuilt, the journal cannot)."""
        return self.data_dir / "library.sqlite3"

    @property
    def llama_log(self) -> Path:
        return self.log_dir / "llama.log"


def paths() -> Paths:
    home = os.environ.get("QWQ_EDGE_HOME")
    if home:
        root = Path(home).expanduser()
        return Paths(root / "config", root / "data", root / "cache", root / "logs")
    import platformdirs

    return Paths(
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_cache_dir(APP)),
        Path(platformdirs.user_log_dir(APP)),
    )


def test_models_dir() -> Path:
    """The cache of test GGUFs that ``scripts/fetch_test_models.py`` fills (outside checkouts)."""
    explicit = os.environ.get("QWQ_EDGE_TEST_MODELS")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qwq-edge-test-models"
