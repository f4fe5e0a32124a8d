"""The bench's real llama-server, for the remote-engine tests (see qwq_edge/bench/server.py)."""

from qwq_edge.bench.server import LlamaServer, server_binary

__all__ = ["LlamaServer", "server_binary"]
