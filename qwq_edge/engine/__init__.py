"""Model backends behind the ``Engine`` protocol (llama-cpp-python is imported lazily)."""

from qwq_edge.engine.base import CallStats, Engine, Generation, ModelInfo

__all__ = ["CallStats", "Engine", "Generation", "ModelInfo"]
