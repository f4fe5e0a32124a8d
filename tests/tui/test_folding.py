"""Folding a long streamed answer (``widgets/folding.py``), driven with Pilot: the blocks far
above the screen are hidden behind one blank widget of their height, nothing on screen
moves, and scrolling up to it, a new width, a retraction or the final marks bring them all
back."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock

from qwq_edge.bench.ui import section
from qwq_edge.events import AnswerDelta, FinalAnswer, Source
from qwq_edge.tui import widgets
from qwq_edge.tui.widgets import Conversation, TurnView
from qwq_edge.tui.widgets.folding import Fold, fold_above

SIZE = (80, 24)


class ConversationHost(App[None]):
    """The conversation pane alone, with the app's stylesheet."""

    CSS_PATH = Path(widgets.__file__).parent.parent / "app.tcss"

    def compose(self) -> ComposeResult:
        yield Conversation(id="conversation")


async def stream(pilot: Pilot[None], conv: Conversation, text: str, chunk: int = 60) -> TurnView:
    """``text`` streamed into a new turn as the app does it: buffered, then flushed (which
    keeps the end in view), a frame drawn between flushes."""
    turn = await conv.start_turn("Why?")
    for i in range(0, len(text), chunk):
        await turn.add_text(AnswerDelta(text[i : i + chunk]))
        await conv.flush()
        await pilot.pause()
    await pilot.pause()
    return turn


def blocks(answer: Markdown) -> list[MarkdownBlock]:
    return [b for b in answer.children if isinstance(b, MarkdownBlock)]


def fold_of(turn: TurnView) -> Fold | None:
    assert turn.answer is not None
    folds = list(turn.answer.query(Fold))
    assert len(folds) <= 1
    return folds[0] if folds else None


def layout(answer: Markdown) -> tuple[int, list[tuple[int, int]]]:
    """The answer's height and where each shown block sits in it (top, height)."""
    shown = [b for b in blocks(answer) if b.display]
    return answer.size.height, [(b.virtual_region.y, b.size.height) for b in shown]


LONG = "".join(section(s) for s in range(8))  # about 170 lines at 80 columns


async def test_a_long_answer_folds_what_is_far_above_and_nothing_on_screen_moves() -> None:
    app = ConversationHost()
    async with app.run_test(size=SIZE) as pilot:
        conv = app.query_one(Conversation)
        turn = await stream(pilot, conv, LONG)
        assert turn.answer is not None
        fold = fold_of(turn)
        assert fold is not None and len(fold.blocks) >= 8
        assert all(not b.display for b in fold.blocks)
        assert blocks(turn.answer)[: len(fold.blocks)] == fold.blocks  # the first ones, only
        assert blocks(turn.answer)[-1].display  # the stream's last block is never folded
        # Layout walks a fraction of the blocks; the text is all there.
        walked = [w for w in app.screen._compositor.widgets if isinstance(w, MarkdownBlock)]
        assert len(walked) < len(blocks(turn.answer)) // 2
        assert turn.answer.source == LONG
        # Stays folded while off screen, frames after frames.
        for _ in range(3):
            await pilot.pause()
        assert fold_of(turn) is fold
        height, tops = layout(turn.answer)
        visible = [b.region for b in blocks(turn.answer) if b.display][-3:]
        await fold.unfold()
        await pilot.pause()
        assert fold_of(turn) is None and all(b.display for b in blocks(turn.answer))
        unfolded_height, unfolded_tops = layout(turn.answer)
        assert unfolded_height == height  # the fold was exactly as tall as what it hid
        assert unfolded_tops[-len(tops) :] == tops
        assert [b.region for b in blocks(turn.answer)][-3:] == visible  # nothing moved


async def test_scrolling_up_to_the_fold_or_a_new_width_unfolds_it() -> None:
    app = ConversationHost()
    async with app.run_test(size=SIZE) as pilot:
        conv = app.query_one(Conversation)
        turn = await stream(pilot, conv, LONG)
        assert fold_of(turn) is not None
        height = layout(turn.answer)[0] if turn.answer else 0
        conv.scroll_home(animate=False)
        await pilot.pause()
        await pilot.pause()
        assert fold_of(turn) is None
        assert turn.answer is not None and all(b.display for b in blocks(turn.answer))
        assert layout(turn.answer)[0] == height
        # Folds again once the reader is back at the end; a new width unfolds.
        conv.scroll_end(animate=False)
        await pilot.pause()
        assert await fold_above(turn.answer)
        await pilot.pause()
        assert fold_of(turn) is not None
        await pilot.resize_terminal(100, 24)
        await pilot.pause()
        await pilot.pause()
        assert fold_of(turn) is None and all(b.display for b in blocks(turn.answer))


async def test_a_retraction_and_the_final_marks_redraw_a_folded_answer_whole() -> None:
    app = ConversationHost()
    async with app.run_test(size=SIZE) as pilot:
        conv = app.query_one(Conversation)
        turn = await stream(pilot, conv, LONG + "Then a call: <tool_")
        assert fold_of(turn) is not None
        await turn.retract(len("Then a call: <tool_"))
        await pilot.pause()
        assert turn.answer is not None and turn.answer.source == LONG
        assert fold_of(turn) is None and all(b.display for b in blocks(turn.answer))
        # Folded again by the next stretch, then finished with a number that matches nothing.
        more = "".join(section(s) for s in range(8, 10))
        for i in range(0, len(more), 60):
            await turn.add_text(AnswerDelta(more[i : i + 60]))
            await conv.flush()
            await pilot.pause()
        assert fold_of(turn) is not None
        sources = tuple(Source(n, f"S{n}", f"https://s{n}.example/") for n in (1, 2, 3, 4))
        await turn.finish(FinalAnswer(LONG + more, sources, unmatched=(5,)))
        # Drawn whole, with the marks: every block new. (The fold that follows the next
        # refresh may already be there on a loaded machine, so it is not asserted absent.)
        assert turn.answer.source == (LONG + more).replace("[5", "[5?").replace(", 5]", ", 5?]")
        drawn = blocks(turn.answer)
        folded = fold_of(turn)
        assert len(drawn) > (len(folded.blocks) if folded else 0)
        assert "[5?" in "".join(b.source or "" for b in drawn)
        await pilot.pause()
        await pilot.pause()
        fold = fold_of(turn)  # and folded again, once laid out
        assert fold is not None and all(not b.display for b in fold.blocks)
        assert "[5?" in "".join(b.source or "" for b in fold.blocks)


async def test_a_finished_answer_without_marks_stays_folded() -> None:
    app = ConversationHost()
    async with app.run_test(size=SIZE) as pilot:
        conv = app.query_one(Conversation)
        turn = await stream(pilot, conv, LONG)
        await turn.finish(FinalAnswer(LONG, ()))
        await pilot.pause()
        assert fold_of(turn) is not None  # the next turn does not lay the old one out again
        assert turn.answer is not None and turn.answer.source == LONG
