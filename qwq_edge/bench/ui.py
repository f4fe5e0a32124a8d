"""The UI's CPU per streamed token, and at rest: a headless Textual app laid out like the real
one (sidebar, conversation, prompt, status bar, footer; the app's stylesheet and flush timer)
is fed one turn, thinking, a search, then a Markdown answer, token by token at a model's
pace through the engine worker's own coalescing (``runtime.worker.Coalesced``) into the
messages the app gets, and ``time.process_time`` (every thread of this
process) is read around the tokens at each measured answer length.

Each point (100 and 2,000 answer tokens) starts a window of one answer section's tokens:
every section holds the same tokens in another order, so both windows draw the same blocks
and differ only in what came before. Each window follows a window's worth of tokens at the
real pace, so the stretch fed quickly in between (only there to make the answer long) has
settled. Idle is measured after the turn, with the answer on screen and nothing happening.

Not counted: writing the frames to a terminal (headless Textual computes each frame, then
drops it) and the engine (``run_turn``), which the UI process does not run.

``python -m qwq_edge.bench.ui [--quick]`` runs it alone.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from textual.app import App, ComposeResult

from qwq_edge import events as ev
from qwq_edge.bench.report import Row, markdown, spread
from qwq_edge.runtime.worker import Coalesced, Item
from qwq_edge.settings import Settings
from qwq_edge.tui import widgets
from qwq_edge.tui.app import layout
from qwq_edge.tui.messages import FLUSH_SECONDS, AgentEvent, TurnDone, message_for
from qwq_edge.tui.widgets import Conversation, PromptInput, Status, StatusBar
from qwq_edge.tui.widgets.status import Meter

RATE = 40.0  # tokens per second: a small model decoding on a laptop's CPU
FAST = 400.0  # tokens per second between the measured stretches (still coalesced)
FLAT_GOAL = 1.25  # per-token cost at the longest point ÷ at the shortest
IDLE_GOAL = 1.0  # % of one core, with nothing happening
THINKING = 300  # thinking tokens before the search, and again after it
SETTLE = 1.0  # seconds between the turn's end and the idle measure
STALL = 30.0  # seconds after the last event: the app stopped handling them

QUESTION = "How do small language models run on a laptop, and how fast?"
SENTENCES = (
    "A quantized model keeps its weights in four or five bits, so a 7B model fits in memory.",
    "Decoding is bound by memory bandwidth: every token reads all the weights once.",
    "Prompt processing is bound by compute instead, and batches many tokens at a time.",
    "The KV cache grows with the context and is reused when a conversation continues.",
    "Speculative decoding drafts a few tokens and verifies them in one batch.",
    "On two cores a 0.5B model decodes at about forty tokens a second.",
    "Offloading layers to a GPU helps only when the whole layer fits in its memory.",
    "Thread count matters less than one might expect beyond the physical cores.",
)
CODE = (
    "```python\n"
    'llm = Llama("model.gguf", n_threads={n})\n'
    "for piece in llm(question, stream=True, max_tokens={m}):\n"
    '    print(piece["choices"][0]["text"], end="")\n'
    "```\n\n"
)


def section(s: int) -> str:
    """Section ``s`` of an answer as models write them: a heading, a paragraph with a
    citation, a list, a code block, a closing sentence citing two sources. Every section has
    the same tokens in another order, so any stretch of one section's length costs the same
    to draw wherever it starts: the windows compare answer lengths, not kinds of block."""
    a, b, c, d, e = (SENTENCES[(s + k) % 5] for k in range(5))
    n1, n2, n3 = s % 5 + 1, (s + 2) % 5 + 1, (s + 4) % 5 + 1
    return (
        f"### Step {s % 90 + 1}\n\n{a} {b} [{n1}]\n\n"
        f"- **Note**: {c} [{n2}]\n- **Also**: {d}\n\n"
        + CODE.format(n=s % 4 + 2, m=100 + 37 * s % 900)
        + f"{e} [{n1}, {n3}]\n\n"
    )


def answer_markdown(sections: int) -> str:
    return "".join(section(s) for s in range(sections))


_TOKEN = re.compile(r"\n+| ?[A-Za-z]{1,7}| ?\d{1,3}| ?[^\sA-Za-z\d]{1,3}| +")


def tokens_of(text: str) -> list[str]:
    """Pieces about the size of a model's tokens (a word or a part of it, a space before)."""
    pieces = _TOKEN.findall(text)
    assert "".join(pieces) == text
    return pieces


SECTION_TOKENS = len(tokens_of(section(0)))


def answer_tokens(count: int) -> list[str]:
    """The first ``count`` tokens of an answer of as many sections as that takes."""
    return tokens_of(answer_markdown(count // SECTION_TOKENS + 1))[:count]


class UiBenchApp(App[None]):
    """The real app's layout and stylesheet, with ``apply``'s handling of a turn's events,
    and nothing else: no engine, no journal."""

    CSS_PATH = Path(widgets.__file__).parent.parent / "app.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.settings = Settings(max_searches=3)
        self.meter = Meter(ctx=(0, self.settings.n_ctx))
        self.turn_done = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield from layout(None)  # the app's own

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.query_one(Conversation).flush)
        self.update_status(running=False)
        self.query_one(PromptInput).focus()  # its cursor blinks, as in the app

    def update_status(self, running: bool = True) -> None:
        self.query_one(StatusBar).status = Status.of(
            self.meter, self.settings, model=None, running=running
        )

    async def on_turn_done(self, message: TurnDone) -> None:
        await self.query_one(Conversation).flush()
        self.update_status(running=False)
        self.turn_done.set()

    async def on_agent_event(self, message: AgentEvent) -> None:
        conv = self.query_one(Conversation)
        event = message.event
        if isinstance(event, ev.QuestionAsked):
            await conv.start_turn(event.question)
        turn = conv.turn
        if turn is None:
            return
        if isinstance(event, (ev.ThinkingDelta, ev.AnswerDelta)):
            await turn.add_text(event)
        elif isinstance(event, ev.AnswerRetracted):
            await turn.retract(event.chars)
        elif isinstance(event, ev.ToolCall):
            await conv.flush()
            await turn.add_card(event)
        elif isinstance(event, ev.ToolResult):
            turn.finish_card(event)
            if event.error is None:
                self.meter.searches += 1
        elif isinstance(event, ev.Stats):
            self.meter.count(event)
            self.update_status()
        elif isinstance(event, ev.FinalAnswer):
            await turn.finish(event)
        if not isinstance(event, (ev.ThinkingDelta, ev.AnswerDelta)):  # as the app does
            conv.follow()


Window = tuple[int, int]  # answer tokens: from, to


@dataclass(frozen=True)
class Mark:
    """Where a measured window starts or ends: answer tokens fed so far, and the CPU time."""

    tokens: int
    cpu: float  # process CPU seconds, every thread


def _stats(generated: int, seconds: float, context: int) -> ev.Stats:
    return ev.Stats("generate", 0, 0, generated, 0.0, seconds, context, 8192)


def _search() -> tuple[ev.ToolCall, ev.ToolResult]:
    call = ev.ToolCall(1, "web_search", {"query": "llama.cpp decode speed laptop"}, "{}", True)
    hits = tuple(
        ev.SearchHit(f"Result {i}: {s[:40]}", f"https://site{i}.example/a/{i}", s * 3)
        for i, s in enumerate(SENTENCES[:5], 1)
    )
    sources = tuple(ev.Source(i, h.title, h.url) for i, h in enumerate(hits, 1))
    return call, ev.ToolResult(1, "web", call.arguments["query"], hits, sources, seconds=1.2)


class Feeder(threading.Thread):
    """The engine's side of a turn: events at a model's pace, coalesced as the worker does
    and posted as the app's messages, with a ``Mark`` at each window's edges."""

    def __init__(self, app: App[None], answer: Sequence[str], windows: Sequence[Window],
                 rate: float) -> None:  # fmt: skip
        super().__init__(name="bench-feeder", daemon=True)
        self.app = app
        self.poster = Coalesced(self.send)
        self.answer = answer
        self.windows = windows
        self.edges = {edge for window in windows for edge in window}
        self.rate = rate
        self.marks: list[Mark] = []
        self.error: BaseException | None = None
        self._next = 0.0

    def paced(self, rate: float) -> None:
        """Wait for the next token's time at ``rate`` tokens a second (on an absolute
        schedule, so the pace holds however long posting took)."""
        now = time.perf_counter()
        self._next = max(self._next + 1 / rate, now - 1 / rate)
        if self._next > now:
            time.sleep(self._next - now)

    def real_pace(self, i: int) -> bool:
        """A token at the model's pace: in a window (its end included: the edge's mark is
        taken at that token's time), or in the window's worth of tokens before it."""
        return any(2 * start - end <= i <= end for start, end in self.windows)

    def stalled(self) -> bool:
        """Everything was posted long ago and the app has not ended the turn."""
        return not self.is_alive() and time.perf_counter() > self._next + STALL

    def mark(self, tokens: int) -> None:
        self.marks.append(Mark(tokens, time.process_time()))

    def run(self) -> None:
        try:
            self.feed()
        except BaseException as exc:  # raised again by the caller, on the UI's side
            self.error = exc
        finally:
            self.poster.flush()
            self.app.post_message(TurnDone())

    def send(self, item: Item) -> None:
        self.app.post_message(message_for(item))

    def feed(self) -> None:
        post = self.poster
        post(ev.QuestionAsked(1, QUESTION))
        thoughts = tokens_of(" ".join(SENTENCES) * 8)
        self._next = time.perf_counter()
        for piece in thoughts[:THINKING]:
            self.paced(FAST)
            post(ev.ThinkingDelta(piece))
        call, result = _search()
        post(call)
        post(_stats(THINKING, THINKING / FAST, 500 + THINKING))
        post(result)
        for piece in thoughts[THINKING : 2 * THINKING]:
            self.paced(FAST)
            post(ev.ThinkingDelta(piece))
        for i, piece in enumerate(self.answer):
            self.paced(self.rate if self.real_pace(i) else FAST)
            if i in self.edges:
                self.mark(i)
            post(ev.AnswerDelta(piece))
        if len(self.answer) in self.edges:
            self.paced(self.rate)  # the next token's time, as at every other edge
            self.mark(len(self.answer))
        n = 2 * THINKING + len(self.answer)
        post(_stats(n, n / self.rate, 2000 + n))
        post(ev.FinalAnswer("".join(self.answer), result.sources))
        post(ev.Finished("eos"))


@dataclass(frozen=True)
class Run:
    per_token_ms: dict[int, float]  # answer tokens at the window's start -> CPU ms per token
    idle_pct: float  # % of one core


async def measure_once(points: Sequence[int], window: int, rate: float, idle: float) -> Run:
    """One turn in a fresh app: CPU per token over ``window`` tokens from each point, then
    idle CPU."""
    windows = [(p, p + window) for p in points]
    answer = answer_tokens(max(end for _, end in windows))
    app = UiBenchApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)  # mounted and laid out, the first frames drawn
        feeder = Feeder(app, answer, windows, rate)
        feeder.start()
        while not app.turn_done.is_set():
            if not app.is_running or feeder.stalled():
                break  # the app failed: run_test raises its error as it exits
            # Not pilot.pause: it posts to every widget and forces a frame, costing the
            # app what it does not cost it outside a test.
            await asyncio.sleep(0.1)
        feeder.join()
        if feeder.error is not None:
            raise feeder.error
        if not app.turn_done.is_set():
            raise RuntimeError("the app never finished the turn")
        await asyncio.sleep(SETTLE)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle)
        idle_pct = 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)
    at = {m.tokens: m for m in feeder.marks}
    per_token = {s: 1000 * (at[e].cpu - at[s].cpu) / (e - s) for s, e in windows}
    return Run(per_token, idle_pct)


def measure_ui_cost(
    quick: bool,
    *,
    points: Sequence[int] = (100, 2000),
    window: int = SECTION_TOKENS,
    rate: float = RATE,
    idle_seconds: float = 3.0,
    runs: int | None = None,
) -> list[Row]:
    """The bench's rows: the UI's CPU ms per streamed token over the ``window`` tokens that
    follow each of ``points`` (answer tokens so far), the last against the first (flat:
    about 1), and the app's idle CPU %. Medians of ``runs`` fresh apps (quick: 3, else 5),
    each about 30 s. Runs on the calling thread, with an event loop of its own."""
    runs = runs or (3 if quick else 5)
    measured = [asyncio.run(measure_once(points, window, rate, idle_seconds)) for _ in range(runs)]
    first = statistics.median(r.per_token_ms[points[0]] for r in measured)
    rows = []
    for p in points:
        med, lo, hi = spread([r.per_token_ms[p] for r in measured])
        row = Row(f"UI CPU per streamed token at {p:,} answer tokens", "qwq-edge TUI", med, lo,
                  hi, "ms", note=f"the next {window} tokens at {rate:g} tok/s: "
                  f"{med * rate / 10:.1f}% of a core")  # fmt: skip
        if p != points[0]:
            row.ratio = med / first if first > 0 else None
            row.goal = f"≤ {FLAT_GOAL} × at {points[0]:,} (flat)"
            row.met = row.ratio is not None and row.ratio <= FLAT_GOAL
            row.note += f"; ratio to {points[0]:,} tokens"
        rows.append(row)
    med, lo, hi = spread([r.idle_pct for r in measured])
    rest = Row("UI CPU at rest", "qwq-edge TUI", med, lo, hi, "% CPU", goal=f"≤ {IDLE_GOAL}%")
    rest.met, rest.note = med <= IDLE_GOAL, f"over {idle_seconds:g} s after the answer"
    rows.append(rest)
    return rows


def main(argv: Sequence[str] = ()) -> int:
    quick = "--quick" in argv
    print(f"bench: the UI's CPU per streamed token ({'quick' if quick else 'full'}) …",
          file=sys.stderr)  # fmt: skip
    print(markdown(measure_ui_cost(quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
