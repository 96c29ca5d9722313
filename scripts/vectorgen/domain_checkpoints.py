#!/usr/bin/env python3
"""Test vectors of the checkpoint domain (protocol-spec.md §7.1, opcodes 0x0101-0x0108).

Each valid vector is a whole frame; its `decoded.body` is the JSON form of one message:
bytes fields as hex, u64 as decimal strings, optional fields as null when absent. `message`
names the body layout (checkpoint_put, checkpoint_put_writes, checkpoint_get, checkpoint_get_response,
checkpoint_list, checkpoint_records, checkpoint_delete_thread, checkpoint_delete_for_runs,
checkpoint_copy_thread, checkpoint_prune, checkpoint_count, empty, error).
"""
import struct

from core import Body, body_for, error_fields, header

NAME = "checkpoints"
SECTION = "7.1"

OP = {"put": 0x0101, "put_writes": 0x0102, "get": 0x0103, "list": 0x0104, "delete_thread": 0x0105,
      "delete_for_runs": 0x0106, "copy_thread": 0x0107, "prune": 0x0108}

CID1 = "1ef4f797-8335-6428-8001-8a1503f9b875"
CID2 = "1ef4f797-8336-6a1e-8002-3a2b1c0d9e8f"


def opt_string(b, value, note):
    if value is None:
        return b.u8(0, f"{note}: absent")
    b.u8(1, f"{note}: present")
    return b.string(value, note)


def blob(b, item, note):
    b.string(item["channel"], f"{note} channel")
    b.string(item["version"], f"{note} version")
    b.string(item["type"], f"{note} type")
    return b.blob(bytes.fromhex(item["value"]), f"{note} value")


def pending_write(b, item, note):
    b.string(item["task_id"], f"{note} task_id")
    b.string(item["task_path"], f"{note} task_path")
    b.add(struct.pack("<i", item["idx"]), f"{note} idx {item['idx']}")
    b.string(item["channel"], f"{note} channel")
    b.string(item["type"], f"{note} type")
    return b.blob(bytes.fromhex(item["value"]), f"{note} value")


def record(b, r, note="record"):
    b.string(r["thread_id"], f"{note} thread_id")
    b.string(r["checkpoint_ns"], f"{note} checkpoint_ns")
    b.string(r["checkpoint_id"], f"{note} checkpoint_id")
    opt_string(b, r["parent_checkpoint_id"], f"{note} parent_checkpoint_id")
    b.string(r["checkpoint_type"], f"{note} checkpoint_type")
    b.blob(bytes.fromhex(r["checkpoint"]), f"{note} checkpoint")
    b.string(r["metadata"], f"{note} metadata")
    b.u32(len(r["channel_values"]), f"{note}: {len(r['channel_values'])} channel_values")
    for index, item in enumerate(r["channel_values"]):
        blob(b, item, f"{note} channel_values[{index}]")
    b.u32(len(r["pending_writes"]), f"{note}: {len(r['pending_writes'])} pending_writes")
    for index, item in enumerate(r["pending_writes"]):
        pending_write(b, item, f"{note} pending_writes[{index}]")
    return b


def body(message, f):
    b = Body()
    if message == "checkpoint_put":
        b.string(f["thread_id"], "thread_id")
        b.string(f["checkpoint_ns"], "checkpoint_ns")
        b.string(f["checkpoint_id"], "checkpoint_id")
        opt_string(b, f["parent_checkpoint_id"], "parent_checkpoint_id")
        b.string(f["checkpoint_type"], "checkpoint_type")
        b.blob(bytes.fromhex(f["checkpoint"]), "checkpoint")
        b.string(f["metadata"], "metadata")
        b.u32(len(f["channel_versions"]), f"{len(f['channel_versions'])} channel_versions")
        for channel, version in f["channel_versions"]:
            b.string(channel, "channel")
            b.string(version, "version")
        b.u32(len(f["blobs"]), f"{len(f['blobs'])} blobs")
        for index, item in enumerate(f["blobs"]):
            blob(b, item, f"blobs[{index}]")
        # Trailing and optional: a body without it ends after blobs (older clients).
        if f.get("expected_latest") is not None:
            opt_string(b, f["expected_latest"], "expected_latest (fork protection)")
    elif message == "checkpoint_put_writes":
        for key in ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "task_path"):
            b.string(f[key], key)
        b.u32(len(f["writes"]), f"{len(f['writes'])} writes")
        for index, w in enumerate(f["writes"]):
            b.add(struct.pack("<i", w["idx"]), f"writes[{index}] idx {w['idx']}")
            b.string(w["channel"], f"writes[{index}] channel")
            b.string(w["type"], f"writes[{index}] type")
            b.blob(bytes.fromhex(w["value"]), f"writes[{index}] value")
    elif message == "checkpoint_get":
        b.string(f["thread_id"], "thread_id")
        b.string(f["checkpoint_ns"], "checkpoint_ns")
        opt_string(b, f["checkpoint_id"], "checkpoint_id")
    elif message == "checkpoint_get_response":
        if f["record"] is None:
            b.u8(0, "record: absent")
        else:
            b.u8(1, "record: present")
            record(b, f["record"])
    elif message == "checkpoint_list":
        for key in ("thread_id", "checkpoint_ns", "checkpoint_id", "filter", "before"):
            opt_string(b, f[key], key)
        if f["limit"] is None:
            b.u8(0, "limit: absent")
        else:
            b.u8(1, "limit: present")
            b.u32(f["limit"], f"limit {f['limit']}")
    elif message == "checkpoint_records":
        b.u32(len(f["records"]), f"{len(f['records'])} records")
        for index, r in enumerate(f["records"]):
            record(b, r, f"records[{index}]")
    elif message == "checkpoint_delete_thread":
        b.string(f["thread_id"], "thread_id")
    elif message == "checkpoint_delete_for_runs":
        b.u32(len(f["run_ids"]), f"{len(f['run_ids'])} run_ids")
        for run_id in f["run_ids"]:
            b.string(run_id, "run_id")
    elif message == "checkpoint_copy_thread":
        b.string(f["source_thread_id"], "source_thread_id")
        b.string(f["target_thread_id"], "target_thread_id")
    elif message == "checkpoint_prune":
        b.u32(len(f["thread_ids"]), f"{len(f['thread_ids'])} thread_ids")
        for thread_id in f["thread_ids"]:
            b.string(thread_id, "thread_id")
        b.u8(f["strategy"], f"strategy {f['strategy']} ({['keep_latest', 'delete'][f['strategy']]})")
    elif message == "checkpoint_count":
        b.u64(int(f["count"]), f"count {f['count']}")
    else:
        return body_for(message, f)
    return b


def frame(name, message, opcode, flags, request_id, fields, timeout_ms=0, note=""):
    b = body(message, fields)
    raw = b.bytes()
    h, flag_bits, crc = header(raw, opcode, flags, request_id, timeout_ms)
    return {"name": name, "kind": "frame", "note": note, "checksums": False, "hex": (h.bytes() + raw).hex(),
            "decoded": {"header": {"opcode": opcode, "flags": flag_bits, "request_id": str(request_id),
                                   "timeout_ms": timeout_ms, "checksum": crc},
                        "message": message, "body": fields},
            "_annotation": h.parts + b.parts}


def hexs(text):
    return text.encode().hex()


RECORD = {
    "thread_id": "thread-1", "checkpoint_ns": "", "checkpoint_id": CID2, "parent_checkpoint_id": CID1,
    "checkpoint_type": "json", "checkpoint": hexs('{"v":4}'), "metadata": '{"source": "loop", "step": 1}',
    "channel_values": [{"channel": "messages", "version": "00000002.5", "type": "json", "value": hexs('["hi"]')}],
    "pending_writes": [{"task_id": "task-a", "task_path": "~0", "idx": -1, "channel": "__error__", "type": "json",
                        "value": hexs('"boom"')}],
}


def valid():
    put = {"thread_id": "thread-1", "checkpoint_ns": "", "checkpoint_id": CID2, "parent_checkpoint_id": CID1,
           "checkpoint_type": "json", "checkpoint": hexs('{"v":4}'), "metadata": '{"source":"loop","step":1}',
           "channel_versions": [["messages", "00000002.5"], ["topic", "00000001.3"]],
           "blobs": [{"channel": "messages", "version": "00000002.5", "type": "json", "value": hexs('["hi"]')}]}
    list_request = {"thread_id": "thread-1", "checkpoint_ns": None, "checkpoint_id": None,
                    "filter": '{"source":"loop"}', "before": CID2, "limit": 10}
    first_record = dict(RECORD, checkpoint_id=CID1, parent_checkpoint_id=None, metadata='{"step": 0}',
                        channel_values=[], pending_writes=[])
    return [
        frame("checkpoint_put", "checkpoint_put", OP["put"], [], 21, put, timeout_ms=5000,
              note="only 'messages' changed; 'topic' keeps the blob stored at 00000001.3"),
        frame("checkpoint_put_expected_latest", "checkpoint_put", OP["put"], [], 24,
              dict(put, expected_latest=CID1),
              note="fork protection: refused with conflict unless the thread's newest checkpoint is CID1"),
        frame("checkpoint_put_response", "empty", OP["put"], ["response"], 21, {}),
        frame("checkpoint_put_writes_special", "checkpoint_put_writes", OP["put_writes"], [], 22,
              {"thread_id": "thread-1", "checkpoint_ns": "", "checkpoint_id": CID2, "task_id": "task-a",
               "task_path": "~0", "writes": [{"idx": -1, "channel": "__error__", "type": "json", "value": hexs('"boom"')}]},
              note="every idx negative: replaces an existing (task, idx) row"),
        frame("checkpoint_put_writes_regular", "checkpoint_put_writes", OP["put_writes"], [], 23,
              {"thread_id": "thread-1", "checkpoint_ns": "child:1", "checkpoint_id": CID2, "task_id": "task-b",
               "task_path": "", "writes": [{"idx": 0, "channel": "messages", "type": "json", "value": hexs('"x"')},
                                           {"idx": 1, "channel": "topic", "type": "empty", "value": ""}]},
              note="regular writes: insert-or-ignore"),
        frame("checkpoint_get_latest", "checkpoint_get", OP["get"], [], 24,
              {"thread_id": "thread-1", "checkpoint_ns": "", "checkpoint_id": None},
              note="no checkpoint_id: the newest of (thread, namespace)"),
        frame("checkpoint_get_by_id", "checkpoint_get", OP["get"], [], 25,
              {"thread_id": "thread-1", "checkpoint_ns": "", "checkpoint_id": CID2}),
        frame("checkpoint_get_response", "checkpoint_get_response", OP["get"], ["response"], 25, {"record": RECORD}),
        frame("checkpoint_get_absent", "checkpoint_get_response", OP["get"], ["response"], 24, {"record": None},
              note="no such checkpoint: an absent record, not not_found"),
        frame("checkpoint_list_request", "checkpoint_list", OP["list"], [], 26, list_request,
              note="every namespace of thread-1, metadata containing source=loop, ids before CID2, at most 10"),
        frame("checkpoint_list_all", "checkpoint_list", OP["list"], [], 27,
              {"thread_id": None, "checkpoint_ns": None, "checkpoint_id": None, "filter": None, "before": None,
               "limit": None}, note="every checkpoint of every thread"),
        frame("checkpoint_list_partial", "checkpoint_records", OP["list"], ["response", "stream"], 27,
              {"records": [RECORD]}, note="a partial page (flag stream)"),
        frame("checkpoint_list_final", "checkpoint_records", OP["list"], ["response"], 27,
              {"records": [first_record]}, note="the final page ends the stream"),
        frame("checkpoint_list_final_empty", "checkpoint_records", OP["list"], ["response"], 26, {"records": []}),
        frame("checkpoint_delete_thread", "checkpoint_delete_thread", OP["delete_thread"], [], 28, {"thread_id": "thread-1"}),
        frame("checkpoint_delete_thread_response", "empty", OP["delete_thread"], ["response"], 28, {}),
        frame("checkpoint_delete_for_runs", "checkpoint_delete_for_runs", OP["delete_for_runs"], [], 29,
              {"run_ids": ["run-1", "run-2"]}),
        frame("checkpoint_delete_for_runs_response", "checkpoint_count", OP["delete_for_runs"], ["response"], 29,
              {"count": "3"}),
        frame("checkpoint_copy_thread", "checkpoint_copy_thread", OP["copy_thread"], [], 30,
              {"source_thread_id": "thread-1", "target_thread_id": "thread-2"}),
        frame("checkpoint_prune_keep_latest", "checkpoint_prune", OP["prune"], [], 31,
              {"thread_ids": ["thread-1", "thread-2"], "strategy": 0}),
        frame("checkpoint_prune_delete", "checkpoint_prune", OP["prune"], [], 32, {"thread_ids": ["thread-3"], "strategy": 1}),
        frame("checkpoint_prune_response", "checkpoint_count", OP["prune"], ["response"], 31, {"count": "12"}),
        frame("checkpoint_invalid_metadata", "error", OP["put"], ["response", "error"], 33,
              error_fields("invalid_argument", "metadata: must be a JSON object", [["field", {"string": "metadata"}]]),
              note="PUT with metadata that is not a JSON object"),
    ]


def invalid():
    def bad(name, kind, raw, note):
        return {"name": name, "kind": kind, "hex": raw.hex(), "error": "invalid_argument", "fatal": False, "note": note}

    prune = body("checkpoint_prune", {"thread_ids": ["t"], "strategy": 0}).bytes()
    put = body("checkpoint_put", {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c",
                                  "parent_checkpoint_id": None, "checkpoint_type": "json", "checkpoint": "",
                                  "metadata": "{}", "channel_versions": [], "blobs": []}).bytes()
    get = body("checkpoint_get", {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": None}).bytes()
    return [
        bad("checkpoint_prune_unknown_strategy", "checkpoint_prune", prune[:-1] + bytes([2]),
            "strategy 2 is neither keep_latest (0) nor delete (1)"),
        bad("checkpoint_put_truncated", "checkpoint_put", put[:-4], "the blobs count is missing"),
        bad("checkpoint_put_huge_blob_count", "checkpoint_put", put[:-4] + struct.pack("<I", 0x10000000),
            "268 million blobs claimed with no bytes left: refused before allocating"),
        bad("checkpoint_get_bad_presence", "checkpoint_get", get[:-1] + bytes([2]),
            "presence byte 2 for checkpoint_id"),
        bad("checkpoint_list_truncated_limit", "checkpoint_list", bytes([0, 0, 0, 0, 0, 1, 10, 0]),
            "limit present but only 2 of its 4 bytes"),
    ]


def transcripts():
    def step(direction, item):
        return {"direction": direction, "hex": item["hex"], "decoded": item.get("decoded"), "name": item["name"]}

    request = {"thread_id": "thread-1", "checkpoint_ns": None, "checkpoint_id": None, "filter": None,
               "before": None, "limit": None}
    older = dict(RECORD, checkpoint_id=CID1, parent_checkpoint_id=None, metadata='{"step": 0}',
                 channel_values=[], pending_writes=[])
    return [
        {"name": "checkpoint_list_streamed", "note": "LIST answered with one partial page and a final page",
         "steps": [
             step("client", frame("list", "checkpoint_list", OP["list"], [], 40, request)),
             step("server", frame("page_1", "checkpoint_records", OP["list"], ["response", "stream"], 40,
                                  {"records": [RECORD]})),
             step("server", frame("final_page", "checkpoint_records", OP["list"], ["response"], 40,
                                  {"records": [older]})),
         ]},
    ]
