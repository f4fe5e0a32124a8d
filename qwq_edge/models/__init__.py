"""Everything about which model, where it is, and whether it fits: the catalog, resolution
from a name, path, config or env, file naming and hashing, the GGUF header, hardware facts,
the fit planner and pull. The engine receives a ``ModelFile`` and a ``Plan`` from here."""

from qwq_edge.models.files import ModelFile, open_model
from qwq_edge.models.fit import Plan

__all__ = ["ModelFile", "Plan", "open_model"]
