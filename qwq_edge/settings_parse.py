"""Reading one setting's value, wherever it came from (the TOML file, the environment, a
flag): booleans parsed strictly, numbers that are never booleans, finite and in range, and
URLs made fit to record. ``settings.py`` describes the options; this module reads values."""

from __future__ import annotations

import math
import os
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qwq_edge.errors import ConfigError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
BOOL_WORDS = "true/false, yes/no, on/off or 1/0"


def parse_bool(value: Any) -> bool | None:
    """``value`` as a boolean, or None when it is not one: a TOML boolean, 0 or 1, or one
    of the words true/false, yes/no, on/off, 1/0 in any case. Any other word is not a
    boolean (``offline = "maybe"`` must not quietly mean false)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value) if value in (0, 1) else None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return None


def bounds_problem(value: float, low: float | None, high: float | None) -> str | None:
    """Why ``value`` is out of the range ``low``..``high`` (None: unbounded), or None."""
    if value != value or math.isinf(value):  # NaN, inf
        return "must be a finite number"
    if low is not None and value < low:
        return f"must be at least {_show(low)}, not {_show(value)}"
    if high is not None and value > high:
        return f"must be at most {_show(high)}, not {_show(value)}"
    return None


def _show(n: float) -> str:
    return str(n) if isinstance(n, int) else f"{n:g}"


def coerce_value(
    key: str,
    value: Any,
    where: str,
    *,
    base: type,
    choices: tuple[str, ...],
    bounds: tuple[float | None, float | None],
) -> Any:
    """``value`` as setting ``key`` wants it (``base``: bool, int, float or str; ``choices``:
    the allowed words), or ConfigError naming ``where`` it came from and the setting."""
    if isinstance(value, list) and base is str and not choices:  # library_folders = [...]
        return os.pathsep.join(str(v) for v in value)
    if choices:
        if value not in choices:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}")
        return value
    if base is bool:
        flag = parse_bool(value)
        if flag is None:
            raise ConfigError(f"{where}: {key} must be {BOOL_WORDS}, not {value!r}")
        return flag
    if base in (int, float):
        return _number(key, value, where, base, bounds)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be text (in quotes), not {value!r}")
    return value


def _number(
    key: str, value: Any, where: str, base: type, bounds: tuple[float | None, float | None]
) -> int | float:
    if isinstance(value, bool):  # a TOML `n_ctx = true` is not the number 1
        raise ConfigError(f"{where}: {key} must be a number, not {str(value).lower()}")
    number: int | float
    try:
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            number = int(value)
        else:
            number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{where}: {key} must be a number, not {value!r}") from None
    problem = bounds_problem(number, *bounds)
    if problem is not None:
        raise ConfigError(f"{where}: {key} {problem}")
    return number


_SECRET_PARAM = re.compile(r"key|token|secret|pass|auth|sig", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` fit to record or show: any user:password becomes ``***``, and so does the
    value of a query parameter that looks like a credential (``?api_key=…``)."""
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        netloc = f"***@{host}" if "@" in parts.netloc else parts.netloc
        pairs = []
        for raw in parts.query.split("&"):
            name, eq, _ = raw.partition("=")
            pairs.append(f"{name}=***" if eq and _SECRET_PARAM.search(name) else raw)
        query = "&".join(pairs)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:  # not a URL at all: keep nothing that could be a secret
        return "***" if "@" in url or "?" in url else url
