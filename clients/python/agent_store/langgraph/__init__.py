"""LangGraph persistence over agent-store: ``AgentStoreSaver`` (a ``BaseCheckpointSaver``) and
``AgentStoreStore`` (a ``BaseStore``). Needs the ``langgraph`` packages; the rest of
``agent_store`` does not."""
from .saver import AgentStoreSaver, CheckpointConflictError
from .store import AgentStoreStore

__all__ = ["AgentStoreSaver", "AgentStoreStore", "CheckpointConflictError"]
