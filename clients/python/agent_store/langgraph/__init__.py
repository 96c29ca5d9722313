"""LangGraph persistence over agent-store: ``AgentStoreSaver`` (a ``BaseCheckpointSaver``).
Needs the ``langgraph-checkpoint`` package; the rest of ``agent_store`` does not."""
from .saver import AgentStoreSaver

__all__ = ["AgentStoreSaver"]
