"""QA data sets read into ``Item``s: SimpleQA's CSV (``problem``, ``answer``), the JSONL of
FlashRAG and Search-R1 (``question``, ``golden_answers``, or ``answer``) and HotpotQA's
JSON (a list of objects with ``question`` and ``answer``). Anything else is refused with
one sentence naming what was expected."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwq_edge.errors import QwqEdgeError

MAX_BYTES = 200 * 1024 * 1024
SHIPPED = Path(__file__).resolve().parent / "data" / "orrowmere.jsonl"


class DatasetError(QwqEdgeError):
    """A data set that cannot be read; the message names the expected columns or keys."""


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answers: tuple[str, ...]


EXPECTED = (
    "a SimpleQA CSV (columns problem, answer), a FlashRAG/Search-R1 JSONL (keys question, "
    "golden_answers or answer) or a HotpotQA JSON list (keys question, answer)"
)


def read_dataset(path: Path) -> list[Item]:
    """The items of ``path``, by its suffix; rows with no question are skipped."""
    try:
        size = path.stat().st_size
    except OSError:
        raise DatasetError(f"{path} cannot be read; give {EXPECTED}") from None
    if not path.is_file():
        raise DatasetError(f"{path} is not a file; give {EXPECTED}")
    if size > MAX_BYTES:
        raise DatasetError(f"{path} is over {MAX_BYTES // (1024 * 1024)} MB; give a smaller file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise DatasetError(f"{path} is not UTF-8 text; give {EXPECTED}") from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        items = _csv(text)
    elif suffix == ".jsonl":
        items = _jsonl(text)
    elif suffix == ".json":
        items = _json(text)
    else:
        raise DatasetError(f"{path.name} has an unknown suffix; give {EXPECTED}")
    if items is None:
        raise DatasetError(f"{path.name} does not have the expected fields; give {EXPECTED}")
    return items


def _answers(row: dict[str, Any]) -> tuple[str, ...] | None:
    raw = row.get("golden_answers", row.get("answer", row.get("answers")))
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = [str(raw)]
    if not isinstance(raw, list):
        return None
    golds = tuple(
        str(a).strip() for a in raw if isinstance(a, (str, int, float)) and str(a).strip()
    )
    return golds or None


def _item(row: Any, index: int, key: str = "question") -> Item | bool | None:
    """An item; None: no question (skipped); False: not this format."""
    if not isinstance(row, dict) or key not in row:
        return False
    question = row.get(key)
    if not isinstance(question, str) or not question.strip():
        return None
    answers = _answers(row)
    if answers is None:
        return False
    ident = row.get("id", row.get("_id", index))
    return Item(str(ident), question.strip(), answers)


def _collect(rows: list[Any], key: str = "question") -> list[Item] | None:
    items: list[Item] = []
    for index, row in enumerate(rows):
        got = _item(row, index, key)
        if got is False:
            return None
        if isinstance(got, Item):
            items.append(got)
    return items


def _csv(text: str) -> list[Item] | None:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"problem", "answer"} <= set(reader.fieldnames):
        return None
    return _collect([dict(r) for r in reader], key="problem")


def _jsonl(text: str) -> list[Item] | None:
    rows: list[Any] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            return None
    return _collect(rows)


def _json(text: str) -> list[Item] | None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list):
        return None
    return _collect(data)
