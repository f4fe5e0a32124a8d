"""Stop markers are found across token boundaries, and nothing that is not one is held back."""

from __future__ import annotations

from qwq_edge.engine.stops import MarkerScanner


def run(pieces: list[str], markers: list[str], line_start: bool = False):  # type: ignore[no-untyped-def]
    scanner = MarkerScanner(markers, line_start=line_start)
    shown = ""
    for piece in pieces:
        safe, hit = scanner.feed(piece)
        shown += safe
        if hit is not None:
            return shown, hit
    return shown + scanner.flush(), None


def test_marker_split_across_pieces() -> None:
    shown, hit = run(["Hello <", "/th", "ink>\n\nAns"], ["</think>"])
    assert shown == "Hello "
    assert hit is not None and hit.marker == "</think>" and hit.start == 6 and hit.rest == "\n\nAns"


def test_partial_prefix_is_released_when_it_is_not_a_marker() -> None:
    shown, hit = run(["a <", "b", "c"], ["<tool_call>"])
    assert hit is None and shown == "a <bc"


def test_earliest_marker_wins() -> None:
    shown, hit = run(["x <tool_call> </think>"], ["</think>", "<tool_call>"])
    assert hit is not None and hit.marker == "<tool_call>" and shown == "x "


def test_line_start_matches_at_the_very_beginning() -> None:
    shown, hit = run(['{"act', 'ion"'], ['\n{"action"'], line_start=True)
    assert hit is not None and hit.start == -1 and shown == ""


def test_work_per_feed_is_bounded_by_the_marker_length() -> None:
    scanner = MarkerScanner(["<tool_call>", "</think>"])
    for _ in range(20000):
        scanner.feed("word ")
    assert len(scanner._pending) < len("<tool_call>")
