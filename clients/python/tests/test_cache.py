"""The cache module against a real store-server (env STORE_SERVER_BIN) and the test Redis."""
from __future__ import annotations

import time
import uuid

import pytest

from agent_store import AsyncStoreClient, ErrorCode, ServerError, StoreClient
from agent_store.cache import AsyncCache, Cache

from server_process import SERVER_BIN, ServerProcess

pytestmark = pytest.mark.skipif(not SERVER_BIN, reason="set STORE_SERVER_BIN to run integration tests")


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


def test_cache_round_trip_ttl_delete_clear(server):
    prefix = f"py:{uuid.uuid4().hex[:8]}:".encode()
    awkward = b"\x00\r\n\xff$*\r\n\x00"
    with StoreClient.connect("127.0.0.1", server.port) as client:
        cache = Cache(client)
        cache.set(prefix + b"a\x00\xff", awkward, ttl=60)
        assert cache.get(prefix + b"a\x00\xff") == awkward
        assert cache.get(prefix + b"missing") is None
        cache.set(prefix + b"short", b"v", ttl=0.15)
        time.sleep(0.4)
        assert cache.get(prefix + b"short") is None
        cache.set(prefix + b"b", b"1")
        cache.set(prefix + b"c", b"2")
        assert cache.delete(prefix + b"b", prefix + b"zzz") == 1
        assert cache.clear(prefix) == 2
        assert cache.get(prefix + b"c") is None
        with pytest.raises(ServerError) as raised:
            cache.get(b"")
        assert raised.value.code == ErrorCode.INVALID_ARGUMENT


async def test_async_cache(server):
    prefix = f"pya:{uuid.uuid4().hex[:8]}:".encode()
    async with AsyncStoreClient("127.0.0.1", server.port) as client:
        cache = AsyncCache(client)
        await cache.set(prefix + b"k", b"\x00v")
        assert await cache.get(prefix + b"k") == b"\x00v"
        assert await cache.clear(prefix) == 1
