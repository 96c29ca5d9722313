"""Puts ``AgentStoreStore`` in place of LangGraph's ``InMemoryStore`` for LangGraph's own store
tests (copied next to them by run.py). The tests build ``InMemoryStore()`` or
``InMemoryStore(index=...)`` and expect a fresh, empty store each time: every instance here is an
``AgentStoreStore`` on one shared store-server (started once, against the test command's
PostgreSQL), under a namespace root of its own that callers never see."""
from __future__ import annotations

import atexit
import itertools
import os
import pathlib
import uuid

import langgraph.store.memory

from agent_store import StoreClient
from agent_store.langgraph import AgentStoreStore
from agent_store.memories import MemoryClient
from server_process import ServerProcess

_RUN_ID = uuid.uuid4().hex[:12]
_instances = itertools.count()
_shared: dict[str, object] = {}


def _memory_client() -> MemoryClient:
    client = _shared.get("memory")
    if client is None:
        logs = pathlib.Path(os.environ.get("LANGGRAPH_STORE_SUITE_LOGS", "."))
        logs.mkdir(parents=True, exist_ok=True)
        server = ServerProcess(logs / "server.log")
        server.start()
        atexit.register(server.stop)
        store_client = StoreClient.connect("127.0.0.1", server.port, timeout=60.0)
        atexit.register(store_client.close)
        client = _shared["memory"] = MemoryClient(store_client)
    return client  # type: ignore[return-value]


class SuiteStore(AgentStoreStore):
    """``InMemoryStore``'s constructor (``index`` only), with a fresh namespace root."""

    def __init__(self, *, index=None) -> None:  # type: ignore[no-untyped-def]
        root = (f"lgsuite-{_RUN_ID}-{next(_instances)}",)
        # The suite's fake embeddings are the same for every test (same seed and dims), so the
        # collection may be shared; the namespace root keeps each test's items apart.
        super().__init__(_memory_client(), index=index, namespace_root=root)


langgraph.store.memory.InMemoryStore = SuiteStore  # type: ignore[misc]


def pytest_collection_finish(session) -> None:  # type: ignore[no-untyped-def]
    """Fails the run when the substitution did not take: passing tests that ran against
    LangGraph's in-memory store would prove nothing about ours."""
    import sys

    import pytest

    module = sys.modules.get("tests.test_store")
    if module is None or module.InMemoryStore is not SuiteStore:
        raise pytest.UsageError("tests/test_store.py does not use AgentStoreStore")


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    created = next(_instances)
    terminalreporter.write_line(f"AgentStoreStore instances created by the suite: {created}")
