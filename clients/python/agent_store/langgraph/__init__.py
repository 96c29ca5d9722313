"""LangGraph integrations (need the ``langgraph`` package)."""
from .store import AgentStoreStore

__all__ = ["AgentStoreStore"]
