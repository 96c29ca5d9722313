"""Client connection logic against the scripted spec peer (tests/peer.py): runs without the real
server, so the parts the server may not exercise yet (chunked responses, streams, server pings,
GO_AWAY, checksums) are covered on every run."""
from __future__ import annotations

import asyncio
import struct

import pytest

from agent_store import (
    AsyncStoreClient, ClientTimeoutError, ConnectionLostError, ErrorCode, ServerError,
    StoreClient,
)

from peer import ECHO, GO_AWAY_NOW, SERVER_PING, SLOW, STREAM, Peer


def run(scenario, **peer_options):
    async def main():
        peer = Peer(**peer_options)
        await peer.start()
        try:
            await asyncio.wait_for(scenario(peer), 30)
        finally:
            await peer.stop()
        assert peer.errors == []
    asyncio.run(main())


@pytest.mark.parametrize("checksums", [False, True])
def test_chunking_both_ways(checksums):
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port,
                                                  checksums=checksums) as client:
            assert client.hello.checksums == checksums
            body = bytes(range(256)) * 100  # 25 600 bytes: 7 frames of at most 4096
            small = asyncio.ensure_future(client.request(ECHO, b"small"))
            response = await client.request(ECHO, body)
            assert response.body == body
            assert (await small).body == b"small"
            assert (await client.request(ECHO, b"")).body == b""
    run(scenario)


def test_token_auth_then_large_frames():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port,
                                                  token="t0ken") as client:
            assert client.principal == "tester"
            assert (await client.request(ECHO, bytes(10000))).body == bytes(10000)
        with pytest.raises(ServerError) as caught:
            await AsyncStoreClient.connect("127.0.0.1", peer.port, token="nope")
        assert caught.value.code == ErrorCode.AUTH_FAILED
    run(scenario, token=b"t0ken", frame_body_bytes_max=8192)


def test_stream_yields_partials_then_final():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            parts = [r async for r in client.stream(STREAM, struct.pack("<I", 5))]
            assert [p.partial for p in parts] == [True] * 5 + [False]
            assert [p.body[:4] for p in parts[:5]] == [struct.pack("<I", i) for i in range(5)]
            assert parts[-1].body == b"done"
            # request() on a streamed operation returns the final response.
            assert (await client.request(STREAM, struct.pack("<I", 3))).body == b"done"
    run(scenario)


def test_timeout_sends_cancel_and_connection_survives():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            with pytest.raises(ClientTimeoutError) as caught:
                await client.request(SLOW, b"", timeout=0.2)
            assert caught.value.outcome_unknown
            assert await client.ping(9) == 9
            assert len(peer.cancelled) == 1
            assert client._live_connection.in_flight == 0  # the cancelled answer arrived
    run(scenario)


def test_explicit_cancel():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            call = await client.start(SLOW, b"")
            await call.cancel()
            with pytest.raises(ServerError) as caught:
                await call.result()
            assert caught.value.code == ErrorCode.CANCELLED and caught.value.outcome_unknown
            assert peer.cancelled == [call.request_id]
    run(scenario)


def test_task_cancellation_sends_cancel():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            task = asyncio.ensure_future(client.request(SLOW, b""))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await client.ping(1) == 1
            assert len(peer.cancelled) == 1
    run(scenario)


def test_server_ping_is_answered():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            response = await client.request(SERVER_PING, b"", timeout=5)
            assert int.from_bytes(response.body, "little") == 100
    run(scenario, checksums=True)


def test_go_away_moves_new_calls_to_a_new_connection():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            await client.request(GO_AWAY_NOW, b"")
            assert await client.ping(3) == 3
            assert client.connections_opened == 2
            assert peer.connections == 2
    run(scenario)


def test_broken_connection_fails_calls_in_flight_and_reconnects():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            call = await client.start(SLOW, b"")
            peer.drop_connections()
            with pytest.raises(ConnectionLostError) as caught:
                await call.result()
            assert caught.value.outcome_unknown and caught.value.retryable
            assert await client.ping(4) == 4
            assert client.connections_opened == 2
    run(scenario)


def test_concurrent_calls_matched_by_id():
    async def scenario(peer):
        async with await AsyncStoreClient.connect("127.0.0.1", peer.port) as client:
            bodies = [bytes([i % 251]) * (i * 37) for i in range(200)]
            responses = await asyncio.gather(*(client.request(ECHO, b) for b in bodies))
            assert [r.body for r in responses] == bodies
    run(scenario)


def test_blocking_client():
    async def scenario(peer):
        def blocking():
            with StoreClient.connect("127.0.0.1", peer.port) as client:
                assert client.ping(7) == 7
                parts = list(client.stream(STREAM, struct.pack("<I", 2)))
                assert len(parts) == 3 and parts[-1].body == b"done"
                assert client.request(ECHO, b"x" * 9000).body == b"x" * 9000
        await asyncio.get_running_loop().run_in_executor(None, blocking)
    run(scenario)
