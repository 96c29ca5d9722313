"""The spec's examples (Tests/Vectors/*.json) checked in both directions: every valid vector
decodes to its ``decoded`` form and that form re-encodes to the exact bytes; every invalid vector
gives its error code; transcripts decode through a streaming decoder fed byte by byte and all at
once. The JSON forms are converted here, independently of the code under test."""
from __future__ import annotations

import json
import pathlib
import random

import pytest

from agent_store import wire
from agent_store.codes import (
    PREAUTH_FRAME_BODY_BYTES_MAX, VALUE_NESTING_MAX, ErrorCode, FrameFlags,
)
from agent_store.errors import DecodeError, ProtocolError

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "Tests" / "Vectors"
VALID = json.loads((VECTORS / "valid.json").read_text())
INVALID = json.loads((VECTORS / "invalid.json").read_text())
TRANSCRIPTS = json.loads((VECTORS / "transcripts.json").read_text())

#: Header vectors without their own ``limit`` are judged against this (spec 8.2).
DEFAULT_BODY_LIMIT = 1 << 20
MESSAGE_LIMIT = 64 << 20


# JSON form <-> Python value. The JSON form tags every value ({"int": "5"}, {"map": [[k, v]]}).

def value_from_json(node):
    (kind, payload), = node.items()
    if kind == "null":
        return None
    if kind == "bool":
        return payload
    if kind == "int":
        return int(payload)
    if kind == "float":
        return float(payload)
    if kind == "string":
        return payload
    if kind == "bytes":
        return bytes.fromhex(payload)
    if kind == "list":
        return [value_from_json(element) for element in payload]
    if kind == "map":
        return map_from_json(payload)
    raise AssertionError(f"unknown JSON value kind {kind}")


def map_from_json(pairs):
    return {key: value_from_json(value) for key, value in pairs}


def value_to_json(value):
    if value is None:
        return {"null": None}
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": value}
    if isinstance(value, str):
        return {"string": value}
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, list):
        return {"list": [value_to_json(element) for element in value]}
    if isinstance(value, dict):
        return {"map": map_to_json(value)}
    raise AssertionError(f"unexpected decoded type {type(value)}")


def map_to_json(mapping):
    # The decoder keeps wire order, which for a valid map is ascending UTF-8 order.
    return [[key, value_to_json(value)] for key, value in mapping.items()]


def header_to_json(header):
    return {"opcode": header.opcode, "flags": header.flags, "request_id": str(header.request_id),
            "timeout_ms": header.timeout_ms, "checksum": header.checksum}


# Message bodies: (decode bytes -> JSON form, JSON form -> encoded bytes) per message name.

def _error_to_json(body):
    error = wire.decode_error(body)
    return {"code": error.code, "flags": error.flags, "message": error.message,
            "details": map_to_json(error.details)}


def _error_from_json(fields):
    return wire.encode_error(wire.ErrorBody(fields["code"], fields["flags"], fields["message"],
                                            map_from_json(fields["details"])))


def _hello_to_json(body):
    hello = wire.decode_hello(body)
    return {"version": hello.version, "capabilities": map_to_json(hello.capabilities)}


def _hello_from_json(fields):
    return wire.encode_hello(wire.Hello(fields["version"], map_from_json(fields["capabilities"])))


def _auth_request_to_json(body):
    request = wire.decode_auth_request(body)
    return {"mechanism": request.mechanism, "credential": request.credential.hex()}


def _auth_request_from_json(fields):
    return wire.encode_auth_request(
        wire.AuthRequest(fields["mechanism"], bytes.fromhex(fields["credential"])))


def _go_away_to_json(body):
    go_away = wire.decode_go_away(body)
    return {"last_request_id": str(go_away.last_request_id), "code": go_away.code,
            "message": go_away.message}


def _go_away_from_json(fields):
    return wire.encode_go_away(
        wire.GoAway(int(fields["last_request_id"]), fields["code"], fields["message"]))


def _health_to_json(body):
    health = wire.decode_health(body)
    return {"status": health.status, "server_version": health.server_version,
            "protocol_version": health.protocol_version, "uptime_ms": str(health.uptime_ms),
            "connections": health.connections, "in_flight": health.in_flight,
            "backends": [{"name": b.name, "state": b.state, "detail": b.detail}
                         for b in health.backends]}


def _health_from_json(fields):
    return wire.encode_health(wire.Health(
        fields["status"], fields["server_version"], fields["protocol_version"],
        int(fields["uptime_ms"]), fields["connections"], fields["in_flight"],
        [wire.BackendHealth(b["name"], b["state"], b["detail"]) for b in fields["backends"]]))


def _empty_to_json(body):
    assert body == b""
    return {}


MESSAGES = {
    "hello": (_hello_to_json, _hello_from_json),
    "error": (_error_to_json, _error_from_json),
    "auth_request": (_auth_request_to_json, _auth_request_from_json),
    "auth_response": (lambda body: {"principal": wire.decode_auth_response(body)},
                      lambda fields: wire.encode_auth_response(fields["principal"])),
    "ping": (lambda body: {"payload": str(wire.decode_ping(body))},
             lambda fields: wire.encode_ping(int(fields["payload"]))),
    "go_away": (_go_away_to_json, _go_away_from_json),
    "health_response": (_health_to_json, _health_from_json),
    "empty": (_empty_to_json, lambda fields: b""),
}


def frame_to_json(frame):
    """The decoded form of a frame, choosing the body codec from the header like a client does:
    the error flag means an error body, otherwise the opcode decides."""
    header = frame.header
    if header.flags & FrameFlags.ERROR:
        message = "error"
    elif header.opcode == wire.Opcode.HELLO:
        message = "hello"
    elif header.opcode == wire.Opcode.AUTH:
        message = "auth_response" if header.flags & FrameFlags.RESPONSE else "auth_request"
    elif header.opcode == wire.Opcode.PING:
        message = "ping"
    elif header.opcode == wire.Opcode.GO_AWAY:
        message = "go_away"
    elif header.opcode == wire.Opcode.HEALTH and header.flags & FrameFlags.RESPONSE:
        message = "health_response"
    else:
        message = "empty"
    return {"header": header_to_json(header), "message": message,
            "body": MESSAGES[message][0](frame.body)}


def frame_from_json(decoded, checksums):
    header = decoded["header"]
    body = MESSAGES[decoded["message"]][1](decoded["body"])
    flags = header["flags"] & ~FrameFlags.CHECKSUM if checksums else header["flags"]
    return wire.encode_frame(header["opcode"], flags, int(header["request_id"]), body,
                             header["timeout_ms"], checksum=checksums)


def decode_one_frame(data, limit=DEFAULT_BODY_LIMIT, checksums=False):
    decoder = wire.FrameDecoder(body_limit=limit, checksums=checksums)
    decoder.feed(data)
    frame = decoder.next_frame()
    assert frame is not None, "a complete frame was given"
    assert decoder.buffered_bytes == 0
    return frame


def by_kind(vectors, kind):
    return [pytest.param(v, id=v["name"]) for v in vectors if v["kind"] == kind]


def test_every_vector_kind_is_covered():
    assert {v["kind"] for v in VALID} == {"preface", "frame", "value", "vector", "header"}
    assert {v["kind"] for v in INVALID} <= {"preface", "frame", "value", "vector", "auth_request"}


# Valid vectors, both directions.

@pytest.mark.parametrize("vector", by_kind(VALID, "preface"))
def test_valid_preface(vector):
    data = bytes.fromhex(vector["hex"])
    decoded = vector["decoded"]
    preface = wire.decode_preface(data)
    assert preface == wire.Preface(decoded["min_version"], decoded["max_version"],
                                   decoded["features"])
    assert wire.encode_preface(preface).hex() == vector["hex"]
    assert wire.decode_preface(data[:11]) is None


@pytest.mark.parametrize("vector", by_kind(VALID, "frame"))
def test_valid_frame(vector):
    data = bytes.fromhex(vector["hex"])
    frame = decode_one_frame(data, checksums=vector["checksums"])
    assert frame_to_json(frame) == vector["decoded"]
    assert frame_from_json(vector["decoded"], vector["checksums"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", by_kind(VALID, "value"))
def test_valid_value(vector):
    value = wire.decode_value(bytes.fromhex(vector["hex"]))
    assert value_to_json(value) == vector["decoded"]
    assert wire.encode_value(value_from_json(vector["decoded"])).hex() == vector["hex"]


@pytest.mark.parametrize("vector", by_kind(VALID, "vector"))
def test_valid_vector(vector):
    components = wire.decode_vector(bytes.fromhex(vector["hex"]))
    assert components == vector["decoded"]
    assert wire.encode_vector(vector["decoded"]).hex() == vector["hex"]


@pytest.mark.parametrize("vector", by_kind(VALID, "header"))
def test_valid_header(vector):
    data = bytes.fromhex(vector["hex"])
    header = wire.decode_header(data)
    decoded = dict(vector["decoded"])
    assert header == wire.FrameHeader(decoded["body_length"], decoded["opcode"], decoded["flags"],
                                      int(decoded["request_id"]), decoded["timeout_ms"],
                                      decoded["checksum"])
    wire.validate_header(header, vector.get("limit", DEFAULT_BODY_LIMIT), checksums=False)
    # The streaming decoder accepts the header and waits for the body.
    decoder = wire.FrameDecoder(body_limit=vector.get("limit", DEFAULT_BODY_LIMIT))
    decoder.feed(data)
    assert decoder.next_frame() is None
    assert wire.encode_header(header).hex() == vector["hex"]


# Invalid vectors.

@pytest.mark.parametrize("vector", [pytest.param(v, id=v["name"]) for v in INVALID])
def test_invalid(vector):
    data = bytes.fromhex(vector["hex"])
    expected = ErrorCode.from_wire_name(vector["error"])
    kind = vector["kind"]
    if kind == "preface":
        with pytest.raises(ProtocolError) as caught:
            wire.decode_preface(data)
    elif kind == "frame":
        decoder = wire.FrameDecoder(body_limit=vector.get("limit", DEFAULT_BODY_LIMIT),
                                    checksums=vector.get("checksums", False))
        decoder.feed(data)
        with pytest.raises(ProtocolError) as caught:
            decoder.next_frame()
    elif kind == "value":
        with pytest.raises(DecodeError) as caught:
            wire.decode_value(data)
    elif kind == "vector":
        with pytest.raises(DecodeError) as caught:
            wire.decode_vector(data, dimension_max=4096)
    elif kind == "auth_request":
        with pytest.raises(DecodeError) as caught:
            wire.decode_auth_request(data)
    else:
        raise AssertionError(f"unknown invalid kind {kind}")
    assert caught.value.code == expected
    assert caught.value.fatal == vector["fatal"]


@pytest.mark.parametrize("vector", by_kind(INVALID, "preface"))
def test_invalid_preface_is_refused_from_its_first_byte(vector):
    data = bytes.fromhex(vector["hex"])
    if data[:1] != wire.MAGIC[:1]:
        with pytest.raises(ProtocolError):
            wire.decode_preface(data[:1])


# Transcripts.

def transcript_param(transcript):
    return pytest.param(transcript, id=transcript["name"])


def check_transcript_direction(steps, chunks):
    """Feeds ``chunks`` (the concatenated bytes of ``steps``, split any way) to one streaming
    decoder and checks that the frames come out in order with their decoded forms."""
    decoder = wire.FrameDecoder(body_limit=PREAUTH_FRAME_BODY_BYTES_MAX)
    assembler = wire.ChunkAssembler(MESSAGE_LIMIT)
    decoded = []
    for chunk in chunks:
        decoder.feed(chunk)
        for frame in decoder.frames():
            assert assembler.add(frame) is not None
            decoded.append(frame_to_json(frame))
            if frame.opcode == wire.Opcode.HELLO:
                hello = wire.decode_hello(frame.body)
                decoder.body_limit = hello.max_frame_body_bytes
    assert decoder.buffered_bytes == 0
    assert decoded == [step["decoded"] for step in steps]


def split_random(data, rng):
    chunks, start = [], 0
    while start < len(data):
        size = rng.randint(1, 40)
        chunks.append(data[start:start + size])
        start += size
    return chunks


@pytest.mark.parametrize("transcript", [transcript_param(t) for t in TRANSCRIPTS])
@pytest.mark.parametrize("direction", ["server", "client"])
def test_transcript(transcript, direction):
    steps = [s for s in transcript["steps"] if s["direction"] == direction]
    if direction == "client" and steps and steps[0]["name"] == "preface":
        preface, steps = steps[0], steps[1:]
        decoded = preface["decoded"]
        assert wire.decode_preface(bytes.fromhex(preface["hex"])) == wire.Preface(
            decoded["min_version"], decoded["max_version"], decoded["features"])
    data = b"".join(bytes.fromhex(step["hex"]) for step in steps)
    check_transcript_direction(steps, [data])
    check_transcript_direction(steps, [data[i:i + 1] for i in range(len(data))])
    check_transcript_direction(steps, split_random(data, random.Random(len(data))))
    for step in steps:
        assert frame_from_json(step["decoded"], False).hex() == step["hex"]


# Properties beyond the vectors.

def test_nesting_limit_boundary():
    deepest = []
    for _ in range(VALUE_NESTING_MAX - 1):
        deepest = [deepest]
    assert wire.decode_value(wire.encode_value(deepest)) == deepest
    with pytest.raises(ValueError):
        wire.encode_value([deepest])
    too_deep = b"\x07\x01\x00\x00\x00" * VALUE_NESTING_MAX + b"\x07\x00\x00\x00\x00"
    with pytest.raises(DecodeError):
        wire.decode_value(too_deep)


def test_map_keys_sorted_by_utf8_bytes_not_code_points():
    # U+FF5E sorts before U+1F600 as code points and as UTF-8 (ef bd 9e < f0 9f 98 80); U+E000
    # (ee 80 80) vs U+10000 (f0 90 80 80) likewise; but surrogate-free Python str order equals
    # UTF-8 order, so check the encoding directly against sorted raw keys.
    mapping = {"é": 1, "z": 2, "a": 3, "\U0001F600": 4, "\uFF5E": 5}
    encoded = wire.encode_value(mapping)
    assert wire.decode_value(encoded) == mapping
    keys = list(wire.decode_value(encoded))
    assert [k.encode() for k in keys] == sorted(k.encode() for k in mapping)


def test_values_round_trip():
    value = {"n": None, "t": True, "f": False, "i": -(1 << 63), "x": 2.5, "s": "ü", "b": b"\0",
             "l": [1, [2, {"k": []}]], "m": {}}
    assert wire.decode_value(wire.encode_value(value)) == value
    with pytest.raises(ValueError):
        wire.encode_value(1 << 63)
    with pytest.raises(TypeError):
        wire.encode_value({1: 2})


def test_vector_limits():
    with pytest.raises(DecodeError):
        wire.decode_vector(wire.encode_vector([0.0] * 5), dimension_max=4)
    with pytest.raises(ValueError):
        wire.encode_vector([float("nan")])


def test_chunked_message_round_trip_with_interleaving():
    body = bytes(range(256)) * 40
    chunks = wire.encode_message(0x0101, 0, 7, body, body_limit=1000, timeout_ms=50)
    assert len(chunks) == 11
    other = wire.encode_frame(wire.Opcode.PING, 0, 8, wire.encode_ping(1))
    stream = b"".join(chunks[:5]) + other + b"".join(chunks[5:])
    decoder = wire.FrameDecoder(body_limit=1000)
    assembler = wire.ChunkAssembler(MESSAGE_LIMIT)
    decoder.feed(stream)
    messages = [m for m in (assembler.add(f) for f in decoder.frames()) if m is not None]
    assert [m.request_id for m in messages] == [8, 7]
    assert messages[1].body == body and messages[1].timeout_ms == 50
    assert messages[1].flags == 0 and assembler.held_bytes == 0


def test_chunk_flag_change_is_malformed():
    first = wire.encode_frame(0x0101, FrameFlags.MORE_CHUNKS, 3, b"ab")
    second = wire.encode_frame(0x0101, FrameFlags.STREAM | FrameFlags.RESPONSE, 3, b"cd")
    decoder = wire.FrameDecoder()
    assembler = wire.ChunkAssembler(MESSAGE_LIMIT)
    decoder.feed(first + second)
    assert assembler.add(decoder.next_frame()) is None
    with pytest.raises(ProtocolError) as caught:
        assembler.add(decoder.next_frame())
    assert caught.value.code == ErrorCode.MALFORMED_FRAME


def test_incomplete_messages_over_the_limit():
    assembler = wire.ChunkAssembler(10)
    decoder = wire.FrameDecoder()
    decoder.feed(wire.encode_frame(0x0101, FrameFlags.MORE_CHUNKS, 1, b"123456")
                 + wire.encode_frame(0x0101, FrameFlags.MORE_CHUNKS, 2, b"123456"))
    assert assembler.add(decoder.next_frame()) is None
    with pytest.raises(ProtocolError) as caught:
        assembler.add(decoder.next_frame())
    assert caught.value.code == ErrorCode.FRAME_TOO_LARGE
    assert caught.value.details == {"limit": 10, "actual": 12}


def test_unknown_error_code_decodes():
    code = ErrorCode(777)
    assert int(code) == 777 and code.wire_name == "unknown_777"
    assert ErrorCode.DEADLINE_EXCEEDED.default_flags == 0x5
    assert ErrorCode.CHECKSUM_MISMATCH.default_flags == 0x3
    assert ErrorCode.NOT_FOUND.default_flags == 0


BODY_DECODERS = [wire.decode_hello, wire.decode_error, wire.decode_auth_request,
                 wire.decode_auth_response, wire.decode_ping, wire.decode_go_away,
                 wire.decode_health, wire.decode_value, wire.decode_vector]


def test_decoder_fuzz_never_fails_untyped():
    """Random mutations of valid frames either decode or raise ProtocolError; never another
    exception and never a huge allocation. The seed is printed so a failure can be replayed."""
    seed = random.randrange(1 << 32)
    print(f"fuzz seed {seed}")
    rng = random.Random(seed)
    samples = [bytes.fromhex(v["hex"]) for v in VALID if v["kind"] == "frame"]
    for _ in range(2000):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        decoder = wire.FrameDecoder(body_limit=DEFAULT_BODY_LIMIT, checksums=rng.random() < 0.5)
        decoder.feed(bytes(data))
        try:
            for frame in decoder.frames():
                for decode in BODY_DECODERS:
                    try:
                        decode(frame.body)
                    except DecodeError:
                        pass  # a body that does not decode is a typed, non-fatal error
        except ProtocolError:
            pass  # typed, fatal framing error: the expected outcome for many mutations
