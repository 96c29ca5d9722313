"""Tests/Vectors/cache.json in both directions with agent_store.cache's encoders and decoders."""
from __future__ import annotations

import json
import pathlib

import pytest

from agent_store import DecodeError
from agent_store import cache

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Vectors" / "cache.json").read_text())
HEADER_BYTES = 24


def encode(message, f):
    if message == "cache_get_request":
        return cache.encode_get(bytes.fromhex(f["key"]))
    if message == "cache_get_response":
        return b"\x00" if f["value"] is None else b"\x01" + len(bytes.fromhex(f["value"])).to_bytes(4, "little") + bytes.fromhex(f["value"])
    if message == "cache_set_request":
        ttl = None if f["ttl_ms"] is None else int(f["ttl_ms"])
        return cache.encode_set(bytes.fromhex(f["key"]), bytes.fromhex(f["value"]), ttl)
    if message == "cache_delete_request":
        return cache.encode_delete([bytes.fromhex(key) for key in f["keys"]])
    if message == "cache_clear_request":
        return cache.encode_clear(bytes.fromhex(f["prefix"]))
    if message == "cache_count_response":
        return int(f["count"]).to_bytes(8, "little")
    if message == "empty":
        return b""
    raise AssertionError(message)


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid(vector):
    raw = bytes.fromhex(vector["hex"])
    body = raw[HEADER_BYTES:]
    decoded = vector["decoded"]
    assert int.from_bytes(raw[4:6], "little") == decoded["header"]["opcode"]
    assert encode(decoded["message"], decoded["body"]) == body
    if decoded["message"] == "cache_get_response":
        value = cache.decode_get_response(body)
        assert (None if value is None else value.hex()) == decoded["body"]["value"]
    if decoded["message"] == "cache_count_response":
        assert str(cache.decode_count_response(body)) == decoded["body"]["count"]


def test_invalid_responses_are_refused():
    with pytest.raises(DecodeError):
        cache.decode_get_response(b"\x02")
    with pytest.raises(DecodeError):
        cache.decode_get_response(b"\x01\x09\x00\x00\x00abc")
