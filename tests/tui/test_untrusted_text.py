"""Escape sequences in untrusted text never reach the terminal from the TUI: a hostile search
result (title, URL, content), a hostile query, answer, thinking and error are drawn as their
words only. Checked on what the widgets paint (every segment's text and link target), not
only on what they were given."""

from __future__ import annotations

from rich.style import Style
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Markdown

from qwq_edge.events import (
    AnswerDelta,
    FinalAnswer,
    SearchHit,
    Source,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from qwq_edge.tui.widgets import SourcesView, ToolCard, TurnView
from qwq_edge.tui.widgets.sources import sources_text

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[8mhidden\x1b[0m\r\u202eevil\x9b31m"
UNSAFE = ("\x1b", "\x07", "\r", "\u202e", "\x9b")


class Host(App[None]):
    def __init__(self, *widgets: Widget) -> None:
        super().__init__()
        self.widgets = widgets

    def compose(self) -> ComposeResult:
        yield from self.widgets


def painted(app: App[None]) -> str:
    """Everything the screen's widgets paint: the text of each segment and any link target
    (a hyperlink's URL goes to the terminal too, inside an escape sequence of its own)."""
    out: list[str] = []
    for widget in app.screen.walk_children(Widget, with_self=False):
        if not widget.display or not widget.size.area:
            continue
        for strip in widget.render_lines(Region(0, 0, *widget.size)):
            for segment in strip:
                out.append(segment.text)
                if segment.style is not None and segment.style.link:
                    out.append(segment.style.link)
    return "".join(out)


def assert_clean(text: str) -> None:
    assert not [c for c in UNSAFE if c in text], repr(text)


def hostile_result() -> tuple[ToolCall, ToolResult]:
    call = ToolCall(1, "web_search", {"query": f"q{HOSTILE} [/]"}, "{}", False)
    hit = SearchHit(f"Title{HOSTILE}", f"https://x.test/{HOSTILE}", f"body{HOSTILE}")
    return call, ToolResult(1, "tavily", "q", (hit,), (Source(1, hit.title, hit.url),))


async def test_a_hostile_search_result_is_drawn_as_words_in_its_card() -> None:
    call, result = hostile_result()
    card = ToolCard(call)  # a query the model wrote: "[/]" is text, not markup
    host = Host(card)
    async with host.run_test(size=(200, 30)) as pilot:
        card.finish(result)
        card.collapsed = False
        await pilot.pause()
        assert_clean(card.search_query)
        assert_clean(str(card.title))
        shown = painted(host)
        assert_clean(shown)
        assert "q]0;pwned[2J[8mhidden[0mevil31m [/]" in shown
        assert "Title]0;pwned" in shown and "bodyhidden" not in shown and "body]0;pwned" in shown
        assert "x.test" in shown
        card.finish(ToolResult(1, "tavily", "q", error=f"rate limited{HOSTILE}"))
        await pilot.pause()
        assert_clean(painted(host))
        assert "rate limited]0;pwned" in str(card.title)


async def test_a_hostile_source_is_drawn_as_words_in_the_sources_panel() -> None:
    _, result = hostile_result()
    odd = Source(2, "Spaced", "https://y.test/a b reverse", origin="web")
    view = SourcesView((*result.sources, odd))
    host = Host(view)
    async with host.run_test(size=(200, 30)) as pilot:
        view.focus()
        await pilot.pause()
        shown = painted(host)
        assert_clean(shown)
        assert "Title]0;pwned[2J[8mhidden[0mevil31m" in shown
        assert "https://y.test/a b reverse" in shown  # a URL with spaces stays one link
    spans = sources_text(view.sources).spans
    links = {s.style.link for s in spans if isinstance(s.style, Style) and s.style.link}
    assert links == {"https://x.test/]0;pwned[2J[8mhidden[0mevil31m", "https://y.test/a b reverse"}


async def test_a_hostile_answer_thinking_question_and_error_are_drawn_as_words() -> None:
    turn = TurnView(f"Why{HOSTILE}?")
    host = Host(turn)
    async with host.run_test(size=(200, 40)) as pilot:
        await turn.add_text(ThinkingDelta(f"thinking{HOSTILE}"))
        await turn.flush()
        await pilot.pause()
        assert_clean(painted(host))
        assert "thinking]0;pwned" in painted(host)
        call, result = hostile_result()
        await turn.add_card(call)
        turn.finish_card(result)
        await turn.add_text(AnswerDelta(f"Because{HOSTILE} "))
        await turn.flush()  # drawn while streaming
        await pilot.pause()
        answer = turn.query_one(Markdown)
        assert_clean(answer.source)
        assert_clean(painted(host))
        await turn.add_text(AnswerDelta("[1]."))
        text = f"Because{HOSTILE} [1]."
        await turn.finish(FinalAnswer(text, result.sources))
        await turn.show_error(f"failed{HOSTILE}")
        await pilot.pause()
        assert_clean(answer.source)
        assert answer.source == "Because]0;pwned[2J[8mhidden[0mevil31m [1]."
        shown = painted(host)
        assert_clean(shown)
        for words in ("Why]0;pwned", "Because]0;pwned", "failed]0;pwned", "Title]0;pwned"):
            assert words in shown
        assert turn.answer_text == text  # the buffer keeps what came (retractions count it)


async def test_a_retraction_counts_the_characters_received_not_those_drawn() -> None:
    turn = TurnView("Q")
    async with Host(turn).run_test() as pilot:
        await turn.add_text(AnswerDelta("Gold\x1b[2J is up. <tool"))
        await turn.flush()
        await turn.retract(len(" <tool"))  # the core counts what it streamed, escapes included
        await turn.finish(FinalAnswer("Gold\x1b[2J is up."))
        await pilot.pause()
        assert turn.query_one(Markdown).source == "Gold[2J is up."
