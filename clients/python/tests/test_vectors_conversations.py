"""Tests/Vectors/conversations.json in both directions with agent_store.conversations."""
from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest

from agent_store import DecodeError
from agent_store import conversations as conv
from agent_store.values import Reader, Writer

from test_vectors import map_from_json, value_from_json

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Vectors"
                      / "conversations.json").read_text())
HEADER_BYTES = 24
STATUS = {name: number for number, name in conv.STATUS_NAMES.items()}


def optional_int(value):
    return None if value is None else int(value)


def conversation_from_json(f):
    return conv.Conversation(f["id"], f["title"], f["user_id"], int(f["created_at_ms"]), int(f["updated_at_ms"]),
                             map_from_json(f["metadata"]))


def execution_from_json(f):
    return conv.Execution(
        f["id"], f["conversation_id"], f["agent_name"], f["agent_type"], conv.STATUS_NAMES[f["status"]],
        value_from_json(f["input"]), value_from_json(f["output"]), f["error_message"], int(f["created_at_ms"]),
        optional_int(f["started_at_ms"]), optional_int(f["completed_at_ms"]), optional_int(f["duration_ms"]),
        int(f["tokens_used"]), map_from_json(f["metadata"]))


def write_conversation(writer, c):
    writer.string(c.id).string(c.title)
    if c.user_id is None:
        writer.u8(0)
    else:
        writer.u8(1).string(c.user_id)
    writer.buffer += c.created_at_ms.to_bytes(8, "little", signed=True)
    writer.buffer += c.updated_at_ms.to_bytes(8, "little", signed=True)
    writer.map(c.metadata)


def write_execution(writer, e):
    writer.string(e.id).string(e.conversation_id).string(e.agent_name).string(e.agent_type)
    writer.u8(STATUS[e.status]).value(e.input).value(e.output)
    for value, signed in ((e.error_message, None), (e.created_at_ms, True), (e.started_at_ms, "opt"),
                          (e.completed_at_ms, "opt"), (e.duration_ms, "opt")):
        if signed is None:
            if value is None:
                writer.u8(0)
            else:
                writer.u8(1).string(value)
        elif signed is True:
            writer.buffer += value.to_bytes(8, "little", signed=True)
        elif value is None:
            writer.u8(0)
        else:
            writer.u8(1)
            writer.buffer += value.to_bytes(8, "little", signed=True)
    writer.u64(e.tokens_used).map(e.metadata)


def encode(message, f):
    """The bytes of a message from its JSON form; requests through the module's encoders."""
    if message == "conversation_create_request":
        return conv.encode_create(f["id"], f["title"], f["user_id"], map_from_json(f["metadata"]))
    if message == "id_request":
        return conv.encode_id(f["id"])
    if message == "conversation_update_request":
        metadata = None if f["metadata"] is None else map_from_json(f["metadata"])
        return conv.encode_update(f["id"], f["title"], metadata)
    if message == "conversation_list_request":
        token = None if f["continuation"] is None else bytes.fromhex(f["continuation"])
        return conv.encode_list(f["user_id"], f["limit"], token)
    if message == "execution_create_request":
        return conv.encode_create_execution(f["conversation_id"], f["agent_name"], f["agent_type"],
                                            value_from_json(f["input"]), map_from_json(f["metadata"]), f["start"], f["id"])
    if message == "execution_complete_request":
        return conv.encode_complete(f["id"], value_from_json(f["output"]), int(f["tokens_used"]))
    if message == "execution_fail_request":
        return conv.encode_fail(f["id"], f["error_message"], int(f["tokens_used"]))
    if message == "execution_totals_request":
        return conv.encode_totals(optional_int(f["since_ms"]), optional_int(f["until_ms"]), f["conversation_id"])
    writer = Writer()
    if message == "conversation_record":
        write_conversation(writer, conversation_from_json(f))
    elif message == "conversation_list_response":
        writer.u32(len(f["conversations"]))
        for record in f["conversations"]:
            write_conversation(writer, conversation_from_json(record))
        if f["continuation"] is None:
            writer.u8(0)
        else:
            writer.u8(1).raw_bytes(bytes.fromhex(f["continuation"]))
    elif message == "execution_record":
        write_execution(writer, execution_from_json(f))
    elif message == "execution_page":
        writer.u32(len(f["executions"]))
        for record in f["executions"]:
            write_execution(writer, execution_from_json(record))
    elif message == "conversation_delete_response":
        writer.u64(int(f["executions_deleted"]))
    elif message == "execution_totals_response":
        writer.u32(len(f["agents"]))
        for agent in f["agents"]:
            writer.string(agent["agent_name"]).u64(int(agent["executions"])).u64(int(agent["tokens_used"]))
            writer.u64(int(agent["duration_ms"]))
    else:
        raise AssertionError(message)
    return writer.to_bytes()


def decode(message, body):
    """The module's decoders for responses; None for requests (only the server decodes those)."""
    if message == "conversation_record":
        return conv.decode_conversation(body)
    if message == "conversation_list_response":
        return conv.decode_page(body)
    if message == "execution_record":
        return conv.decode_execution(body)
    if message == "execution_page":
        return conv.decode_executions(body)
    if message == "conversation_delete_response":
        return conv.decode_delete(body)
    if message == "execution_totals_response":
        return conv.decode_totals(body)
    return None


def expected(message, f):
    if message == "conversation_record":
        return conversation_from_json(f)
    if message == "conversation_list_response":
        return conv.ConversationPage([conversation_from_json(c) for c in f["conversations"]],
                                     None if f["continuation"] is None else bytes.fromhex(f["continuation"]))
    if message == "execution_record":
        return execution_from_json(f)
    if message == "execution_page":
        return [execution_from_json(e) for e in f["executions"]]
    if message == "conversation_delete_response":
        return int(f["executions_deleted"])
    if message == "execution_totals_response":
        return [conv.AgentTotals(a["agent_name"], int(a["executions"]), int(a["tokens_used"]), int(a["duration_ms"]))
                for a in f["agents"]]
    return None


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid(vector):
    body = bytes.fromhex(vector["hex"])[HEADER_BYTES:]
    decoded = vector["decoded"]
    assert encode(decoded["message"], decoded["body"]) == body
    assert decode(decoded["message"], body) == expected(decoded["message"], decoded["body"])


def test_unknown_status_is_refused():
    vector = next(v for v in VECTORS["invalid"] if v["name"] == "execution_record_unknown_status")
    with pytest.raises(DecodeError):
        conv.decode_execution(bytes.fromhex(vector["hex"]))


def test_records_are_plain_dataclasses():
    assert dataclasses.is_dataclass(conv.Conversation)
