"""Checkpoint request and response layouts (protocol-spec.md section 7.1), byte for byte, and the
client's retry rules, without a server."""
from __future__ import annotations

import asyncio
import struct

import pytest

from agent_store.checkpoints import (
    AsyncCheckpointClient, Blob, CheckpointRecord, PendingWrite, PruneStrategy, Write,
    decode_get_response, decode_record_page, encode_copy_thread, encode_delete_for_runs,
    encode_delete_thread, encode_get, encode_list, encode_prune, encode_put, encode_put_writes,
)
from agent_store.errors import ConnectionLostError, ProtocolViolationError, ServerError

from checkpoint_fake import FakeCheckpointServer


def s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def b(raw: bytes) -> bytes:
    return struct.pack("<I", len(raw)) + raw


def u32(value: int) -> bytes:
    return struct.pack("<I", value)


def i32(value: int) -> bytes:
    return struct.pack("<i", value)


def test_put_layout():
    body = encode_put("t", "", "c2", "c1", "msgpack", b"\x01\x02", '{"a":1}',
                      [("x", "v1"), ("y", "v2")], [Blob("x", "v1", "json", b"[]")])
    assert body == (s("t") + s("") + s("c2") + b"\x01" + s("c1") + s("msgpack")
                    + b(b"\x01\x02") + s('{"a":1}') + u32(2) + s("x") + s("v1") + s("y")
                    + s("v2") + u32(1) + s("x") + s("v1") + s("json") + b(b"[]"))


def test_put_layout_without_parent():
    body = encode_put("t", "ns", "c1", None, "k", b"", "{}", [], [])
    assert body == s("t") + s("ns") + s("c1") + b"\x00" + s("k") + b(b"") + s("{}") + u32(0) * 2


def test_put_writes_layout():
    body = encode_put_writes("t", "", "c", "task", "p~1",
                             [Write(0, "a", "json", b"1"), Write(-3, "__interrupt__", "m", b"")])
    assert body == (s("t") + s("") + s("c") + s("task") + s("p~1") + u32(2) + i32(0) + s("a")
                    + s("json") + b(b"1") + i32(-3) + s("__interrupt__") + s("m") + b(b""))


def test_get_list_and_small_layouts():
    assert encode_get("t", "", None) == s("t") + s("") + b"\x00"
    assert encode_get("t", "n", "c") == s("t") + s("n") + b"\x01" + s("c")
    assert encode_list(None, None, None, None, None, None) == b"\x00" * 6
    assert encode_list("t", "", "c", '{"k":1}', "c9", 10) == (
        b"\x01" + s("t") + b"\x01" + s("") + b"\x01" + s("c") + b"\x01" + s('{"k":1}')
        + b"\x01" + s("c9") + b"\x01" + u32(10))
    assert encode_delete_thread("t") == s("t")
    assert encode_delete_for_runs(["r1", "r2"]) == u32(2) + s("r1") + s("r2")
    assert encode_copy_thread("a", "b") == s("a") + s("b")
    assert encode_prune(["t"], PruneStrategy.KEEP_LATEST) == u32(1) + s("t") + b"\x00"
    assert encode_prune([], PruneStrategy.DELETE) == u32(0) + b"\x01"


RECORD_BYTES = (s("t") + s("ns") + s("c2") + b"\x01" + s("c1") + s("msgpack") + b(b"doc")
                + s('{"step":1}') + u32(1) + s("x") + s("v1") + s("json") + b(b"[1]")
                + u32(1) + s("task") + s("") + i32(-1) + s("__error__") + s("json")
                + b(b'"boom"'))
RECORD = CheckpointRecord("t", "ns", "c2", "c1", "msgpack", b"doc", '{"step":1}',
                          [Blob("x", "v1", "json", b"[1]")],
                          [PendingWrite("task", "", -1, "__error__", "json", b'"boom"')])


def test_record_decoding():
    assert decode_get_response(b"\x00") is None
    assert decode_get_response(b"\x01" + RECORD_BYTES) == RECORD
    assert decode_record_page(u32(2) + RECORD_BYTES * 2) == [RECORD, RECORD]
    assert decode_record_page(u32(0)) == []


@pytest.mark.parametrize("body", [
    b"",  # no presence byte
    b"\x02",  # presence byte neither 0 nor 1
    b"\x01" + RECORD_BYTES[:-1],  # cut short
    b"\x01" + RECORD_BYTES + b"\x00",  # trailing byte
])
def test_bad_get_responses_are_refused(body):
    from agent_store.errors import DecodeError
    with pytest.raises(DecodeError):
        decode_get_response(body)


def test_impossible_page_count_is_refused_before_allocating():
    from agent_store.errors import DecodeError
    with pytest.raises(DecodeError):
        decode_record_page(u32(0xFFFFFFFF) + RECORD_BYTES)


def test_retryable_failures_are_retried_then_surface():
    async def scenario():
        fake = FakeCheckpointServer()
        client = AsyncCheckpointClient(fake, retry_backoff_s=0.001)  # type: ignore[arg-type]
        fake.fail_next = 2
        await client.put("t", "", "c1", None, "k", b"", "{}", [])
        assert client.retries == 2
        assert (await client.get("t")).checkpoint_id == "c1"
        fake.fail_next = 2
        assert [r.checkpoint_id async for r in client.list("t")] == ["c1"]
        fake.fail_next = client.retry_attempts_max
        with pytest.raises(ConnectionLostError):
            await client.delete_thread("t")
    asyncio.run(scenario())


def test_non_retryable_server_errors_are_not_retried():
    class Refusing:
        calls = 0

        async def request(self, opcode, body=b"", timeout=None):
            Refusing.calls += 1
            raise ServerError(300, 0, "bad metadata")  # invalid_argument, not retryable

    async def scenario():
        client = AsyncCheckpointClient(Refusing())  # type: ignore[arg-type]
        with pytest.raises(ServerError):
            await client.put("t", "", "c", None, "k", b"", "not json", [])
        assert Refusing.calls == 1
    asyncio.run(scenario())


def test_response_with_unexpected_bytes_is_a_violation():
    class Chatty:
        async def request(self, opcode, body=b"", timeout=None):
            from agent_store.aio import Response
            return Response(1, b"\x00")

    async def scenario():
        client = AsyncCheckpointClient(Chatty())  # type: ignore[arg-type]
        with pytest.raises(ProtocolViolationError):
            await client.delete_thread("t")
    asyncio.run(scenario())
