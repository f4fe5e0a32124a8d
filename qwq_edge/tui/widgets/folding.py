"""Folding a long answer: the Markdown blocks scrolled above the screen are hidden and one
blank widget of the same height (``Fold``) stands in for them.

Textual lays out the whole screen, every widget in it, on screen or not, whenever any widget
changes size, and a streamed answer changes size a few times a second. A 2,000-token answer
is about 150 widgets: each streamed token cost the UI 1.9 times what it cost at 100 tokens
(``python -m qwq_edge.bench.ui``). Folded, a layout walks about a screenful of blocks however
long the answer, and the cost per token stays flat.

The fold keeps the exact height (and outer margins) of what it covers, so nothing on screen
moves. It unfolds when it is drawn, that is when the reader scrolls up to it (it is blank for
that one frame), and when its width changes (the heights it measured no longer hold).
"""

from __future__ import annotations

from textual import events
from textual.app import RenderResult
from textual.widget import Widget
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownBlock

MIN_BLOCKS = 4  # fold no fewer at a time: each fold costs a layout of its own
MARGIN_LINES = 4  # above the screen, left unfolded: a short scroll up draws real text


class Fold(Widget):
    """Blank, the height of the blocks it hides (``blocks``), which follow it in the DOM."""

    DEFAULT_CSS = "Fold { width: 1fr; height: 0; }"

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Widget] = []
        self.width_folded = 0

    def render(self) -> RenderResult:
        # The compositor draws only what is on screen: the reader has scrolled up to here.
        self.call_later(self.unfold)
        return ""

    def on_resize(self, event: events.Resize) -> None:
        if self.width_folded and event.size.width != self.width_folded:
            self.call_later(self.unfold)

    def cover(self, run: list[Widget], width: int) -> None:
        """Hide ``run`` too (the blocks right after the ones already hidden), growing to
        take their place: from this fold's top (or the run's) to the run's bottom. ``width``:
        the answer's, which the heights were measured at."""
        top = self.region.y if self.blocks else run[0].region.y
        margin_top = self.styles.margin.top if self.blocks else run[0].styles.margin.top
        self.styles.height = run[-1].region.bottom - top
        self.styles.margin = (margin_top, 0, run[-1].styles.margin.bottom, 0)
        self.width_folded = width
        for block in run:
            block.display = False
        self.blocks += run

    async def unfold(self) -> None:
        if not self.is_attached:
            return
        with self.app.batch_update():
            for block in self.blocks:
                block.display = True
            await self.remove()


def _fold_of(answer: Markdown) -> Fold | None:
    first = answer.children[0] if answer.children else None
    return first if isinstance(first, Fold) else None


async def fold_above(answer: Markdown) -> bool:
    """Fold the answer's blocks that lie above the screen's top, ``MARGIN_LINES`` to spare
    (never the last block: the stream updates it). True when it folded some."""
    fold = _fold_of(answer)
    if fold is not None and not fold.region:
        return False  # not laid out since it last grew: its top is not known yet
    blocks = [c for c in answer.children if isinstance(c, MarkdownBlock)]
    start = len(fold.blocks) if fold is not None else 0
    above = -MARGIN_LINES
    run: list[Widget] = []
    for block in blocks[start:-1]:
        region = block.region
        if not region or region.bottom >= above:
            break
        run.append(block)
    if len(run) < MIN_BLOCKS:
        return False
    with answer.app.batch_update():  # no layout or frame between the fold's mount and cover
        if fold is None:
            fold = Fold()
            await answer.mount(fold, before=run[0])
        fold.cover(run, answer.content_size.width)
    return True


async def unfold(answer: Markdown) -> None:
    """Show every block again (before the answer is redrawn whole)."""
    fold = _fold_of(answer)
    if fold is not None:
        await fold.unfold()
