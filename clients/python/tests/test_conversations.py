"""The conversations module against a real store-server (env STORE_SERVER_BIN) and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest

from agent_store import AsyncStoreClient, ErrorCode, ServerError, StoreClient
from agent_store.conversations import AsyncConversations, Conversations

from server_process import SERVER_BIN, ServerProcess

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run integration tests")


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


def test_conversation_lifecycle(server):
    user = f"py-{uuid.uuid4().hex[:8]}"
    with StoreClient.connect("127.0.0.1", server.port) as client:
        conversations = Conversations(client)
        first = conversations.create(user_id=user, metadata={"n": 1, "f": 2.0, "tags": ["a", None]})
        assert first.title == "New Conversation"
        assert first.metadata == {"n": 1, "f": 2.0, "tags": ["a", None]}
        assert isinstance(first.metadata["f"], float)
        second = conversations.create(user_id=user, title="second")
        assert conversations.get(first.id) == first
        renamed = conversations.update(first.id, title="renamed")
        assert renamed.title == "renamed" and renamed.updated_at_ms >= first.updated_at_ms
        assert conversations.get(first.id).title == "renamed"
        page = conversations.list(user, limit=1)
        assert [c.id for c in page.conversations] == [second.id]
        assert page.continuation is not None
        assert [c.id for c in conversations.iterate(user, page_size=1)] == [second.id, first.id]

        with pytest.raises(ServerError) as raised:
            conversations.create(title="x" * 256)
        assert raised.value.code == ErrorCode.INVALID_ARGUMENT

        execution = conversations.create_execution(first.id, "planner", "supervisor", {"task": "t"}, start=False)
        assert execution.status == "pending"
        with pytest.raises(ServerError) as raised:
            conversations.complete_execution(execution.id, output=1, tokens_used=3)
        assert raised.value.code == ErrorCode.CONFLICT
        assert conversations.start_execution(execution.id).status == "running"
        done = conversations.complete_execution(execution.id, output={"ok": True}, tokens_used=42)
        assert done.status == "completed" and done.tokens_used == 42 and done.duration_ms is not None
        worker = conversations.create_execution(first.id, "coder", "worker", "go")
        failed = conversations.fail_execution(worker.id, "boom", tokens_used=5)
        assert failed.status == "failed" and failed.error_message == "boom"
        assert [e.id for e in conversations.executions(first.id)] == [execution.id, worker.id]
        totals = {t.agent_name: t for t in conversations.totals(conversation_id=first.id)}
        assert totals["planner"].tokens_used == 42 and totals["coder"].executions == 1

        assert conversations.delete(first.id) == 2
        with pytest.raises(ServerError) as raised:
            conversations.get_execution(execution.id)
        assert raised.value.code == ErrorCode.NOT_FOUND


async def test_async_conversations(server):
    async with AsyncStoreClient("127.0.0.1", server.port) as client:
        conversations = AsyncConversations(client)
        created = await conversations.create(title="async")
        assert (await conversations.get(created.id)).title == "async"
        assert await conversations.executions(created.id) == []
        assert await conversations.delete(created.id) == 0
