#!/usr/bin/env python3
"""Save the README screenshot: a real session with the test model, in the real app.

    .venv/bin/python scripts/screenshot.py [docs/screenshot.svg]

Searches go to the tests' local Tavily-compatible server, so no network is used.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from qwq_edge.settings import Sampling, Settings  # noqa: E402
from qwq_edge.store.journal import Journal  # noqa: E402
from qwq_edge.tui.app import QwqEdgeApp  # noqa: E402
from tests.support.tavily_server import TavilyServer  # noqa: E402

SEED = 0  # what the 0.5B model answers with it is kept as it is, flagged citation included


async def shoot(target: Path) -> None:
    with TavilyServer() as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            n_ctx=4096, min_searches=1, max_tokens=160, sampling=Sampling(seed=SEED),
            tavily_api_key="x", tavily_url=server.url, sources="web",
        )  # fmt: skip
        # The app as users run it: its engine in a worker process.
        app = QwqEdgeApp(settings, journal=Journal(Path(tmp) / "journal.sqlite3"))
        async with app.run_test(size=(118, 34)) as pilot:
            while app.model is None:
                await pilot.pause(0.1)
            await pilot.click("#prompt")
            await pilot.press(*"Who won the 2022 FIFA World Cup, and how?", "enter")
            await pilot.pause(0.2)
            deadline = time.monotonic() + 300
            while app.running and time.monotonic() < deadline:
                await pilot.pause(0.2)
            await pilot.pause(0.5)
            app.save_screenshot(str(target.name), path=str(target.parent))


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.svg")
    out.parent.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(out))
    print(f"wrote {out}")
