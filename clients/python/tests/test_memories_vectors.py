"""The memories examples of the spec (Tests/Vectors/memories.json, written by the server side's
generator) checked against this client: every request it describes encodes to exactly its bytes,
and every response decodes to its JSON form."""
from __future__ import annotations

import json
import pathlib

import pytest

from agent_store import wire
from agent_store.memories import (
    CollectionEnsureRequest, DeleteRequest, GetRequest, ListNamespacesRequest, MemoryItem,
    MemoryOpcode, MemorySearchItem, Metric, PutRequest, SearchRequest, decode_batch,
    encode_batch,
)

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Vectors" / "memories.json"
VALID = json.loads(VECTORS.read_text())["valid"] if VECTORS.exists() else []
REQUEST_TYPES = {int(MemoryOpcode.PUT): PutRequest, int(MemoryOpcode.GET): GetRequest,
                 int(MemoryOpcode.DELETE): DeleteRequest, int(MemoryOpcode.SEARCH): SearchRequest,
                 int(MemoryOpcode.LIST_NAMESPACES): ListNamespacesRequest}


def frame_of(vector):
    decoder = wire.FrameDecoder(body_limit=1 << 20)
    decoder.feed(bytes.fromhex(vector["hex"]))
    frame = decoder.next_frame()
    assert frame is not None
    return frame


def optional_int(text):
    return None if text is None else int(text)


def item_from_json(body, kind=MemoryItem):
    fields = dict(namespace=tuple(body["namespace"]), key=body["key"],
                  value=json.loads(body["value"]), created_at_us=int(body["created_at_us"]),
                  updated_at_us=int(body["updated_at_us"]),
                  expires_at_us=optional_int(body["expires_at_us"]))
    if kind is MemorySearchItem:
        fields["score"] = body["score"]
    return kind(**fields)


def request_from_json(message, body):
    if message == "memory_collection_ensure_request":
        return CollectionEnsureRequest(body["name"], body["dimension"], Metric(body["metric"]))
    if message == "memory_put_request":
        return PutRequest(tuple(body["namespace"]), body["key"], json.loads(body["value"]),
                          body["collection"],
                          [(entry["field"], entry["vector"]) for entry in body["vectors"]],
                          optional_int(body["ttl_ms"]))
    if message == "memory_get_request":
        return GetRequest(tuple(body["namespace"]), body["key"], body["refresh_ttl"])
    if message == "memory_delete_request":
        return DeleteRequest(tuple(body["namespace"]), body["key"])
    if message == "memory_search_request":
        return SearchRequest(tuple(body["namespace_prefix"]),
                             None if body["filter"] is None else json.loads(body["filter"]),
                             body["collection"], body["query"], body["limit"], body["offset"],
                             body["refresh_ttl"])
    if message == "memory_list_namespaces_request":
        return ListNamespacesRequest(
            None if body["prefix"] is None else tuple(body["prefix"]),
            None if body["suffix"] is None else tuple(body["suffix"]),
            body["max_depth"], body["limit"], body["offset"])
    return None


def batch_ops_by_request_id():
    return {vector["decoded"]["header"]["request_id"]: vector["decoded"]["body"]["ops"]
            for vector in VALID if vector["decoded"]["message"] == "memory_batch_request"}


@pytest.mark.skipif(not VALID, reason="Tests/Vectors/memories.json not generated yet")
@pytest.mark.parametrize("vector", VALID, ids=[vector["name"] for vector in VALID])
def test_memory_vector(vector):
    frame = frame_of(vector)
    decoded = vector["decoded"]
    message, body = decoded["message"], decoded["body"]
    assert frame.opcode == decoded["header"]["opcode"]
    request = request_from_json(message, body)
    if request is not None:
        assert request.opcode == frame.opcode
        assert request.encode() == frame.body
    elif message == "memory_batch_request":
        # Each inner body is exactly a single operation's body, so it re-encodes through the
        # single request types: checked by re-framing the listed bodies.
        ops = body["ops"]
        expected = len(ops).to_bytes(4, "little") + b"".join(
            op["opcode"].to_bytes(2, "little") + len(bytes.fromhex(op["body"])).to_bytes(4, "little")
            + bytes.fromhex(op["body"]) for op in ops)
        assert frame.body == expected
        assert all(op["opcode"] in REQUEST_TYPES for op in ops)
    elif message == "empty":
        assert frame.body == b""
    elif message == "memory_item":
        assert PutRequest.decode_response(frame.body) == item_from_json(body)
    elif message == "memory_get_response":
        expected = None if body["item"] is None else item_from_json(body["item"])
        assert GetRequest.decode_response(frame.body) == expected
    elif message == "memory_search_page":
        assert SearchRequest.decode_response(frame.body) == [
            item_from_json(item, MemorySearchItem) for item in body["items"]]
    elif message == "memory_list_namespaces_response":
        assert ListNamespacesRequest.decode_response(frame.body) == [
            tuple(namespace) for namespace in body["namespaces"]]
    elif message == "memory_batch_response":
        ops = batch_ops_by_request_id()[decoded["header"]["request_id"]]
        types = [REQUEST_TYPES[op["opcode"]] for op in ops]
        results = decode_batch(frame.body, types)  # type: ignore[arg-type]
        for entry, result in zip(body["results"], results):
            if entry["ok"]:
                assert not isinstance(result, Exception)
            else:
                assert isinstance(result, Exception)
    elif message == "error":
        pass  # error bodies are checked by test_vectors.py
    else:
        pytest.fail(f"unhandled message kind {message}")


def test_batch_request_vector_matches_our_encoding():
    vector = next((v for v in VALID if v["name"] == "memory_batch"), None)
    if vector is None:
        pytest.skip("no memory_batch vector")
    ops = vector["decoded"]["body"]["ops"]
    namespace = ("users", "u1", "memories")
    # The vector's note: a get, and a put whose vector has the wrong dimension.
    requests = [GetRequest(namespace, "m-1", True),
                PutRequest(namespace, "m-1", {"text": "likes tea"}, "minilm",
                           [("text", [1.0, 2.0])])]
    assert [op["opcode"] for op in ops] == [int(r.opcode) for r in requests]
    assert encode_batch(requests) == frame_of(vector).body
