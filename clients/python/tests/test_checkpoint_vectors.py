"""The checkpoint examples of protocol-spec.md section 7.1 (Tests/Vectors/checkpoints.json,
written by scripts/vectorgen/domain_checkpoints.py) checked against this client: every request
vector is what the client's encoder produces, byte for byte and with the frame header, and every
response vector decodes to the fields the vector lists."""
from __future__ import annotations

import json
import pathlib

import pytest

from agent_store import wire
from agent_store.checkpoints import (
    Blob, CheckpointRecord, PendingWrite, PruneStrategy, Write, decode_empty,
    decode_get_response, decode_record_page, decode_u64, encode_copy_thread,
    encode_delete_for_runs, encode_delete_thread, encode_get, encode_list, encode_prune,
    encode_put, encode_put_writes,
)

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Vectors" / "checkpoints.json"
DATA = json.loads(VECTORS.read_text())


def encode_request(message: str, body: dict) -> bytes:
    if message == "checkpoint_put":
        return encode_put(body["thread_id"], body["checkpoint_ns"], body["checkpoint_id"],
                          body["parent_checkpoint_id"], body["checkpoint_type"],
                          bytes.fromhex(body["checkpoint"]), body["metadata"],
                          [tuple(pair) for pair in body["channel_versions"]],
                          [Blob(b["channel"], b["version"], b["type"], bytes.fromhex(b["value"]))
                           for b in body["blobs"]],
                          expected_latest=body.get("expected_latest"))
    if message == "checkpoint_put_writes":
        return encode_put_writes(body["thread_id"], body["checkpoint_ns"], body["checkpoint_id"],
                                 body["task_id"], body["task_path"],
                                 [Write(w["idx"], w["channel"], w["type"],
                                        bytes.fromhex(w["value"])) for w in body["writes"]])
    if message == "checkpoint_get":
        return encode_get(body["thread_id"], body["checkpoint_ns"], body["checkpoint_id"])
    if message == "checkpoint_list":
        return encode_list(body["thread_id"], body["checkpoint_ns"], body["checkpoint_id"],
                           body["filter"], body["before"], body["limit"])
    if message == "checkpoint_delete_thread":
        return encode_delete_thread(body["thread_id"])
    if message == "checkpoint_delete_for_runs":
        return encode_delete_for_runs(body["run_ids"])
    if message == "checkpoint_copy_thread":
        return encode_copy_thread(body["source_thread_id"], body["target_thread_id"])
    if message == "checkpoint_prune":
        return encode_prune(body["thread_ids"], PruneStrategy(body["strategy"]))
    raise AssertionError(f"no encoder for {message}")


def record_from_json(record: dict) -> CheckpointRecord:
    return CheckpointRecord(
        record["thread_id"], record["checkpoint_ns"], record["checkpoint_id"],
        record["parent_checkpoint_id"], record["checkpoint_type"],
        bytes.fromhex(record["checkpoint"]), record["metadata"],
        [Blob(b["channel"], b["version"], b["type"], bytes.fromhex(b["value"]))
         for b in record["channel_values"]],
        [PendingWrite(w["task_id"], w["task_path"], w["idx"], w["channel"], w["type"],
                      bytes.fromhex(w["value"])) for w in record["pending_writes"]])


def check_response(message: str, body_bytes: bytes, body: dict) -> None:
    if message == "empty":
        decode_empty(body_bytes)
    elif message == "checkpoint_get_response":
        expected = None if body["record"] is None else record_from_json(body["record"])
        assert decode_get_response(body_bytes) == expected
    elif message == "checkpoint_records":
        assert decode_record_page(body_bytes) == [record_from_json(r) for r in body["records"]]
    elif message == "checkpoint_count":
        assert decode_u64(body_bytes) == int(body["count"])
    elif message == "error":
        decoded = wire.decode_error(body_bytes)
        assert (decoded.code, decoded.message) == (body["code"], body["message"])
    else:
        raise AssertionError(f"no decoder for {message}")


def check_frame(hex_frame: str, decoded: dict) -> None:
    frame = bytes.fromhex(hex_frame)
    header = decoded["header"]
    body = frame[24:]
    if header["flags"] & 0x1:  # a response
        check_response(decoded["message"], body, decoded["body"])
    else:
        encoded = encode_request(decoded["message"], decoded["body"])
        assert encoded == body
        assert wire.encode_frame(header["opcode"], header["flags"], int(header["request_id"]),
                                 encoded, header["timeout_ms"], False) == frame


@pytest.mark.parametrize("vector", DATA["valid"], ids=lambda vector: vector["name"])
def test_valid_vector(vector):
    check_frame(vector["hex"], vector["decoded"])


@pytest.mark.parametrize("transcript", DATA["transcripts"], ids=lambda t: t["name"])
def test_transcript(transcript):
    for step in transcript["steps"]:
        check_frame(step["hex"], step["decoded"])


def test_every_checkpoint_message_has_a_vector():
    messages = {vector["decoded"]["message"] for vector in DATA["valid"]}
    assert {"checkpoint_put", "checkpoint_put_writes", "checkpoint_get", "checkpoint_list",
            "checkpoint_delete_thread", "checkpoint_delete_for_runs", "checkpoint_copy_thread",
            "checkpoint_prune", "checkpoint_get_response", "checkpoint_records",
            "checkpoint_count", "empty"} <= messages
