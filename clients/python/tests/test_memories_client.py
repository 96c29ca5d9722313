"""Memory operations (0x0401-0x0407) through the Python clients against a real store-server
(STORE_SERVER_BIN) and the test command's PostgreSQL. Every test works under a namespace and a
collection of its own."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from agent_store import AsyncStoreClient, ErrorCode, ServerError, StoreClient
from agent_store.memories import (
    AsyncMemoryClient, DeleteRequest, GetRequest, ListNamespacesRequest, MemoryClient, Metric,
    PutRequest, SearchRequest,
)
from server_process import SERVER_BIN, ServerProcess

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("memories") / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def root():
    return f"mem-{uuid.uuid4().hex[:10]}"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


async def connect(server) -> tuple[AsyncStoreClient, AsyncMemoryClient]:
    client = await AsyncStoreClient.connect("127.0.0.1", server.port)
    return client, AsyncMemoryClient(client)


def test_put_get_delete(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            stored = await memories.put((root, "a"), "k", {"text": "hi", "n": [1, {"x": None}]})
            assert stored.namespace == (root, "a") and stored.key == "k"
            assert stored.value == {"text": "hi", "n": [1, {"x": None}]}
            assert stored.expires_at_us is None
            assert stored.updated_at_us >= stored.created_at_us > 0
            got = await memories.get((root, "a"), "k")
            assert got == stored
            again = await memories.put((root, "a"), "k", {"text": "bye"})
            assert again.value == {"text": "bye"}
            assert again.updated_at_us >= stored.updated_at_us
            assert (await memories.get((root, "a"), "k")).value == {"text": "bye"}
            await memories.delete((root, "a"), "k")
            assert await memories.get((root, "a"), "k") is None
            await memories.delete((root, "a"), "k")  # deleting a missing item is fine
    run(scenario())


def test_collections_vectors_and_errors(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            collection = f"c_{root.replace('-', '_')}"
            await memories.collection_ensure(collection, 3, Metric.COSINE)
            await memories.collection_ensure(collection, 3, Metric.COSINE)  # idempotent
            with pytest.raises(ServerError) as caught:
                await memories.collection_ensure(collection, 4, Metric.COSINE)
            assert caught.value.code == ErrorCode.CONFLICT
            with pytest.raises(ServerError) as caught:
                await memories.collection_ensure(collection, 3, Metric.L2)
            assert caught.value.code == ErrorCode.CONFLICT
            with pytest.raises(ServerError) as caught:
                await memories.put((root,), "k", {}, collection=collection,
                                   vectors=[("$", [1.0, 0.0])])
            assert caught.value.code == ErrorCode.DIMENSION_MISMATCH
            with pytest.raises(ServerError) as caught:
                await memories.put((root,), "k", {}, collection=collection + "_missing",
                                   vectors=[("$", [1.0, 0.0, 0.0])])
            assert caught.value.code == ErrorCode.NOT_FOUND

            await memories.put((root,), "x", {"t": "x"}, collection=collection,
                               vectors=[("$", [1.0, 0.0, 0.0])])
            await memories.put((root,), "y", {"t": "y"}, collection=collection,
                               vectors=[("a", [0.0, 1.0, 0.0]), ("b", [0.6, 0.8, 0.0])])
            await memories.put((root,), "z", {"t": "z"}, collection=collection,
                               vectors=[("$", [0.0, 0.0, 1.0])])
            results = await memories.search((root,), collection=collection,
                                            query=[1.0, 0.0, 0.0], limit=3)
            assert [r.key for r in results] == ["x", "y", "z"]
            assert results[0].score == pytest.approx(1.0, abs=1e-5)
            assert results[1].score == pytest.approx(0.6, abs=1e-5)  # best field counts
            assert results[2].score == pytest.approx(0.0, abs=1e-5)
            # A put with no vectors drops the item's previous ones.
            await memories.put((root,), "x", {"t": "x2"})
            results = await memories.search((root,), collection=collection,
                                            query=[1.0, 0.0, 0.0], limit=3)
            scored = [r.key for r in results if r.score is not None]
            assert scored == ["y", "z"]
    run(scenario())


def test_search_prefix_filter_order_and_paging(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            await memories.put((root, "users", "a"), "1", {"color": "red", "n": 1,
                                                           "meta": {"tier": "gold"}})
            await memories.put((root, "users", "ab"), "2", {"color": "red", "n": 2})
            await memories.put((root, "users", "a", "deep"), "3", {"color": "blue", "n": 3,
                                                                   "meta": {"tier": "silver"}})
            await memories.put((root, "users", "a"), "4", {"color": "green", "n": 4})
            found = await memories.search((root, "users", "a"), limit=10)
            # Label boundaries: ("users", "ab") is not under ("users", "a"); newest first.
            assert [r.key for r in found] == ["4", "3", "1"]
            assert all(r.score is None for r in found)
            by_filter = await memories.search((root,), filter={"color": "red"})
            assert sorted(r.key for r in by_filter) == ["1", "2"]
            ranged = await memories.search((root,), filter={"n": {"$gte": 2, "$lt": 4}})
            assert sorted(r.key for r in ranged) == ["2", "3"]
            not_red = await memories.search((root,), filter={"color": {"$ne": "red"}})
            assert sorted(r.key for r in not_red) == ["3", "4"]
            nested = await memories.search((root,), filter={"meta": {"tier": "gold"}})
            assert [r.key for r in nested] == ["1"]
            page = await memories.search((root,), limit=2, offset=1)
            assert [r.key for r in page] == ["3", "2"]
    run(scenario())


def test_search_streams_many_pages(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            total = 300  # more than one 256-item page
            results = await memories.batch([PutRequest((root, "bulk"), f"k{i:03d}", {"i": i})
                                            for i in range(total)])
            assert all(result is None or not isinstance(result, ServerError)
                       for result in results)
            seen = [item.key async for item in memories.search_iter((root,), limit=total)]
            assert len(seen) == total and len(set(seen)) == total
            assert seen[0] == f"k{total - 1:03d}"  # newest first
    run(scenario())


def test_list_namespaces(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            for namespace in [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "c", "f"),
                              ("b", "a", "f")]:
                await memories.put((root, *namespace), "k", {})
            listed = await memories.list_namespaces(prefix=(root,))
            assert listed == [(root, "a", "b", "c"), (root, "a", "b", "d", "e"),
                              (root, "a", "c", "f"), (root, "b", "a", "f")]
            assert await memories.list_namespaces(prefix=(root, "*", "*", "f")) == [
                (root, "a", "c", "f"), (root, "b", "a", "f")]
            assert await memories.list_namespaces(prefix=(root, "a"), suffix=("f",)) == [
                (root, "a", "c", "f")]
            assert await memories.list_namespaces(prefix=(root,), max_depth=3) == [
                (root, "a", "b"), (root, "a", "c"), (root, "b", "a")]
            assert await memories.list_namespaces(prefix=(root,), limit=2, offset=1) == [
                (root, "a", "b", "d", "e"), (root, "a", "c", "f")]
    run(scenario())


def test_batch_runs_in_order_and_reports_each_error(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            results = await memories.batch([
                PutRequest((root,), "k", {"v": 1}),
                GetRequest((root,), "k"),
                PutRequest((root,), "bad", {}, f"missing_{uuid.uuid4().hex}",
                           [("$", [1.0])]),
                DeleteRequest((root,), "k"),
                GetRequest((root,), "k"),
                SearchRequest((root,)),
                ListNamespacesRequest(prefix=(root,)),
            ])
            assert results[0] is None or results[0].value == {"v": 1}
            assert results[1].value == {"v": 1}
            assert isinstance(results[2], ServerError)
            assert results[2].code == ErrorCode.NOT_FOUND
            assert results[3] is None
            assert results[4] is None
            assert results[5] == []
            assert results[6] == []
    run(scenario())


def test_invalid_arguments_are_refused_by_the_server(server, root):
    async def scenario():
        client, memories = await connect(server)
        async with client:
            # A value that is JSON but not an object, sent raw past the client's checks.
            from agent_store.values import Writer
            writer = Writer().u32(1).string(root).string("k").string("[1,2]").string("")
            body = writer.u32(0).u8(0).to_bytes()
            with pytest.raises(ServerError) as caught:
                await client.request(0x0402, body)
            assert caught.value.code == ErrorCode.INVALID_ARGUMENT
    run(scenario())


def test_blocking_client(server, root):
    with StoreClient.connect("127.0.0.1", server.port) as client:
        memories = MemoryClient(client)
        memories.put((root,), "k", {"v": 1}, ttl_ms=60_000)
        item = memories.get((root,), "k")
        assert item is not None and item.value == {"v": 1}
        assert item.expires_at_us is not None
        assert [i.key for i in memories.search((root,))] == ["k"]
        assert [i.key for i in memories.search_iter((root,))] == ["k"]
        assert memories.list_namespaces(prefix=(root,)) == [(root,)]
        memories.delete((root,), "k")
        assert memories.get((root,), "k") is None
