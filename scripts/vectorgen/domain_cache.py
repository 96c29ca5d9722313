"""Test vectors of the cache domain (protocol-spec.md section 7.3).

Decoded form of a frame vector: {"header": {...}, "message": <name>, "body": {...}}. In bodies,
bytes are hex strings, u64/i64 are decimal strings, optional fields absent are null.
"""
import struct

from core import Body, header, error_fields, body_for

NAME = "cache"
SECTION = "7.3"

OP = {"cache_get": 0x0301, "cache_set": 0x0302, "cache_delete": 0x0303, "cache_clear": 0x0304}


def message_frame(name, opcode, flags, request_id, message, fields, body, note=""):
    """A frame vector around an already annotated body."""
    raw = body.bytes()
    h, flag_bits, crc = header(raw, opcode, flags, request_id)
    return {
        "name": name, "kind": "frame", "note": note, "checksums": False,
        "hex": (h.bytes() + raw).hex(),
        "decoded": {"header": {"opcode": opcode, "flags": flag_bits, "request_id": str(request_id),
                               "timeout_ms": 0, "checksum": crc},
                    "message": message, "body": fields},
        "_annotation": h.parts + body.parts,
    }


def optional_u64(b, value, note):
    if value is None:
        return b.u8(0, f"{note}: absent")
    b.u8(1, f"{note}: present")
    return b.u64(int(value), f"{note} {value}")


def encode(message, f):
    b = Body()
    if message == "cache_get_request":
        b.blob(bytes.fromhex(f["key"]), "key")
    elif message == "cache_get_response":
        if f["value"] is None:
            b.u8(0, "value: absent (miss)")
        else:
            b.u8(1, "value: present")
            b.blob(bytes.fromhex(f["value"]), "value")
    elif message == "cache_set_request":
        b.blob(bytes.fromhex(f["key"]), "key")
        b.blob(bytes.fromhex(f["value"]), "value")
        optional_u64(b, f["ttl_ms"], "ttl_ms")
    elif message == "cache_delete_request":
        b.u32(len(f["keys"]), f"keys: {len(f['keys'])}")
        for index, key in enumerate(f["keys"]):
            b.blob(bytes.fromhex(key), f"keys[{index}]")
    elif message == "cache_clear_request":
        b.blob(bytes.fromhex(f["prefix"]), "prefix")
    elif message == "cache_count_response":
        b.u64(int(f["count"]), f"count {f['count']}")
    else:
        raise ValueError(message)
    return b


def frame(name, opcode_name, response, request_id, message, fields, note=""):
    flags = ["response"] if response else []
    return message_frame(name, OP[opcode_name], flags, request_id, message, fields, encode(message, fields), note)


def valid():
    awkward = (b"\x00\r\n\xff").hex()
    return [
        frame("cache_get_request", "cache_get", False, 1, "cache_get_request", {"key": b"session:42".hex()},
              "CACHE_GET of key 'session:42'"),
        frame("cache_get_response_hit", "cache_get", True, 1, "cache_get_response", {"value": awkward},
              "a hit: the value holds NUL, CR, LF and 0xFF, all carried as is"),
        frame("cache_get_response_miss", "cache_get", True, 1, "cache_get_response", {"value": None},
              "a miss (absent or expired)"),
        frame("cache_set_request_ttl", "cache_set", False, 2, "cache_set_request",
              {"key": (b"k\x00").hex(), "value": awkward, "ttl_ms": "30000"},
              "CACHE_SET with a 30 s time to live; keys are bytes too"),
        frame("cache_set_request_default_ttl", "cache_set", False, 3, "cache_set_request",
              {"key": b"k".hex(), "value": "", "ttl_ms": None},
              "CACHE_SET of an empty value with the server's default TTL (CACHE_TTL)"),
        message_frame("cache_set_response", OP["cache_set"], ["response"], 2, "empty", {}, Body(),
                      "CACHE_SET answers with an empty body"),
        frame("cache_delete_request", "cache_delete", False, 4, "cache_delete_request",
              {"keys": [b"a".hex(), b"b".hex()]}, "CACHE_DELETE of two keys"),
        frame("cache_delete_response", "cache_delete", True, 4, "cache_count_response", {"count": "1"},
              "one of them existed"),
        frame("cache_clear_request", "cache_clear", False, 5, "cache_clear_request", {"prefix": b"user:7:".hex()},
              "CACHE_CLEAR of every key starting with 'user:7:'"),
        frame("cache_clear_response", "cache_clear", True, 5, "cache_count_response", {"count": "1234"},
              "1234 keys deleted"),
    ]


def invalid():
    def bad(name, message, raw, field, note):
        return {"name": name, "kind": message, "hex": raw.hex(), "error": "invalid_argument", "fatal": False,
                "field": field, "note": note}

    return [
        bad("cache_set_bad_ttl_presence", "cache_set_request",
            struct.pack("<I", 1) + b"k" + struct.pack("<I", 1) + b"v" + bytes([2]), "ttl_ms",
            "presence byte 2"),
        bad("cache_get_key_past_end", "cache_get_request", struct.pack("<I", 9) + b"abc", "key",
            "key length 9 with 3 bytes left"),
        bad("cache_delete_huge_count", "cache_delete_request", struct.pack("<I", 0xFFFFFFFF), "keys",
            "4 billion keys claimed with no bytes left: refused before allocating"),
    ]


def transcripts():
    set_request = frame("set", "cache_set", False, 7, "cache_set_request",
                        {"key": b"k".hex(), "value": b"v".hex(), "ttl_ms": "0"})
    error = body_for("error", error_fields("invalid_argument", "ttl_ms: must be 1...31536000000, got 0",
                                           [["field", {"string": "ttl_ms"}]]))
    error_frame = message_frame("invalid_argument", OP["cache_set"], ["response", "error"], 7, "error",
                                error_fields("invalid_argument", "ttl_ms: must be 1...31536000000, got 0",
                                             [["field", {"string": "ttl_ms"}]]), error)
    return [{
        "name": "cache_set_zero_ttl",
        "note": "a TTL of 0 is refused with invalid_argument naming the field; the connection stays open",
        "steps": [
            {"direction": "client", "hex": set_request["hex"], "decoded": set_request["decoded"], "name": "CACHE_SET"},
            {"direction": "server", "hex": error_frame["hex"], "decoded": error_frame["decoded"], "name": "error"},
        ],
    }]
