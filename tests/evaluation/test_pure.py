"""The pure pieces of ``eval``: the SQuAD/Search-R1 normalization and graders, the Wilson
interval and McNemar's exact test against known values, and every data set format."""

from __future__ import annotations

from pathlib import Path

import pytest

from qwq_edge.evaluation.formats import SHIPPED, DatasetError, Item, read_dataset
from qwq_edge.evaluation.grading import contains, exact_match, f1, grade, normalize, short_answer
from qwq_edge.evaluation.stats import mcnemar_exact, median, paired, wilson

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower", "eiffel tower"),  # case, an article
        ("a  cat, an owl;  the  dog!", "cat owl dog"),  # articles, punctuation, spaces
        ("Theatre thereafter", "theatre thereafter"),  # articles only as words
        ("  U.S.A.  ", "usa"),
        ("Denver Broncos", "denver broncos"),
    ],
)
def test_normalize_as_squad(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_exact_contains_and_f1() -> None:
    assert exact_match("the Denver Broncos.", ["Denver Broncos"])
    assert not exact_match("Denver Broncos won", ["Denver Broncos"])
    assert contains("The Denver Broncos won it.", ["Carolina", "Denver Broncos"])
    assert not contains("Denverite Broncos", ["Denver"])  # whole words only
    assert f1("the cat sat", ["cat sat down"]) == pytest.approx(0.8)  # p=1, r=2/3
    assert f1("Denver Broncos", ["Broncos", "Denver Broncos"]) == 1.0
    assert f1("nothing", ["Denver"]) == 0.0


def test_short_answer_drops_citations() -> None:
    assert short_answer("It was **1602** [1][2].") == "It was 1602 ."
    assert short_answer("Some thoughts.\nAnswer: Kestrel Quay [3]") == "Kestrel Quay"
    assert grade("exact", "Answer: Kestrel Quay [3]", ("Kestrel Quay",))
    assert grade(
        "contains", "The ferry takes 2 hours and 40 minutes [1].", ("2 hours and 40 minutes",)
    )
    assert not grade(
        "exact", "The ferry takes 2 hours and 40 minutes.", ("2 hours and 40 minutes",)
    )
    assert grade("f1", "Mount Tessaly", ("Tessaly",))
    assert grade("exact", "<answer>Brannock</answer>", ("Brannock",))


def test_wilson_known_values() -> None:
    low, high = wilson(81, 263)
    assert low == pytest.approx(0.25529, abs=1e-4)
    assert high == pytest.approx(0.36621, abs=1e-4)
    low, high = wilson(0, 10)  # p = 0: [0, z²/(n+z²)]
    assert low == 0.0
    assert high == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    assert wilson(0, 0) == (0.0, 0.0)


def test_mcnemar_exact_known_values() -> None:
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)  # 2 * (1 + 10) / 2^10
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert paired({"a": True, "b": False, "c": True}, {"a": False, "b": True, "d": True}) == (
        2,
        1,
        1,
    )
    assert median([3, 1, 2]) == 2 and median([]) == 0.0


def test_every_format_reads() -> None:
    assert read_dataset(FIXTURES / "simpleqa.csv") == [
        Item("0", "Who wrote Flora Orrovensis?", ("Isobel Crane",)),
        Item("2", "In which year, exactly?", ("1849",)),
    ]
    assert read_dataset(FIXTURES / "flashrag.jsonl") == [
        Item("q1", "Which village holds the Midwinter Tarring?", ("Dunmarrow",)),
        Item("q2", "How long is the river Skelling?", ("14 kilometres",)),
    ]
    hotpot = read_dataset(FIXTURES / "hotpot.json")
    assert [(i.id, i.answers) for i in hotpot] == [
        ("h1", ("Edda Vorne",)),
        ("h2", ("Mount Tessaly",)),
    ]


def test_a_bad_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="columns problem, answer") as info:
        read_dataset(FIXTURES / "bad.csv")
    assert "\n" not in str(info.value)
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DatasetError, match="unknown suffix"):
        read_dataset(tmp_path / "x.txt")
    with pytest.raises(DatasetError, match="cannot be read"):
        read_dataset(tmp_path / "missing.jsonl")


def test_the_shipped_set() -> None:
    items = read_dataset(SHIPPED)
    assert len(items) >= 50
    assert len({i.id for i in items}) == len(items)
    assert all(i.answers for i in items)
