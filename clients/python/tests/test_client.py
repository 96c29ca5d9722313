"""Integration tests against a real ``store-server`` (env ``STORE_SERVER_BIN``, for example
``.build/debug/store-server``). Each test starts its own server on a free loopback port:
``store-server --host 127.0.0.1 --port PORT``, with ``STORE_AUTH_TOKENS=name:token`` when it
needs tokens. Without ``STORE_SERVER_BIN`` these tests are skipped, and only these."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agent_store import (
    AsyncStoreClient, AuthenticationRequiredError, ClientClosedError, ClientError,
    ClientTimeoutError, ConnectionFailedError, ConnectionLostError, ErrorCode, ServerError,
    StoreClient, StoreError,
)

from server_process import SERVER_BIN, ServerProcess, TOKEN, TOKEN_NAME, free_port  # noqa: E402

pytestmark = pytest.mark.skipif(
    not SERVER_BIN,
    reason="set STORE_SERVER_BIN to a store-server binary (e.g. .build/debug/store-server) "
           "to run the integration tests")


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "server.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def auth_server(tmp_path):
    process = ServerProcess(tmp_path / "server.log", {TOKEN_NAME: TOKEN})
    process.start()
    yield process
    process.stop()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def test_handshake(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            hello = client.hello
            assert hello.version == 1
            assert not hello.auth_required  # no tokens, loopback client (section 2.3)
            assert hello.max_frame_body_bytes >= 4096
            assert hello.max_message_bytes >= hello.max_frame_body_bytes
            assert hello.max_in_flight >= 1
            assert hello.checksums is False
            assert client.principal is None
    run(scenario())


def test_handshake_with_checksums(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port,
                                                  checksums=True) as client:
            assert client.hello.capabilities.get("checksum") in ("crc32c", "none")
            assert await client.ping(99) == 99
    run(scenario())


def test_ping(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            assert await client.ping(0x0123456789ABCDEF) == 0x0123456789ABCDEF
            assert await client.ping() >= 1
    run(scenario())


def test_health(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            health = await client.health()
            assert health.status in (1, 2, 3)
            assert health.protocol_version == 1
            assert health.connections >= 1
            assert health.server_version
            for backend in health.backends:
                assert backend.state in (0, 1, 2, 3)
    run(scenario())


def test_200_concurrent_pings_on_one_connection(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            payloads = [1000 + i for i in range(200)]
            echoed = await asyncio.gather(*(client.ping(p) for p in payloads))
            assert echoed == payloads
            assert client.connections_opened == 1
            calls = [await client.start(3, (7 + i).to_bytes(8, "little")) for i in range(50)]
            ids = [call.request_id for call in calls]
            assert ids == sorted(ids) and len(set(ids)) == len(ids)
            responses = await asyncio.gather(*(call.result() for call in reversed(calls)))
            assert [int.from_bytes(r.body, "little") for r in responses] == \
                [7 + i for i in reversed(range(50))]
    run(scenario())


def test_unknown_opcode_keeps_the_connection(server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            with pytest.raises(ServerError) as caught:
                await client.request(0x7777, b"")
            assert caught.value.code == ErrorCode.UNKNOWN_OPCODE
            assert not caught.value.retryable
            assert await client.ping(5) == 5
            assert client.connections_opened == 1
    run(scenario())


def test_chunked_request_is_joined_by_the_server(server):
    """A body over max_frame_body_bytes goes as chunks; the server joins them before judging the
    (unknown) opcode, so the answer is one unknown_opcode and the connection stays open."""
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            size = client.hello.max_frame_body_bytes * 2 + 17
            ping = asyncio.ensure_future(client.ping(1))
            with pytest.raises(ServerError) as caught:
                await client.request(0x7777, bytes(size))
            assert caught.value.code == ErrorCode.UNKNOWN_OPCODE
            assert await ping == 1
            assert await client.ping(2) == 2
    run(scenario())


def test_auth_success(auth_server):
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", auth_server.port,
                                                  token=TOKEN) as client:
            assert client.hello.auth_required
            assert "token" in client.hello.auth_mechanisms
            assert client.principal == TOKEN_NAME
            assert await client.ping(1) == 1
            assert (await client.health()).protocol_version == 1
    run(scenario())


def test_auth_failure(auth_server):
    async def scenario():
        with pytest.raises(ServerError) as caught:
            await AsyncStoreClient.connect("127.0.0.1", auth_server.port, token="wrong")
        assert caught.value.code == ErrorCode.AUTH_FAILED
        assert not caught.value.retryable
        assert not isinstance(caught.value, ClientError)
    run(scenario())


def test_auth_required_without_token(auth_server):
    async def scenario():
        with pytest.raises(AuthenticationRequiredError) as caught:
            await AsyncStoreClient.connect("127.0.0.1", auth_server.port)
        assert not caught.value.retryable
    run(scenario())


def test_client_side_timeout_then_recovery(server):
    """A server that stops answering (SIGSTOP) makes the call time out locally: the client
    raises ClientTimeoutError (outcome unknown) and sends CANCEL; once the server runs again the
    same connection answers, and the late response to the abandoned call is dropped."""
    async def scenario():
        async with await AsyncStoreClient.connect("127.0.0.1", server.port) as client:
            assert await client.ping(1) == 1
            server.pause()
            try:
                started = time.monotonic()
                with pytest.raises(ClientTimeoutError) as caught:
                    await client.ping(2, timeout=0.3)
                elapsed = time.monotonic() - started
                assert 0.25 <= elapsed < 2.0
                assert caught.value.outcome_unknown and caught.value.retryable
                assert isinstance(caught.value, ClientError)
            finally:
                server.resume()
            assert await client.ping(3, timeout=10) == 3
            assert client.connections_opened == 1
    run(scenario())


def test_call_in_flight_fails_when_the_server_dies(server):
    async def scenario():
        client = await AsyncStoreClient.connect("127.0.0.1", server.port, timeout=20)
        try:
            server.pause()
            ping = asyncio.ensure_future(client.ping(4))
            await asyncio.sleep(0.2)
            server.kill()
            with pytest.raises(ConnectionLostError) as caught:
                await ping
            assert caught.value.outcome_unknown and caught.value.retryable
            with pytest.raises(ConnectionFailedError) as refused:
                await client.ping(5)  # nothing listens: the reconnect fails, nothing was sent
            assert not refused.value.outcome_unknown
        finally:
            await client.close()
    run(scenario())


def test_reconnect_after_server_restart(server):
    async def scenario():
        client = await AsyncStoreClient.connect("127.0.0.1", server.port)
        try:
            assert await client.ping(1) == 1
            server.stop()
            server.start()
            # The old connection is gone (GO_AWAY and close, or just close). A call that races
            # the close may fail with a retryable error; the next one reconnects.
            for _ in range(5):
                try:
                    assert await client.ping(2) == 2
                    break
                except StoreError as error:
                    assert error.retryable
                    await asyncio.sleep(0.1)
            else:
                raise AssertionError("no successful ping after the restart")
            assert client.connections_opened == 2
        finally:
            await client.close()
    run(scenario())


def test_close_says_goodbye(server):
    async def scenario():
        client = await AsyncStoreClient.connect("127.0.0.1", server.port)
        calls = [await client.start(3, i.to_bytes(8, "little")) for i in range(1, 20)]
        await client.close()  # GOODBYE: the server completes the calls in flight first
        bodies = [(await call.result()).body for call in calls]
        assert [int.from_bytes(b, "little") for b in bodies] == list(range(1, 20))
        with pytest.raises(ClientClosedError):
            await client.ping(1)
    run(scenario())


def test_blocking_client_from_many_threads(server):
    with StoreClient.connect("127.0.0.1", server.port) as client:
        assert client.hello.version == 1

        def worker(base: int) -> list[int]:
            return [client.ping(base + i) for i in range(25)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(worker, range(0, 8000, 1000)))
        assert results == [[base + i for i in range(25)] for base in range(0, 8000, 1000)]
        assert client.health().protocol_version == 1
        assert threading.active_count() >= 2  # the client's event loop thread


def test_blocking_client_timeout(server):
    with StoreClient.connect("127.0.0.1", server.port) as client:
        server.pause()
        try:
            with pytest.raises(ClientTimeoutError):
                client.ping(1, timeout=0.3)
        finally:
            server.resume()
        assert client.ping(2) == 2
