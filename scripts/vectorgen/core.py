#!/usr/bin/env python3
"""Encoding helpers and the session-level test vectors (preface, frames, values, errors).

Domain modules (domain_*.py beside this file) import the helpers from here to build their own
vectors. The bytes are built with struct.pack, independently of the Swift encoder; both the
Swift tests and the Python client check them in both directions.
"""
import json
import math
import pathlib
import struct
import zlib  # noqa: F401  (CRC32C is implemented below; zlib's crc32 is a different polynomial)

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

# ---------------------------------------------------------------- encoding helpers

def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


class Body:
    """Builds bytes and remembers an annotation for each field."""

    def __init__(self):
        self.parts = []  # (bytes, note)

    def add(self, data: bytes, note: str):
        self.parts.append((data, note))
        return self

    def u8(self, v, note): return self.add(struct.pack("<B", v), note)
    def u16(self, v, note): return self.add(struct.pack("<H", v), note)
    def u32(self, v, note): return self.add(struct.pack("<I", v), note)
    def u64(self, v, note): return self.add(struct.pack("<Q", v), note)

    def string(self, s: str, note):
        raw = s.encode("utf-8")
        self.u32(len(raw), f"{note}: length {len(raw)}")
        if raw:
            self.add(raw, f"{note}: {s!r}")
        return self

    def blob(self, raw: bytes, note):
        self.u32(len(raw), f"{note}: length {len(raw)}")
        if raw:
            self.add(raw, f"{note}: bytes")
        return self

    def value(self, v, note):
        """v is the JSON form: {"null":None} {"bool":b} {"int":"n"} {"float":x} {"string":s}
        {"bytes":hex} {"list":[...]} {"map":[[k, v], ...]}"""
        (kind, payload), = v.items()
        if kind == "null":
            return self.u8(0, f"{note}: null")
        if kind == "bool":
            return self.u8(2 if payload else 1, f"{note}: {'true' if payload else 'false'}")
        if kind == "int":
            self.u8(3, f"{note}: int tag")
            return self.add(struct.pack("<q", int(payload)), f"{note}: {payload}")
        if kind == "float":
            self.u8(4, f"{note}: float tag")
            return self.add(struct.pack("<d", payload), f"{note}: {payload}")
        if kind == "string":
            self.u8(5, f"{note}: string tag")
            return self.string(payload, note)
        if kind == "bytes":
            self.u8(6, f"{note}: bytes tag")
            return self.blob(bytes.fromhex(payload), note)
        if kind == "list":
            self.u8(7, f"{note}: list tag")
            self.u32(len(payload), f"{note}: {len(payload)} elements")
            for index, element in enumerate(payload):
                self.value(element, f"{note}[{index}]")
            return self
        if kind == "map":
            self.u8(8, f"{note}: map tag")
            return self.map(payload, note)
        raise ValueError(kind)

    def map(self, entries, note):
        keys = [k.encode() for k, _ in entries]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), f"map keys must ascend: {keys}"
        self.u32(len(entries), f"{note}: {len(entries)} entries")
        for key, value in entries:
            self.string(key, f"key")
            self.value(value, f"  {key}")
        return self

    def bytes(self) -> bytes:
        return b"".join(p for p, _ in self.parts)


FLAG = {"response": 0x1, "error": 0x2, "more_chunks": 0x4, "stream": 0x8, "checksum": 0x10}
OPCODE = {"hello": 1, "auth": 2, "ping": 3, "cancel": 4, "goodbye": 5, "go_away": 6, "health": 7}
ERROR = {"malformed_frame": 100, "frame_too_large": 101, "unknown_opcode": 102,
         "unsupported_version": 103, "checksum_mismatch": 104, "auth_required": 200,
         "auth_failed": 201, "permission_denied": 202, "invalid_argument": 300, "not_found": 301,
         "conflict": 302, "dimension_mismatch": 303, "deadline_exceeded": 400, "cancelled": 401,
         "overloaded": 402, "shutting_down": 403, "backend_unavailable": 500, "internal": 501}


def header(body: bytes, opcode, flags, request_id, timeout_ms=0, checksum=False, length=None):
    flag_bits = sum(FLAG[f] for f in flags)
    crc = 0
    if checksum:
        flag_bits |= FLAG["checksum"]
        crc = crc32c(body)
    h = Body()
    n = len(body) if length is None else length
    h.u32(n, f"body_length {n}")
    h.u16(opcode, f"opcode 0x{opcode:04x}")
    h.u16(flag_bits, "flags " + ("|".join(flags + (["checksum"] if checksum else [])) or "none"))
    h.u64(request_id, f"request_id {request_id}")
    h.u32(timeout_ms, f"timeout_ms {timeout_ms}")
    h.u32(crc, f"checksum 0x{crc:08x}" if checksum else "checksum (none)")
    return h, flag_bits, crc


# ---------------------------------------------------------------- message bodies

def body_for(message, fields):
    b = Body()
    if message == "hello":
        b.u16(fields["version"], f"version {fields['version']}")
        b.map(fields["capabilities"], "capabilities")
    elif message == "error":
        b.u16(fields["code"], f"code {fields['code']}")
        b.u16(fields["flags"], f"error flags 0x{fields['flags']:x}")
        b.string(fields["message"], "message")
        b.map(fields["details"], "details")
    elif message == "auth_request":
        b.string(fields["mechanism"], "mechanism")
        b.blob(bytes.fromhex(fields["credential"]), "credential")
    elif message == "auth_response":
        b.string(fields["principal"], "principal")
    elif message == "ping":
        b.u64(int(fields["payload"]), f"payload {fields['payload']}")
    elif message == "go_away":
        b.u64(int(fields["last_request_id"]), f"last_request_id {fields['last_request_id']}")
        b.u16(fields["code"], f"code {fields['code']}")
        b.string(fields["message"], "message")
    elif message == "health_response":
        b.u8(fields["status"], f"status {fields['status']}")
        b.string(fields["server_version"], "server_version")
        b.u16(fields["protocol_version"], "protocol_version")
        b.u64(int(fields["uptime_ms"]), f"uptime_ms {fields['uptime_ms']}")
        b.u32(fields["connections"], f"connections {fields['connections']}")
        b.u32(fields["in_flight"], f"in_flight {fields['in_flight']}")
        b.u32(len(fields["backends"]), f"{len(fields['backends'])} backends")
        for backend in fields["backends"]:
            b.string(backend["name"], "name")
            b.u8(backend["state"], f"state {backend['state']}")
            b.string(backend["detail"], "detail")
    elif message == "empty":
        pass
    else:
        raise ValueError(message)
    return b


def frame(name, message, opcode, flags, request_id, fields, timeout_ms=0, checksum=False, note=""):
    body = body_for(message, fields)
    raw_body = body.bytes()
    h, flag_bits, crc = header(raw_body, opcode, flags, request_id, timeout_ms, checksum)
    return {
        "name": name,
        "kind": "frame",
        "note": note,
        "checksums": checksum,
        "hex": (h.bytes() + raw_body).hex(),
        "decoded": {
            "header": {"opcode": opcode, "flags": flag_bits, "request_id": str(request_id),
                       "timeout_ms": timeout_ms, "checksum": crc},
            "message": message,
            "body": fields,
        },
        "_annotation": h.parts + body.parts,
    }


def preface_bytes(min_version, max_version, features):
    b = Body()
    b.add(bytes([0xA7, 0x41, 0x47, 0x53]), "magic \\xA7AGS")
    b.u16(min_version, f"min_version {min_version}")
    b.u16(max_version, f"max_version {max_version}")
    b.u32(features, f"features 0x{features:x}")
    return b


def error_fields(code_name, message, details=None, flags=None):
    default_flags = {
        "malformed_frame": 2, "frame_too_large": 2, "unsupported_version": 2, "auth_required": 2,
        "checksum_mismatch": 3, "deadline_exceeded": 5, "cancelled": 4, "internal": 4,
        "overloaded": 1, "shutting_down": 1, "backend_unavailable": 1,
    }
    return {"code": ERROR[code_name], "flags": default_flags.get(code_name, 0) if flags is None else flags,
            "message": message, "details": details or []}


def i(n):
    return {"int": str(n)}


HELLO_CAPABILITIES = [
    ["auth_mechanisms", {"list": [{"string": "token"}]}],
    ["auth_required", {"bool": True}],
    ["checksum", {"string": "none"}],
    ["default_timeout_ms", i(30000)],
    ["idle_timeout_ms", i(300000)],
    ["max_frame_body_bytes", i(1048576)],
    ["max_in_flight", i(1024)],
    ["max_k", i(1000)],
    ["max_message_bytes", i(67108864)],
    ["max_timeout_ms", i(300000)],
    ["max_vector_dim", i(4096)],
    ["server_id", {"string": "srv-1"}],
    ["server_version", {"string": "0.1.0"}],
    ["zz_future_capability", {"map": [["nested", {"null": None}]]}],
]

# ---------------------------------------------------------------- the vectors

def valid_vectors():
    vectors = []
    p = preface_bytes(1, 1, 0)
    vectors.append({"name": "preface_v1", "kind": "preface", "note": "client preface: versions 1..1, no features",
                    "hex": p.bytes().hex(), "decoded": {"min_version": 1, "max_version": 1, "features": 0},
                    "_annotation": p.parts})
    p = preface_bytes(1, 3, 1)
    vectors.append({"name": "preface_range_with_checksums", "kind": "preface",
                    "note": "client speaking versions 1..3 and asking for CRC32C checksums",
                    "hex": p.bytes().hex(), "decoded": {"min_version": 1, "max_version": 3, "features": 1},
                    "_annotation": p.parts})
    vectors.append(frame("hello", "hello", 1, ["response"], 0,
                         {"version": 1, "capabilities": HELLO_CAPABILITIES},
                         note="server hello; the last capability key is unknown to v1 clients, which must ignore it"))
    vectors.append(frame("hello_unsupported_version", "error", 1, ["response", "error"], 0,
                         error_fields("unsupported_version", "no common protocol version",
                                      [["max_version", i(1)], ["min_version", i(1)]]),
                         note="answer to a preface asking for versions 2..3: carries the server's range, then close"))
    vectors.append(frame("auth_request", "auth_request", 2, [], 1,
                         {"mechanism": "token", "credential": b"s3cret".hex()}, timeout_ms=5000,
                         note="AUTH with a token, 5 s timeout"))
    vectors.append(frame("auth_response", "auth_response", 2, ["response"], 1, {"principal": "agent-fleet"}))
    vectors.append(frame("auth_failed", "error", 2, ["response", "error"], 1,
                         error_fields("auth_failed", "authentication failed")))
    vectors.append(frame("ping_request", "ping", 3, [], 2, {"payload": "81985529216486895"}))
    vectors.append(frame("ping_response", "ping", 3, ["response"], 2, {"payload": "81985529216486895"}))
    vectors.append(frame("server_ping", "ping", 3, [], 0, {"payload": "7"},
                         note="a ping the server starts: request id 0, no response flag"))
    vectors.append(frame("server_ping_answer", "ping", 3, ["response"], 0, {"payload": "7"},
                         note="the client's answer to a server ping"))
    vectors.append(frame("ping_with_checksum", "ping", 3, [], 3, {"payload": "1"}, checksum=True,
                         note="after checksums were negotiated: CRC32C of the 8 body bytes"))
    vectors.append(frame("cancel", "empty", 4, [], 9, {},
                         note="cancels request 9; no response of its own"))
    vectors.append(frame("goodbye_request", "empty", 5, [], 10, {}))
    vectors.append(frame("goodbye_response", "empty", 5, ["response"], 10, {}))
    vectors.append(frame("go_away", "go_away", 6, [], 0,
                         {"last_request_id": "41", "code": 403, "message": "server shutting down"}))
    vectors.append(frame("health_request", "empty", 7, [], 4, {}, timeout_ms=1000))
    vectors.append(frame("health_response", "health_response", 7, ["response"], 4,
                         {"status": 2, "server_version": "0.1.0", "protocol_version": 1, "uptime_ms": "90061",
                          "connections": 3, "in_flight": 1,
                          "backends": [{"name": "postgres", "state": 1, "detail": ""},
                                       {"name": "redis", "state": 3, "detail": "connection refused"}]}))
    vectors.append(frame("overloaded", "error", 7, ["response", "error"], 1025,
                         error_fields("overloaded", "too many requests in flight",
                                      [["limit", i(1024)], ["retry_after_ms", i(50)]]),
                         note="request 1025 was over the in-flight limit; it was not executed"))
    vectors.append(frame("unknown_opcode", "error", 0x7777, ["response", "error"], 12,
                         error_fields("unknown_opcode", "unknown opcode 0x7777")))
    vectors.append(frame("error_utf8_details", "error", 7, ["response", "error"], 13,
                         error_fields("invalid_argument", "namespace label “ünïcødé” 🚀 too long",
                                      [["actual", i(300)], ["field", {"string": "namespace"}], ["limit", i(255)]])))
    vectors.append(frame("malformed_frame_fatal", "error", 0, ["response", "error"], 0,
                         error_fields("malformed_frame", "reserved flag bits set: 0x8000"),
                         note="connection-level error: request id 0, opcode 0, then the server closes"))

    def value_vector(name, value, note=""):
        b = Body().value(value, "value")
        return {"name": name, "kind": "value", "note": note, "hex": b.bytes().hex(), "decoded": value,
                "_annotation": b.parts}

    vectors.append(value_vector("value_empty_string", {"string": ""}))
    vectors.append(value_vector("value_multibyte_utf8", {"string": "héllo 世界 🌍"}))
    vectors.append(value_vector("value_int_extremes", {"list": [i(-9223372036854775808), i(9223372036854775807), i(0)]}))
    vectors.append(value_vector("value_float", {"float": -1.5}))
    deep = i(7)
    for _ in range(64):
        deep = {"list": [deep]}
    vectors.append(value_vector("value_nested_at_limit", deep,
                                note="64 nested lists around an int: the deepest nesting allowed"))
    vectors.append(value_vector("value_bytes_binary", {"bytes": "00ff0d0a"}))
    vectors.append(value_vector("value_nested_map", {"map": [
        ["a", {"null": None}], ["b", {"bool": False}], ["c", {"list": [{"bool": True}, i(1)]}],
        ["é", {"map": []}]]}, note="keys ascend by UTF-8 bytes: 'é' (c3 a9) sorts after 'c'"))

    def vector_vector(name, components):
        b = Body()
        b.u32(len(components), f"dimension {len(components)}")
        for index, c in enumerate(components):
            b.add(struct.pack("<f", c), f"[{index}] {c}")
        return {"name": name, "kind": "vector", "hex": b.bytes().hex(), "decoded": components, "_annotation": b.parts}

    vectors.append(vector_vector("vector_3d", [1.0, -0.5, 0.25]))
    vectors.append(vector_vector("vector_empty", []))

    h, _, _ = header(b"", 3, [], 5, length=1048576)
    vectors.append({"name": "header_at_body_limit", "kind": "header", "limit": 1048576,
                    "note": "a header whose body_length equals max_frame_body_bytes is accepted",
                    "hex": h.bytes().hex(),
                    "decoded": {"opcode": 3, "flags": 0, "request_id": "5", "timeout_ms": 0, "checksum": 0,
                                "body_length": 1048576},
                    "_annotation": h.parts})
    return vectors


def invalid_vectors():
    vectors = []

    def preface(name, raw: bytes, note):
        vectors.append({"name": name, "kind": "preface", "hex": raw.hex(), "error": "malformed_frame",
                        "fatal": True, "note": note})

    preface("preface_tls_client_hello", bytes.fromhex("160301020001000200030378"), "a TLS ClientHello")
    preface("preface_http_get", b"GET / HTTP/1.1\r\nHost: x\r\n", "an HTTP request")
    preface("preface_resp_ping", b"*1\r\n$4\r\nPING\r\n", "a Redis RESP PING")
    preface("preface_postgres_startup", bytes.fromhex("0000000804d2162f"), "a PostgreSQL SSLRequest")
    preface("preface_min_above_max", preface_bytes(3, 1, 0).bytes(), "min_version above max_version")
    preface("preface_reserved_feature", preface_bytes(1, 1, 0x80000000).bytes(), "reserved feature bit")

    def bad_header(name, raw: bytes, error, note, limit=1048576, checksums=False):
        vectors.append({"name": name, "kind": "frame", "hex": raw.hex(), "error": error, "fatal": True,
                        "limit": limit, "checksums": checksums, "note": note})

    ping = struct.pack("<Q", 1)
    h, _, _ = header(ping, 3, [], 1)
    raw = bytearray(h.bytes() + ping); raw[7] = 0x80
    bad_header("reserved_flag_bit", bytes(raw), "malformed_frame", "flag bit 0x8000 is reserved")
    h, _, _ = header(b"", 3, [], 1, length=0xFFFFFFFF)
    bad_header("oversized_length", h.bytes(), "frame_too_large",
               "body_length 4 GiB - 1: refused from the header, nothing allocated")
    h, _, _ = header(b"", 3, [], 1, length=4097)
    bad_header("over_preauth_limit", h.bytes(), "frame_too_large",
               "before auth the limit is 4096 bytes", limit=4096)
    h, _, _ = header(ping, 3, ["error"], 1)
    bad_header("error_flag_without_response", h.bytes() + ping, "malformed_frame", "error is only valid on responses")
    h, _, _ = header(ping, 3, [], 1)
    raw = bytearray(h.bytes() + ping); raw[20] = 1
    bad_header("checksum_without_flag", bytes(raw), "malformed_frame", "checksum field must be 0 without the flag")
    h, _, _ = header(ping, 3, [], 1, checksum=True)
    raw = bytearray(h.bytes() + ping); raw[-1] ^= 0xFF
    bad_header("bad_checksum", bytes(raw), "checksum_mismatch", "body corrupted after the checksum was computed",
               checksums=True)
    h, _, _ = header(ping, 3, [], 1, checksum=True)
    bad_header("checksum_not_negotiated", h.bytes() + ping, "malformed_frame",
               "checksum flag on a connection that did not negotiate checksums")

    def bad_body(name, kind, raw: bytes, note):
        vectors.append({"name": name, "kind": kind, "hex": raw.hex(), "error": "invalid_argument",
                        "fatal": False, "note": note})

    bad_body("value_unknown_tag", "value", bytes([0x09]), "tag 9 is not defined")
    bad_body("value_string_past_end", "value", bytes([5]) + struct.pack("<I", 10) + b"abc",
             "string length 10 with 3 bytes left")
    bad_body("value_invalid_utf8", "value", bytes([5]) + struct.pack("<I", 2) + bytes([0xC3, 0x28]), "bad UTF-8")
    bad_body("value_huge_list_count", "value", bytes([7]) + struct.pack("<I", 0xFFFFFFFF),
             "4 billion elements claimed with no bytes left: refused before allocating")
    bad_body("value_map_keys_descending", "value",
             bytes([8]) + struct.pack("<I", 2) + struct.pack("<I", 1) + b"b" + bytes([0])
             + struct.pack("<I", 1) + b"a" + bytes([0]), "keys must ascend")
    bad_body("value_map_duplicate_key", "value",
             bytes([8]) + struct.pack("<I", 2) + (struct.pack("<I", 1) + b"a" + bytes([0])) * 2, "duplicate key")
    bad_body("value_nested_too_deep", "value", bytes([7]) + (struct.pack("<I", 1) + bytes([7])) * 64
             + struct.pack("<I", 0), "65 nested lists")
    bad_body("vector_nan", "vector", struct.pack("<I", 2) + struct.pack("<f", 1.0) + bytes.fromhex("0000c07f"),
             "a NaN component")
    bad_body("vector_infinity", "vector", struct.pack("<I", 1) + struct.pack("<f", math.inf), "an infinite component")
    bad_body("vector_dimension_past_end", "vector", struct.pack("<I", 1000) + struct.pack("<f", 1.0),
             "dimension 1000 with one component present")
    bad_body("auth_request_truncated", "auth_request", struct.pack("<I", 5) + b"token" + struct.pack("<I", 8) + b"abc",
             "credential length 8 with 3 bytes left")
    return vectors


def transcripts():
    hello = frame("hello", "hello", 1, ["response"], 0, {"version": 1, "capabilities": HELLO_CAPABILITIES})
    p = preface_bytes(1, 1, 0)

    def step(direction, item):
        return {"direction": direction, "hex": item["hex"], "decoded": item.get("decoded"),
                "name": item["name"]}

    preface_item = {"name": "preface", "hex": p.bytes().hex(),
                    "decoded": {"min_version": 1, "max_version": 1, "features": 0}}
    return [
        {"name": "handshake_and_auth", "steps": [
            step("client", preface_item),
            step("server", hello),
            step("client", frame("auth", "auth_request", 2, [], 1, {"mechanism": "token", "credential": b"s3cret".hex()})),
            step("server", frame("auth_ok", "auth_response", 2, ["response"], 1, {"principal": "agent-fleet"})),
        ]},
        {"name": "out_of_order_responses", "steps": [
            step("client", frame("ping_5", "ping", 3, [], 5, {"payload": "5"})),
            step("client", frame("health_6", "empty", 7, [], 6, {})),
            step("client", frame("ping_7", "ping", 3, [], 7, {"payload": "7"})),
            step("server", frame("pong_7", "ping", 3, ["response"], 7, {"payload": "7"})),
            step("server", frame("pong_5", "ping", 3, ["response"], 5, {"payload": "5"})),
            step("server", frame("health_6_response", "health_response", 7, ["response"], 6,
                                 {"status": 1, "server_version": "0.1.0", "protocol_version": 1, "uptime_ms": "5",
                                  "connections": 1, "in_flight": 0, "backends": []})),
        ]},
        {"name": "cancel_race", "steps": [
            step("client", frame("health_8", "empty", 7, [], 8, {})),
            step("client", frame("health_9", "empty", 7, [], 9, {})),
            step("client", frame("cancel_8", "empty", 4, [], 8, {})),
            step("client", frame("cancel_9", "empty", 4, [], 9, {})),
            step("server", frame("cancelled_8", "error", 7, ["response", "error"], 8,
                                 error_fields("cancelled", "cancelled by the client"))),
            step("server", frame("health_9_response", "health_response", 7, ["response"], 9,
                                 {"status": 1, "server_version": "0.1.0", "protocol_version": 1, "uptime_ms": "6",
                                  "connections": 1, "in_flight": 0, "backends": []})),
        ], "note": "request 8 was still pending and is answered cancelled; request 9 had already finished, so "
                   "its cancel is ignored and the real response stands"},
        {"name": "shutdown_with_go_away", "steps": [
            step("client", frame("ping_20", "ping", 3, [], 20, {"payload": "20"})),
            step("server", frame("go_away", "go_away", 6, [], 0,
                                 {"last_request_id": "20", "code": 403, "message": "server shutting down"})),
            step("client", frame("ping_21", "ping", 3, [], 21, {"payload": "21"})),
            step("server", frame("pong_20", "ping", 3, ["response"], 20, {"payload": "20"})),
            step("server", frame("shutting_down_21", "error", 3, ["response", "error"], 21,
                                 error_fields("shutting_down", "server is shutting down"))),
        ]},
    ]


# ---------------------------------------------------------------- output

def annotate(parts):
    lines = []
    for data, note in parts:
        hex_text = data.hex(" ")
        if len(data) > 16:
            hex_text = data[:16].hex(" ") + f" … ({len(data)} bytes)"
        lines.append(f"{hex_text:<50} {note}")
    return "\n".join(lines)


def strip_private(items):
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


def document(valid, invalid, scripts, heading_level="###", number=""):
    prefix = f"{number}." if number else ""
    doc = ["", f"{heading_level} {prefix}1 Valid messages", ""]
    for v in valid:
        doc.append(f"**{v['name']}** ({v['kind']}){': ' + v['note'] if v.get('note') else ''}")
        doc.append("")
        doc.append("```")
        doc.append(annotate(v["_annotation"]))
        doc.append("```")
        doc.append("")
    if invalid:
        doc += [f"{heading_level} {prefix}2 Invalid input and the error it must give", "",
                "| name | kind | hex | error | closes connection | why |", "|---|---|---|---|---|---|"]
        for v in invalid:
            hex_text = v["hex"] if len(v["hex"]) <= 64 else v["hex"][:64] + "…"
            doc.append(f"| {v['name']} | {v['kind']} | `{hex_text}` | `{v['error']}` | {'yes' if v['fatal'] else 'no'} | {v['note']} |")
        doc.append("")
    if scripts:
        doc += [f"{heading_level} {prefix}3 Transcripts", ""]
        for t in scripts:
            doc.append(f"**{t['name']}**{': ' + t['note'] if t.get('note') else ''}")
            doc.append("")
            doc.append("```")
            for s in t["steps"]:
                arrow = "C→S" if s["direction"] == "client" else "S→C"
                doc.append(f"{arrow} {s['name']:<20} {s['hex']}")
            doc.append("```")
            doc.append("")
    return doc


def replace_between(text, begin, end, body):
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return head + begin + "\n" + body + "\n" + end + tail


def write_core():
    valid = valid_vectors()
    invalid = invalid_vectors()
    scripts = transcripts()
    out = ROOT / "Tests" / "Vectors"
    out.mkdir(parents=True, exist_ok=True)
    (out / "valid.json").write_text(json.dumps(strip_private(valid), indent=1, ensure_ascii=False) + "\n")
    (out / "invalid.json").write_text(json.dumps(invalid, indent=1, ensure_ascii=False) + "\n")
    (out / "transcripts.json").write_text(json.dumps(scripts, indent=1, ensure_ascii=False) + "\n")
    doc = document(valid, invalid, scripts, number="8")
    doc.insert(3, "")
    doc += ["Header vectors are judged against `max_frame_body_bytes` = 1048576 unless the vector's `limit` "
            "says otherwise (4096 before auth).", ""]
    spec = ROOT / "protocol-spec.md"
    spec.write_text(replace_between(spec.read_text(), "<!-- examples:begin -->", "<!-- examples:end -->", "\n".join(doc)))
    return len(valid), len(invalid), len(scripts)
