"""Test vectors of the conversations domain (protocol-spec.md section 7.2).

Decoded form of a frame vector: {"header": {...}, "message": <name>, "body": {...}}. In bodies,
u64/i64 are decimal strings, `value` and `map` fields use the tagged JSON form of the session
vectors ({"int": "1"}, [[key, value], ...]), absent optional fields are null, bytes are hex.
"""
import struct

from core import Body, body_for, error_fields
from domain_cache import message_frame

NAME = "conversations"
SECTION = "7.2"

OP = {"conversation_create": 0x0201, "conversation_get": 0x0202, "conversation_update": 0x0203,
      "conversation_delete": 0x0204, "conversation_list": 0x0205, "execution_create": 0x0211,
      "execution_start": 0x0212, "execution_complete": 0x0213, "execution_fail": 0x0214,
      "execution_get": 0x0215, "execution_list": 0x0216, "execution_totals": 0x0217}
STATUS = {"pending": 1, "running": 2, "completed": 3, "failed": 4}

CONVERSATION_ID = "0b0e3a52-5b3c-4c52-9d43-7e2f0c8a9b11"
EXECUTION_ID = "5f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e"


def opt_string(b, value, note):
    if value is None:
        return b.u8(0, f"{note}: absent")
    b.u8(1, f"{note}: present")
    return b.string(value, note)


def opt_i64(b, value, note):
    if value is None:
        return b.u8(0, f"{note}: absent")
    b.u8(1, f"{note}: present")
    return b.add(struct.pack("<q", int(value)), f"{note} {value}")


def i64(b, value, note):
    return b.add(struct.pack("<q", int(value)), f"{note} {value}")


def conversation_record(b, f, note=""):
    b.string(f["id"], f"{note}id")
    b.string(f["title"], f"{note}title")
    opt_string(b, f["user_id"], f"{note}user_id")
    i64(b, f["created_at_ms"], f"{note}created_at_ms")
    i64(b, f["updated_at_ms"], f"{note}updated_at_ms")
    b.map(f["metadata"], f"{note}metadata")


def execution_record(b, f, note=""):
    b.string(f["id"], f"{note}id")
    b.string(f["conversation_id"], f"{note}conversation_id")
    b.string(f["agent_name"], f"{note}agent_name")
    b.string(f["agent_type"], f"{note}agent_type")
    b.u8(f["status"], f"{note}status {f['status']}")
    b.value(f["input"], f"{note}input")
    b.value(f["output"], f"{note}output")
    opt_string(b, f["error_message"], f"{note}error_message")
    i64(b, f["created_at_ms"], f"{note}created_at_ms")
    opt_i64(b, f["started_at_ms"], f"{note}started_at_ms")
    opt_i64(b, f["completed_at_ms"], f"{note}completed_at_ms")
    opt_i64(b, f["duration_ms"], f"{note}duration_ms")
    b.u64(int(f["tokens_used"]), f"{note}tokens_used {f['tokens_used']}")
    b.map(f["metadata"], f"{note}metadata")


def encode(message, f):
    b = Body()
    if message == "conversation_create_request":
        opt_string(b, f["id"], "id")
        opt_string(b, f["title"], "title")
        opt_string(b, f["user_id"], "user_id")
        b.map(f["metadata"], "metadata")
    elif message == "conversation_record":
        conversation_record(b, f)
    elif message == "id_request":
        b.string(f["id"], "id")
    elif message == "conversation_update_request":
        b.string(f["id"], "id")
        opt_string(b, f["title"], "title")
        if f["metadata"] is None:
            b.u8(0, "metadata: absent (unchanged)")
        else:
            b.u8(1, "metadata: present (replaces)")
            b.map(f["metadata"], "metadata")
    elif message == "conversation_delete_response":
        b.u64(int(f["executions_deleted"]), f"executions_deleted {f['executions_deleted']}")
    elif message == "conversation_list_request":
        opt_string(b, f["user_id"], "user_id")
        b.u32(f["limit"], f"limit {f['limit']}")
        if f["continuation"] is None:
            b.u8(0, "continuation: absent (first page)")
        else:
            b.u8(1, "continuation: present")
            b.blob(bytes.fromhex(f["continuation"]), "continuation")
    elif message == "conversation_list_response":
        b.u32(len(f["conversations"]), f"conversations: {len(f['conversations'])}")
        for index, record in enumerate(f["conversations"]):
            conversation_record(b, record, f"[{index}] ")
        if f["continuation"] is None:
            b.u8(0, "continuation: absent (last page)")
        else:
            b.u8(1, "continuation: present")
            b.blob(bytes.fromhex(f["continuation"]), "continuation (opaque)")
    elif message == "execution_create_request":
        b.string(f["conversation_id"], "conversation_id")
        opt_string(b, f["id"], "id")
        b.string(f["agent_name"], "agent_name")
        b.string(f["agent_type"], "agent_type")
        b.value(f["input"], "input")
        b.map(f["metadata"], "metadata")
        b.u8(1 if f["start"] else 0, f"start {'true' if f['start'] else 'false'}")
    elif message == "execution_record":
        execution_record(b, f)
    elif message == "execution_complete_request":
        b.string(f["id"], "id")
        b.value(f["output"], "output")
        b.u64(int(f["tokens_used"]), f"tokens_used {f['tokens_used']}")
    elif message == "execution_fail_request":
        b.string(f["id"], "id")
        b.string(f["error_message"], "error_message")
        b.u64(int(f["tokens_used"]), f"tokens_used {f['tokens_used']}")
    elif message == "execution_page":
        b.u32(len(f["executions"]), f"executions: {len(f['executions'])}")
        for index, record in enumerate(f["executions"]):
            execution_record(b, record, f"[{index}] ")
    elif message == "execution_totals_request":
        opt_i64(b, f["since_ms"], "since_ms")
        opt_i64(b, f["until_ms"], "until_ms")
        opt_string(b, f["conversation_id"], "conversation_id")
    elif message == "execution_totals_response":
        b.u32(len(f["agents"]), f"agents: {len(f['agents'])}")
        for index, agent in enumerate(f["agents"]):
            b.string(agent["agent_name"], f"[{index}] agent_name")
            b.u64(int(agent["executions"]), f"[{index}] executions {agent['executions']}")
            b.u64(int(agent["tokens_used"]), f"[{index}] tokens_used {agent['tokens_used']}")
            b.u64(int(agent["duration_ms"]), f"[{index}] duration_ms {agent['duration_ms']}")
    else:
        raise ValueError(message)
    return b


def frame(name, op, response, request_id, message, fields, note=""):
    flags = ["response"] if response else []
    return message_frame(name, OP[op], flags, request_id, message, fields, encode(message, fields), note)


CONVERSATION = {"id": CONVERSATION_ID, "title": "New Conversation", "user_id": "user-7",
                "created_at_ms": "1767225600000", "updated_at_ms": "1767225600000",
                "metadata": [["channel", {"string": "web"}]]}
RUNNING = {"id": EXECUTION_ID, "conversation_id": CONVERSATION_ID, "agent_name": "planner",
           "agent_type": "supervisor", "status": STATUS["running"],
           "input": {"map": [["task", {"string": "plan"}]]}, "output": {"null": None}, "error_message": None,
           "created_at_ms": "1767225601000", "started_at_ms": "1767225601000", "completed_at_ms": None,
           "duration_ms": None, "tokens_used": "0", "metadata": []}
COMPLETED = dict(RUNNING, status=STATUS["completed"], output={"list": [{"string": "done"}]},
                 completed_at_ms="1767225603500", duration_ms="2500", tokens_used="1234")


def valid():
    return [
        frame("conversation_create_request", "conversation_create", False, 1, "conversation_create_request",
              {"id": None, "title": None, "user_id": "user-7", "metadata": [["channel", {"string": "web"}]]},
              "CONVERSATION_CREATE: server-generated id, default title, a user and metadata"),
        frame("conversation_create_response", "conversation_create", True, 1, "conversation_record", CONVERSATION,
              "the conversation as stored: times in ms since the epoch"),
        frame("conversation_get_request", "conversation_get", False, 2, "id_request", {"id": CONVERSATION_ID},
              "CONVERSATION_GET (also the body of CONVERSATION_DELETE, EXECUTION_START, EXECUTION_GET, EXECUTION_LIST)"),
        frame("conversation_update_request", "conversation_update", False, 3, "conversation_update_request",
              {"id": CONVERSATION_ID, "title": "Trip planning", "metadata": None},
              "CONVERSATION_UPDATE of the title only; metadata unchanged"),
        frame("conversation_delete_response", "conversation_delete", True, 4, "conversation_delete_response",
              {"executions_deleted": "2"}, "CONVERSATION_DELETE removed the conversation and its 2 executions"),
        frame("conversation_list_request", "conversation_list", False, 5, "conversation_list_request",
              {"user_id": "user-7", "limit": 1, "continuation": None},
              "CONVERSATION_LIST: the first page of one conversation for user-7"),
        frame("conversation_list_response", "conversation_list", True, 5, "conversation_list_response",
              {"conversations": [CONVERSATION],
               "continuation": "01" + struct.pack("<q", 1767225600000123).hex() + CONVERSATION_ID.encode().hex()},
              "one conversation and a continuation token: more may follow"),
        frame("execution_create_request", "execution_create", False, 6, "execution_create_request",
              {"conversation_id": CONVERSATION_ID, "id": EXECUTION_ID, "agent_name": "planner",
               "agent_type": "supervisor", "input": {"map": [["task", {"string": "plan"}]]}, "metadata": [],
               "start": True},
              "EXECUTION_CREATE with a client-chosen id, created running"),
        frame("execution_create_response", "execution_create", True, 6, "execution_record", RUNNING,
              "the running execution (also the response of START, COMPLETE, FAIL and GET)"),
        frame("execution_complete_request", "execution_complete", False, 7, "execution_complete_request",
              {"id": EXECUTION_ID, "output": {"list": [{"string": "done"}]}, "tokens_used": "1234"},
              "EXECUTION_COMPLETE: running -> completed"),
        frame("execution_complete_response", "execution_complete", True, 7, "execution_record", COMPLETED,
              "completed after 2.5 s"),
        frame("execution_fail_request", "execution_fail", False, 8, "execution_fail_request",
              {"id": EXECUTION_ID, "error_message": "tool timed out", "tokens_used": "17"},
              "EXECUTION_FAIL: running -> failed"),
        frame("execution_list_response", "execution_list", True, 9, "execution_page", {"executions": [COMPLETED]},
              "the final page of EXECUTION_LIST (partial pages have the same shape, with flag stream)"),
        frame("execution_totals_request", "execution_totals", False, 10, "execution_totals_request",
              {"since_ms": "1767225600000", "until_ms": None, "conversation_id": None},
              "EXECUTION_TOTALS of every conversation since a time"),
        frame("execution_totals_response", "execution_totals", True, 10, "execution_totals_response",
              {"agents": [{"agent_name": "coder", "executions": "3", "tokens_used": "5000", "duration_ms": "9000"},
                          {"agent_name": "planner", "executions": "1", "tokens_used": "1234", "duration_ms": "2500"}]},
              "per agent name, in ascending byte order"),
    ]


def invalid():
    def bad(name, message, raw, field, note):
        return {"name": name, "kind": message, "hex": raw.hex(), "error": "invalid_argument", "fatal": False,
                "field": field, "note": note}

    four_strings = b"".join(struct.pack("<I", 1) + letter for letter in (b"e", b"c", b"a", b"t"))
    return [
        bad("execution_create_bad_start", "execution_create_request",
            struct.pack("<I", 1) + b"c" + bytes([0]) + struct.pack("<I", 1) + b"a" + struct.pack("<I", 1) + b"t"
            + bytes([0]) + struct.pack("<I", 0) + bytes([2]), "start", "start must be 0 or 1"),
        bad("conversation_create_bad_presence", "conversation_create_request", bytes([7]), "id",
            "presence byte 7"),
        bad("execution_record_unknown_status", "execution_record",
            four_strings + bytes([9]), "status", "status 9 is not defined"),
    ]


def transcripts():
    complete = frame("complete", "execution_complete", False, 11, "execution_complete_request",
                     {"id": EXECUTION_ID, "output": {"null": None}, "tokens_used": "0"})
    fields = error_fields("conflict", f"execution {EXECUTION_ID} is pending; cannot move to completed")
    error = message_frame("conflict", OP["execution_complete"], ["response", "error"], 11, "error", fields,
                          body_for("error", fields))
    return [{
        "name": "execution_illegal_transition",
        "note": "completing an execution that was never started is refused with conflict",
        "steps": [
            {"direction": "client", "hex": complete["hex"], "decoded": complete["decoded"], "name": "EXECUTION_COMPLETE"},
            {"direction": "server", "hex": error["hex"], "decoded": error["decoded"], "name": "error"},
        ],
    }]
