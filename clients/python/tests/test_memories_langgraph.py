"""AgentStoreStore (LangGraph BaseStore) against a real store-server, for what LangGraph's own
suite (tests/langgraph_store) does not cover: the async client mode, use from other threads,
embedding functions and metrics, unscored items after scored ones across pages, namespace roots."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest

pytest.importorskip("langgraph")

from langgraph.store.base import GetOp, PutOp, SearchOp  # noqa: E402

from agent_store import AsyncStoreClient, ClientClosedError, StoreClient  # noqa: E402
from agent_store.langgraph import AgentStoreStore  # noqa: E402
from agent_store.memories import AsyncMemoryClient, MemoryClient  # noqa: E402
from server_process import SERVER_BIN, ServerProcess  # noqa: E402

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("lgstore") / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def memories(server):
    client = StoreClient.connect("127.0.0.1", server.port)
    yield MemoryClient(client)
    client.close()


@pytest.fixture
def root():
    return (f"lg-{uuid.uuid4().hex[:10]}",)


def axis_embed(texts: list[str]) -> list[list[float]]:
    """3-d embeddings a test can reason about: the axis named by the text's first letter."""
    axes = {"x": [1.0, 0.0, 0.0], "y": [0.0, 1.0, 0.0], "z": [0.0, 0.0, 1.0]}
    return [axes.get(text[:1], [0.5, 0.5, 0.5]) for text in texts]


def test_items_have_utc_datetimes_and_roots_are_hidden(memories, root):
    store = AgentStoreStore(memories, namespace_root=root)
    store.put(("a", "b"), "k", {"v": 1})
    item = store.get(("a", "b"), "k")
    assert item.namespace == ("a", "b")
    assert item.created_at.tzinfo is not None and item.created_at.utcoffset().total_seconds() == 0
    assert item.updated_at >= item.created_at
    assert store.list_namespaces() == [("a", "b")]
    assert store.list_namespaces(max_depth=1) == [("a",)]
    # Another root sees nothing of this one.
    other = AgentStoreStore(memories, namespace_root=(root[0] + "-other",))
    assert other.search(()) == [] and other.list_namespaces() == []
    # Through the raw client the item sits under the root.
    assert memories.get((*root, "a", "b"), "k").value == {"v": 1}


def test_search_without_query_is_newest_first(memories, root):
    store = AgentStoreStore(memories, namespace_root=root)
    for i in range(5):
        store.put(("n",), f"k{i}", {"i": i})
    store.put(("n",), "k1", {"i": 10})  # updated last
    assert [item.key for item in store.search(("n",))] == ["k1", "k4", "k3", "k2", "k0"]
    assert all(item.score is None for item in store.search(("n",)))


def test_fields_metric_and_unscored_items_after_scored(memories, root):
    store = AgentStoreStore(memories, namespace_root=root,
                            index={"dims": 3, "embed": axis_embed, "fields": ["text"],
                                   "distance_type": "inner_product"},
                            collection=f"lgtest_ip_{uuid.uuid4().hex[:8]}")
    store.put(("d",), "x", {"text": "xylophone"})
    store.put(("d",), "y", {"text": "yak"})
    store.put(("d",), "none1", {"other": "no text field"})      # no vector: field missing
    store.put(("d",), "none2", {"text": "zebra"}, index=False)  # no vector: not indexed
    results = store.search(("d",), query="x marks")
    assert [r.key for r in results[:2]] == ["x", "y"]
    assert results[0].score == pytest.approx(1.0) and results[1].score == pytest.approx(0.0)
    # Unscored items follow in the order they were stored, as LangGraph's InMemoryStore keeps
    # them (its "scoreless" list is in insertion order); the server returns them oldest first.
    assert [r.key for r in results[2:]] == ["none1", "none2"]
    assert all(r.score is None for r in results[2:])
    # The same order, page by page, across the scored/unscored boundary.
    paged = [r.key for offset in range(4) for r in store.search(("d",), query="x marks",
                                                                  limit=1, offset=offset)]
    assert paged == ["x", "y", "none1", "none2"]
    assert [r.key for r in store.search(("d",), query="x", limit=2, offset=3)] == ["none2"]
    assert store.search(("d",), query="x", offset=4) == []


def test_zero_vectors_leave_the_field_unindexed_for_cosine(memories, root):
    def embed(texts: list[str]) -> list[list[float]]:
        return [[0.0, 0.0, 0.0] if not text else [1.0, 0.0, 0.0] for text in texts]

    store = AgentStoreStore(memories, namespace_root=root,
                            index={"dims": 3, "embed": embed, "fields": ["text"]},
                            collection=f"lgtest_zero_{uuid.uuid4().hex[:8]}")
    store.put(("z",), "empty", {"text": ""})
    store.put(("z",), "full", {"text": "x"})
    results = store.search(("z",), query="x")
    assert [(r.key, r.score is None) for r in results] == [("full", False), ("empty", True)]


def test_async_memory_client_mode(server, root):
    async def scenario():
        client = await AsyncStoreClient.connect("127.0.0.1", server.port)
        async with client:
            store = AgentStoreStore(AsyncMemoryClient(client), namespace_root=root,
                                    index={"dims": 3, "embed": axis_embed},
                                    collection=f"lgtest_cos_{uuid.uuid4().hex[:8]}")
            await store.aput(("a",), "x", {"text": "x"})
            await store.aput(("a",), "y", {"text": "y"})
            got = await store.aget(("a",), "x")
            assert got is not None and got.value == {"text": "x"}
            results = await store.asearch(("a",), query="y")
            assert [r.key for r in results] == ["y", "x"]
            # Blocking calls from the loop's own thread would deadlock: refused.
            with pytest.raises(asyncio.InvalidStateError):
                store.get(("a",), "x")
            # From another thread they run on the store's loop.
            found = await asyncio.to_thread(store.get, ("a",), "y")
            assert found is not None and found.key == "y"
    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_blocking_store_from_many_threads_and_loops(memories, root):
    store = AgentStoreStore(memories, namespace_root=root)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(10):
                store.put(("t", str(n)), f"k{i}", {"n": n, "i": i})
            asyncio.run(store.aput(("t", str(n)), "async", {"n": n}))
            assert len(store.search(("t", str(n)), limit=20)) == 11
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(store.list_namespaces(prefix=("t",))) == 4


def test_batch_mixes_operations_in_order(memories, root):
    store = AgentStoreStore(memories, namespace_root=root)
    results = store.batch([
        PutOp(("b",), "k", {"v": 1}),
        GetOp(("b",), "k"),
        PutOp(("b",), "k", None),
        GetOp(("b",), "k"),
        SearchOp(("b",)),
    ])
    assert results[0] is None
    assert results[1].value == {"v": 1}
    assert results[2] is None and results[3] is None and results[4] == []


def test_limit_above_max_k_is_paged(memories, root):
    store = AgentStoreStore(memories, namespace_root=root)
    max_k = memories.max_k
    count = max_k + 5
    for start in range(0, count, 500):
        store.batch([PutOp(("many",), f"k{i:05d}", {"i": i})
                     for i in range(start, min(count, start + 500))])
    results = store.search(("many",), limit=count + 10)
    assert len(results) == count
    assert len({r.key for r in results}) == count


def test_batch_resent_when_the_server_dies_mid_call(tmp_path, root):
    # A server of its own: this test kills it.
    process = ServerProcess(tmp_path / "server.log")
    process.start()
    client = StoreClient.connect("127.0.0.1", process.port)
    try:
        store = AgentStoreStore(MemoryClient(client), namespace_root=root)
        store.put(("r",), "k", {"v": 1})
        process.pause()  # the next call is sent but never answered by this process
        outcome: list[object] = []
        thread = threading.Thread(target=lambda: outcome.append(store.get(("r",), "k")))
        thread.start()
        time.sleep(0.3)
        process.kill()   # the connection breaks with the call in flight
        process.start()  # same port, same database
        thread.join(30)
        assert not thread.is_alive()
        assert len(outcome) == 1 and outcome[0].value == {"v": 1}
    finally:
        client.close()
        process.stop()


def test_batches_over_the_server_limit_are_split(memories, root):
    from agent_store.memories import BATCH_OPERATIONS_MAX

    store = AgentStoreStore(memories, namespace_root=root)
    count = 2 * BATCH_OPERATIONS_MAX + 7
    ops = [PutOp(("big",), f"k{i:05d}", {"i": i}) for i in range(count)]
    ops.append(GetOp(("big",), f"k{count - 1:05d}"))  # sees the put before it, in order
    results = store.batch(ops)
    assert len(results) == count + 1
    assert results[-1].value == {"i": count - 1}
    assert len(store.search(("big",), limit=count)) == count


def test_connect_owns_its_connection(server, root):
    with AgentStoreStore.connect("127.0.0.1", server.port, namespace_root=root,
                                 ttl={"default_ttl": 5.0}) as store:
        store.put(("c",), "k", {"v": 1})
        assert store.get(("c",), "k").value == {"v": 1}
        store_client = store._owned_store_client
        assert store_client is not None
    assert store._owned_store_client is None
    with pytest.raises(ClientClosedError):
        store.get(("c",), "k")  # closed with the store
