"""Byte layout of the memory operations (memory wire layout, protocol-spec.md 7.4), checked
against bodies built field by field here, with no server."""
from __future__ import annotations

import json
import struct
from datetime import datetime, timezone

import pytest

from agent_store import ErrorCode, ServerError
from agent_store.errors import DecodeError
from agent_store.memories import (
    CollectionEnsureRequest, DeleteRequest, GetRequest, ListNamespacesRequest, MemoryItem,
    MemoryOpcode, MemorySearchItem, Metric, PutRequest, SearchRequest, decode_batch,
    encode_batch,
)
from agent_store.messages import ErrorBody, encode_error


def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)
def f64(v): return struct.pack("<d", v)
def string(s): raw = s.encode(); return u32(len(raw)) + raw
def blob(b): return u32(len(b)) + b
def ns(*labels): return u32(len(labels)) + b"".join(string(l) for l in labels)
def vector(*xs): return u32(len(xs)) + struct.pack(f"<{len(xs)}f", *xs)


def item_bytes(namespace, key, value_json, created, updated, expires=None):
    body = ns(*namespace) + string(key) + string(value_json) + i64(created) + i64(updated)
    return body + (u8(0) if expires is None else u8(1) + i64(expires))


def test_opcodes():
    assert [int(o) for o in MemoryOpcode] == list(range(0x0401, 0x0408))


def test_collection_ensure():
    body = CollectionEnsureRequest("docs", 384, Metric.L2).encode()
    assert body == string("docs") + u32(384) + u8(2)
    assert CollectionEnsureRequest.decode_response(b"") is None
    with pytest.raises(DecodeError):
        CollectionEnsureRequest.decode_response(b"\x00")


def test_put_with_vectors_and_ttl():
    request = PutRequest(("users", "a"), "k1", {"b": 1, "a": "é"}, "docs",
                         [("$", [1.0, 0.5]), ("text.0", [0.0, -2.0])], 90_000)
    value_json = json.dumps({"b": 1, "a": "é"}, ensure_ascii=False, separators=(",", ":"))
    assert request.encode() == (
        ns("users", "a") + string("k1") + string(value_json) + string("docs")
        + u32(2) + string("$") + vector(1.0, 0.5) + string("text.0") + vector(0.0, -2.0)
        + u8(1) + u64(90_000))


def test_put_without_vectors_or_ttl():
    body = PutRequest(("a",), "k", {}).encode()
    assert body == ns("a") + string("k") + string("{}") + string("") + u32(0) + u8(0)


@pytest.mark.parametrize("namespace", [(), ("a", ""), ("a.b",)])
def test_put_refuses_bad_namespaces(namespace):
    with pytest.raises(ValueError):
        PutRequest(namespace, "k", {}).encode()


def test_put_refuses_non_objects_and_non_finite():
    with pytest.raises(TypeError):
        PutRequest(("a",), "k", [1]).encode()  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        PutRequest(("a",), "k", {"x": float("nan")}).encode()
    with pytest.raises(ValueError):
        PutRequest(("a",), "k", {}, "c", [("$", [float("inf")])]).encode()
    with pytest.raises(ValueError):
        PutRequest(("a",), "k", {}, "", [("$", [1.0])]).encode()  # vectors need a collection


def test_put_response_is_an_item():
    body = item_bytes(("a", "b"), "k", '{"x":[1,2]}', 1_700_000_000_123_456,
                      1_700_000_001_000_000, 1_700_000_900_000_000)
    item = PutRequest.decode_response(body)
    assert item == MemoryItem(("a", "b"), "k", {"x": [1, 2]}, 1_700_000_000_123_456,
                              1_700_000_001_000_000, 1_700_000_900_000_000)
    assert item.created_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=timezone.utc)
    assert item.expires_at is not None and item.expires_at.tzinfo is timezone.utc


def test_get():
    assert GetRequest(("a",), "k", True).encode() == ns("a") + string("k") + u8(1)
    assert GetRequest.decode_response(u8(0)) is None
    item = GetRequest.decode_response(u8(1) + item_bytes(("a",), "k", "{}", 1, 2))
    assert item == MemoryItem(("a",), "k", {}, 1, 2, None)
    with pytest.raises(DecodeError):
        GetRequest.decode_response(u8(2))
    with pytest.raises(DecodeError):  # a value that is not a JSON object
        GetRequest.decode_response(u8(1) + item_bytes(("a",), "k", "[1]", 1, 2))


def test_delete():
    assert DeleteRequest(("a", "b"), "k").encode() == ns("a", "b") + string("k")


def test_search_with_everything():
    request = SearchRequest(("users",), {"color": "red", "n": {"$gt": 3}}, "docs", [0.25, 1.0],
                            limit=5, offset=10, refresh_ttl=True)
    filter_json = json.dumps({"color": "red", "n": {"$gt": 3}}, separators=(",", ":"))
    assert request.encode() == (ns("users") + u8(1) + string(filter_json) + string("docs")
                                + u8(1) + vector(0.25, 1.0) + u32(5) + u32(10) + u8(1))


def test_search_minimal():
    assert SearchRequest().encode() == ns() + u8(0) + string("") + u8(0) + u32(10) + u32(0) + u8(0)
    with pytest.raises(ValueError):
        SearchRequest(limit=0).encode()
    with pytest.raises(ValueError):
        SearchRequest(query=[1.0]).encode()  # a query needs a collection


def test_search_response():
    body = (u32(2) + item_bytes(("a",), "x", '{"v":1}', 5, 6) + u8(1) + f64(0.75)
            + item_bytes(("a", "b"), "y", "{}", 7, 8, 9) + u8(0))
    assert SearchRequest.decode_response(body) == [
        MemorySearchItem(("a",), "x", {"v": 1}, 5, 6, None, 0.75),
        MemorySearchItem(("a", "b"), "y", {}, 7, 8, 9, None),
    ]
    with pytest.raises(DecodeError):  # a count that cannot fit
        SearchRequest.decode_response(u32(1000))


def test_list_namespaces():
    request = ListNamespacesRequest(("a", "*"), ("f",), 3, limit=7, offset=2)
    assert request.encode() == (u8(1) + ns("a", "*") + u8(1) + ns("f") + u8(1) + u32(3)
                                + u32(7) + u32(2))
    assert ListNamespacesRequest().encode() == u8(0) + u8(0) + u8(0) + u32(100) + u32(0)
    assert ListNamespacesRequest.decode_response(u32(2) + ns("a") + ns("a", "b")) == [
        ("a",), ("a", "b")]


def test_batch_round_trip():
    requests = [GetRequest(("a",), "k"), DeleteRequest(("a",), "k"), SearchRequest(("a",)),
                ListNamespacesRequest()]
    assert encode_batch(requests) == (
        u32(4) + u16(0x0403) + blob(requests[0].encode()) + u16(0x0404)
        + blob(requests[1].encode()) + u16(0x0405) + blob(requests[2].encode())
        + u16(0x0406) + blob(requests[3].encode()))
    error = encode_error(ErrorBody(int(ErrorCode.NOT_FOUND), 0, "no such collection",
                                   {"field": "collection"}))
    response = (u32(4) + u8(1) + blob(u8(0)) + u8(1) + blob(b"")
                + u8(1) + blob(u32(1) + item_bytes(("a",), "k", "{}", 1, 2) + u8(0))
                + u8(0) + blob(error))
    results = decode_batch(response, requests)
    assert results[0] is None and results[1] is None
    assert results[2] == [MemorySearchItem(("a",), "k", {}, 1, 2)]
    assert isinstance(results[3], ServerError) and results[3].code == ErrorCode.NOT_FOUND
    assert results[3].details == {"field": "collection"}


def test_batch_refuses_mismatched_counts_and_collection_ensure():
    with pytest.raises(DecodeError):
        decode_batch(u32(0), [GetRequest(("a",), "k")])
    with pytest.raises(TypeError):
        encode_batch([CollectionEnsureRequest("c", 3)])  # type: ignore[list-item]


def test_batch_chunks_respect_the_operation_and_byte_limits():
    from agent_store.memories import BATCH_OPERATIONS_MAX, _batch_chunks

    requests = [GetRequest(("a",), f"k{i}") for i in range(2 * BATCH_OPERATIONS_MAX + 1)]
    sizes = [len(chunk) for chunk in _batch_chunks(requests, 1 << 30)]
    assert sizes == [BATCH_OPERATIONS_MAX, BATCH_OPERATIONS_MAX, 1]
    entry = 2 + 4 + len(requests[0].encode())
    sizes = [len(chunk) for chunk in _batch_chunks(requests[:10], 4 + 3 * entry)]
    assert sizes == [3, 3, 3, 1]
    assert [len(c) for c in _batch_chunks(requests[:2], 1)] == [1, 1]  # each alone
