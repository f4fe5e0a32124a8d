"""The search-and-resume agent: yields typed events; knows nothing about rendering."""

from qwq_edge.agent.loop import Agent
from qwq_edge.agent.state import Controls

__all__ = ["Agent", "Controls"]
