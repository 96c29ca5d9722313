"""TTL semantics against a real store-server: expired items are never returned (even before
the sweeper removes them), reads refresh when asked, and a refresh never revives an expired
item. Through the raw client (milliseconds) and through AgentStoreStore (LangGraph minutes)."""
from __future__ import annotations

import time
import uuid

import pytest

from agent_store import StoreClient
from agent_store.memories import GetRequest, MemoryClient, SearchRequest
from server_process import SERVER_BIN, ServerProcess

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run")

#: Short enough to keep the suite quick, long enough that a loaded 2-core machine finishes the
#: calls between sleeps well inside it.
TTL_MS = 1500


@pytest.fixture(scope="module")
def memories(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("ttl") / "server.log")
    process.start()
    client = StoreClient.connect("127.0.0.1", process.port)
    yield MemoryClient(client)
    client.close()
    process.stop()


@pytest.fixture
def root():
    return f"ttl-{uuid.uuid4().hex[:10]}"


def now_us() -> int:
    return time.time_ns() // 1000


def test_expiry_is_set_from_the_ttl(memories, root):
    before = now_us()
    item = memories.put((root,), "k", {"v": 1}, ttl_ms=TTL_MS)
    assert item.expires_at_us is not None
    assert before + TTL_MS * 1000 - 50_000 <= item.expires_at_us <= now_us() + TTL_MS * 1000
    assert memories.put((root,), "k", {"v": 2}).expires_at_us is None  # absent = no expiry
    assert memories.get((root,), "k").expires_at_us is None


def test_expired_items_are_never_returned(memories, root):
    memories.put((root, "x"), "short", {"v": 1}, ttl_ms=TTL_MS)
    memories.put((root, "x"), "long", {"v": 2})
    assert memories.get((root, "x"), "short") is not None
    time.sleep(TTL_MS / 1000 + 0.3)
    # The sweeper may not have run yet: reads must still hide the item.
    assert memories.get((root, "x"), "short") is None
    assert memories.get((root, "x"), "short", refresh_ttl=True) is None
    assert [i.key for i in memories.search((root,))] == ["long"]
    assert [i.key for i in memories.search((root,), filter={"v": 1})] == []
    batched = memories.batch([GetRequest((root, "x"), "short", True), SearchRequest((root,))])
    assert batched[0] is None
    assert [i.key for i in batched[1]] == ["long"]


def test_namespace_of_only_expired_items_is_not_listed(memories, root):
    memories.put((root, "gone"), "k", {}, ttl_ms=TTL_MS)
    memories.put((root, "kept"), "k", {})
    time.sleep(TTL_MS / 1000 + 0.3)
    assert memories.list_namespaces(prefix=(root,)) == [(root, "kept")]


def test_read_with_refresh_pushes_expiry_forward(memories, root):
    put = memories.put((root,), "k", {}, ttl_ms=TTL_MS)
    time.sleep(TTL_MS / 1000 * 0.6)
    plain = memories.get((root,), "k", refresh_ttl=False)
    assert plain.expires_at_us == put.expires_at_us  # no refresh asked: unchanged
    refreshed_at = now_us()
    refreshed = memories.get((root,), "k", refresh_ttl=True)
    assert refreshed is not None
    # The refresh uses the item's own TTL, counted from the read.
    stored = memories.get((root,), "k", refresh_ttl=False)
    assert stored.expires_at_us > put.expires_at_us
    assert stored.expires_at_us >= refreshed_at + TTL_MS * 1000 - 50_000
    # Past the original expiry, the item is still there.
    time.sleep(max(0.0, (put.expires_at_us - now_us()) / 1e6) + 0.2)
    assert memories.get((root,), "k", refresh_ttl=False) is not None


def test_search_with_refresh_pushes_expiry_forward(memories, root):
    put = memories.put((root,), "k", {}, ttl_ms=TTL_MS)
    time.sleep(TTL_MS / 1000 * 0.5)
    assert [i.key for i in memories.search((root,), refresh_ttl=True)] == ["k"]
    stored = memories.get((root,), "k", refresh_ttl=False)
    assert stored.expires_at_us > put.expires_at_us


def test_refresh_never_revives_an_expired_item(memories, root):
    memories.put((root,), "k", {}, ttl_ms=TTL_MS)
    time.sleep(TTL_MS / 1000 + 0.3)
    assert memories.get((root,), "k", refresh_ttl=True) is None
    assert memories.search((root,), refresh_ttl=True) == []
    assert memories.get((root,), "k", refresh_ttl=False) is None


def test_langgraph_store_ttl(memories, root):
    pytest.importorskip("langgraph")
    from agent_store.langgraph import AgentStoreStore

    minutes = TTL_MS / 60_000
    store = AgentStoreStore(memories, ttl={"default_ttl": minutes, "refresh_on_read": True},
                            namespace_root=(root,))
    assert store.supports_ttl
    store.put(("a",), "default", {"v": 1})                   # default_ttl applies
    store.put(("a",), "forever", {"v": 2}, ttl=None)         # explicitly no expiry
    store.put(("a",), "longer", {"v": 3}, ttl=minutes * 4)  # its own TTL
    time.sleep(TTL_MS / 1000 * 0.6)
    assert store.get(("a",), "default") is not None          # refresh_on_read: refreshed
    assert store.get(("a",), "longer", refresh_ttl=False) is not None
    time.sleep(TTL_MS / 1000 * 0.6)
    # Past the original expiry of "default", kept alive by the refresh.
    assert store.get(("a",), "default", refresh_ttl=False) is not None
    time.sleep(TTL_MS / 1000 + 0.3)
    assert store.get(("a",), "default") is None
    assert sorted(i.key for i in store.search(("a",))) == ["forever", "longer"]
    assert store.get(("a",), "forever").value == {"v": 2}


def test_langgraph_store_without_refresh_on_read(memories, root):
    pytest.importorskip("langgraph")
    from agent_store.langgraph import AgentStoreStore

    store = AgentStoreStore(memories, ttl={"default_ttl": TTL_MS / 60_000,
                                           "refresh_on_read": False},
                            namespace_root=(root,))
    store.put(("a",), "k", {"v": 1})
    time.sleep(TTL_MS / 1000 * 0.6)
    assert store.get(("a",), "k") is not None  # a read, but no refresh by default
    time.sleep(TTL_MS / 1000 * 0.6)
    assert store.get(("a",), "k") is None
