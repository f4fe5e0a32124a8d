"""The bench's server section: the same model on a llama-server started here (the binary
``scripts/build_llama_server.py`` built), against the local engine measured in the same run.

- decode and time to first token through ``--server`` (``RemoteEngine``), against qwq-edge
  local and against llama-server's own decode (one request, its own timings);
- the resume after a search: tokens the server evaluated against those appended;
- two clients on one server started with ``--parallel 2``: aggregate tok/s against one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from qwq_edge.agent.loop import Agent
from qwq_edge.bench.base import Measures, timed_turn
from qwq_edge.bench.fixtures import STORY, FixtureSearch
from qwq_edge.bench.report import Row, spread
from qwq_edge.bench.server import LlamaServer, server_binary
from qwq_edge.engine.base import Generation
from qwq_edge.engine.remote import RemoteEngine
from qwq_edge.events import Event, Stats
from qwq_edge.runtime import run_turn
from qwq_edge.settings import Settings


class RemoteMeasures(Measures):
    tokens: int

    def measure_server(self) -> None:
        try:
            server_binary()
        except RuntimeError as exc:
            self.rows.append(Row("decode", "qwq-edge --server", 0.0, unit="tok/s", note=str(exc)))
            return
        self.progress("the same model on llama-server (--server)")
        threads = self.engine.info.threads or 2
        with LlamaServer(self.model, n_ctx=4096, threads=threads) as srv:
            eng = RemoteEngine(srv.url)
            rates, firsts, alone = [], [], []
            for i in range(self.runs):
                rate, first, _, _ = timed_turn(eng, self.tokens, self.sampling.seed + i)
                rates.append(rate)
                firsts.append(first * 1000)
                alone.append(self._server_alone(eng, self.sampling.seed + i))
            local = self.decode.get("qwq-edge", 0.0)
            med, lo, hi = spread(rates)
            base, _, _ = spread(alone)
            self.rows.append(
                Row("decode", "qwq-edge --server", med, lo, hi, "tok/s",
                    med / local if local else None, note=f"ratio to qwq-edge local; "
                    f"{med / base:.2f}× llama-server's own decode")
            )  # fmt: skip
            self.rows.append(Row("decode", "llama-server alone", base, unit="tok/s"))
            med, lo, hi = spread(firsts)
            self.rows.append(Row("time to first token", "qwq-edge --server", med, lo, hi, "ms"))
            self._resume(eng)
            eng.close()
        with LlamaServer(self.model, n_ctx=4096, parallel=2, threads=threads) as srv:
            one = self._clients(srv.url, 1)
            two = self._clients(srv.url, 2)
            self.rows.append(
                Row("server, --parallel 2", "two clients", two, unit="tok/s", ratio=two / one,
                    note=f"aggregate; one client {one:.1f} tok/s")
            )  # fmt: skip

    def _server_alone(self, eng: RemoteEngine, seed: int) -> float:
        """llama-server's decode for the same prompt in one request, by its own timings."""
        prompt = eng.tokenize(
            f"<|im_start|>user\n{STORY}<|im_end|>\n<|im_start|>assistant\n", trusted=True
        )
        body = eng._body(prompt, self.sampling, seed, None)
        body.update(n_predict=self.tokens, cache_prompt=False, ignore_eos=True)
        data = eng.api.post("/completion", body)
        return float(data["timings"]["predicted_per_second"])

    def _resume(self, eng: RemoteEngine) -> None:
        settings = Settings(
            max_tokens=self.tokens, min_searches=1, max_searches=1, sampling=self.sampling
        )
        agent = Agent(eng, FixtureSearch(300), settings)
        stats: list[Stats] = []
        run_turn(agent, "Who won the 2022 FIFA World Cup final?", _collect(stats))
        tool = next((s for s in stats if s.phase == "tool_call"), None)
        if tool is None or stats.index(tool) + 1 >= len(stats):
            return
        resume = stats[stats.index(tool) + 1]
        appended = resume.context_used - resume.tokens_generated - tool.context_used
        self.rows.append(
            Row("resume after a search", "qwq-edge --server", resume.prompt_seconds * 1000,
                unit="ms", note=f"{resume.tokens_evaluated} tokens evaluated for {appended} "
                f"appended; {resume.tokens_reused} from the slot")
        )  # fmt: skip

    def _clients(self, url: str, n: int) -> float:
        """Aggregate tok/s of ``n`` clients decoding at once, each on its own engine."""
        engines = [RemoteEngine(url) for _ in range(n)]
        counts = [0] * n
        prompt = f"<|im_start|>user\n{STORY}<|im_end|>\n<|im_start|>assistant\n"

        def work(i: int) -> None:
            eng = engines[i]
            gen = Generation()
            ctx = eng.tokenize(prompt + " " * i, trusted=True)
            for _ in eng.stream(ctx, gen, sampling=self.sampling, seed=i, max_tokens=self.tokens):
                pass
            counts[i] = len(gen.tokens)

        t0 = time.perf_counter()
        workers = [threading.Thread(target=work, args=(i,)) for i in range(n)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - t0
        for eng in engines:
            eng.close()
        return sum(counts) / wall


def _collect(into: list[Stats]) -> Callable[[Event], None]:
    def consume(e: Event) -> None:
        if isinstance(e, Stats):
            into.append(e)

    return consume
