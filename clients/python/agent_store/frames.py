"""Preface, frame header, incremental frame decoder and chunk reassembly (protocol-spec.md
sections 2.1 and 3). The decoder returns None for "need more bytes" and raises a fatal
``ProtocolError`` for invalid input, judging each header before its body is read."""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Iterable

from .codes import (
    FEATURES_KNOWN, FRAME_FLAGS_KNOWN, HEADER_BYTES, MAGIC, PREAUTH_FRAME_BODY_BYTES_MAX,
    PREFACE_BYTES, ErrorCode, FrameFlags,
)
from .crc32c import crc32c
from .errors import ProtocolError

_HEADER = struct.Struct("<IHHQII")
_PREFACE = struct.Struct("<4sHHI")


@dataclass(frozen=True)
class Preface:
    min_version: int
    max_version: int
    features: int = 0

    @property
    def wants_checksums(self) -> bool:
        return bool(self.features & 0x1)


def encode_preface(preface: Preface) -> bytes:
    return _PREFACE.pack(MAGIC, preface.min_version, preface.max_version, preface.features)


def _describe_foreign_bytes(data: bytes) -> str:
    if data[:1] == b"\x16":
        return "looks like a TLS handshake"
    if data[:1] in (b"*", b"$", b"+", b"-", b":"):
        return "looks like a Redis (RESP) command"
    for method in (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT"):
        if method.startswith(data[:len(method)]) or data.startswith(method):
            return "looks like an HTTP request"
    if data[:1] == b"\x00":
        return "looks like a PostgreSQL startup packet"
    return "not an agent-store preface"


def decode_preface(data: bytes | bytearray | memoryview) -> Preface | None:
    """The preface from the start of ``data``, or None when more bytes are needed. Foreign bytes
    are refused as soon as the first byte that differs from the magic has arrived."""
    data = bytes(data)
    prefix = data[:len(MAGIC)]
    if not MAGIC.startswith(prefix):
        raise ProtocolError(ErrorCode.MALFORMED_FRAME, _describe_foreign_bytes(data))
    if len(data) < PREFACE_BYTES:
        return None
    _, min_version, max_version, features = _PREFACE.unpack_from(data)
    if min_version > max_version:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                            f"preface min_version {min_version} > max_version {max_version}")
    if features & ~FEATURES_KNOWN:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                            f"reserved preface feature bits set: {features & ~FEATURES_KNOWN:#x}")
    return Preface(min_version, max_version, features)



@dataclass(frozen=True)
class FrameHeader:
    body_length: int
    opcode: int
    flags: int
    request_id: int
    timeout_ms: int = 0
    checksum: int = 0


def encode_header(header: FrameHeader) -> bytes:
    return _HEADER.pack(header.body_length, header.opcode, header.flags, header.request_id,
                        header.timeout_ms, header.checksum)


def decode_header(data: bytes | bytearray | memoryview) -> FrameHeader | None:
    """The raw header fields, unvalidated; None when fewer than 24 bytes are given."""
    if len(data) < HEADER_BYTES:
        return None
    return FrameHeader(*_HEADER.unpack_from(data))


def validate_header(header: FrameHeader, body_limit: int, checksums: bool) -> None:
    """Judges a header before its body is read (section 3.1); raises a fatal ``ProtocolError``."""
    flags = header.flags
    if flags & ~FRAME_FLAGS_KNOWN:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                            f"reserved flag bits set: {flags & ~FRAME_FLAGS_KNOWN:#x}")
    if flags & (FrameFlags.ERROR | FrameFlags.STREAM) and not flags & FrameFlags.RESPONSE:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME, "error or stream flag without response")
    if header.body_length > body_limit:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE,
                            f"frame body of {header.body_length} bytes is over {body_limit}",
                            {"limit": body_limit, "actual": header.body_length})
    if flags & FrameFlags.CHECKSUM and not checksums:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                            "checksum flag on a connection without checksums")
    if header.checksum and not flags & FrameFlags.CHECKSUM:
        raise ProtocolError(ErrorCode.MALFORMED_FRAME, "checksum field set without the flag")


@dataclass(frozen=True)
class Frame:
    header: FrameHeader
    body: bytes

    @property
    def opcode(self) -> int:
        return self.header.opcode

    @property
    def flags(self) -> int:
        return self.header.flags

    @property
    def request_id(self) -> int:
        return self.header.request_id


def encode_frame(opcode: int, flags: int, request_id: int, body: bytes = b"",
                 timeout_ms: int = 0, checksum: bool = False) -> bytes:
    """One frame. With ``checksum`` the checksum flag is set and the body's CRC32C filled in."""
    checksum_value = 0
    if checksum:
        flags |= FrameFlags.CHECKSUM
        checksum_value = crc32c(body)
    header = _HEADER.pack(len(body), opcode, int(flags), request_id, timeout_ms, checksum_value)
    return header + bytes(body)


def encode_message(opcode: int, flags: int, request_id: int, body: bytes, body_limit: int,
                   timeout_ms: int = 0, checksum: bool = False) -> list[bytes]:
    """A message as one frame, or as several chunks of at most ``body_limit`` bytes with
    ``more_chunks`` on all but the last (section 3.3). An empty body is one empty frame."""
    if body_limit <= 0:
        raise ValueError("body_limit must be positive")
    if len(body) <= body_limit:
        return [encode_frame(opcode, flags, request_id, body, timeout_ms, checksum)]
    view = memoryview(body)
    frames = []
    for start in range(0, len(body), body_limit):
        chunk = bytes(view[start:start + body_limit])
        last = start + body_limit >= len(body)
        chunk_flags = flags if last else flags | FrameFlags.MORE_CHUNKS
        frames.append(encode_frame(opcode, chunk_flags, request_id, chunk, timeout_ms, checksum))
    return frames


class FrameDecoder:
    """Incremental frame decoder: ``feed`` bytes as they arrive, then call ``next_frame`` until
    it returns None ("need more bytes"). Invalid input raises a fatal ``ProtocolError``; after
    that the decoder must not be used again (the connection closes).

    ``body_limit`` and ``checksums`` may be changed between frames (after HELLO or AUTH)."""

    #: Consumed bytes are dropped from the front of the buffer once they exceed this, so a long
    #: stream of small frames neither grows the buffer nor copies it on every frame.
    _COMPACT_BYTES_MIN = 64 * 1024

    def __init__(self, body_limit: int = PREAUTH_FRAME_BODY_BYTES_MAX,
                 checksums: bool = False) -> None:
        self.body_limit = body_limit
        self.checksums = checksums
        self._buffer = bytearray()
        self._pos = 0
        self._header: FrameHeader | None = None

    @property
    def buffered_bytes(self) -> int:
        return len(self._buffer) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data

    def next_frame(self) -> Frame | None:
        if self._header is None:
            if self.buffered_bytes < HEADER_BYTES:
                return None
            header = FrameHeader(*_HEADER.unpack_from(self._buffer, self._pos))
            # Judged from the header alone, before waiting for (or allocating) the body.
            validate_header(header, self.body_limit, self.checksums)
            self._pos += HEADER_BYTES
            self._header = header
        header = self._header
        if self.buffered_bytes < header.body_length:
            return None
        body = bytes(self._buffer[self._pos:self._pos + header.body_length])
        self._pos += header.body_length
        self._header = None
        if self._pos >= self._COMPACT_BYTES_MIN or self._pos == len(self._buffer):
            del self._buffer[:self._pos]
            self._pos = 0
        if header.flags & FrameFlags.CHECKSUM:
            actual = crc32c(body)
            if actual != header.checksum:
                raise ProtocolError(ErrorCode.CHECKSUM_MISMATCH,
                                    f"body CRC32C {actual:#010x} != header {header.checksum:#010x}")
        return Frame(header, body)

    def frames(self) -> Iterable[Frame]:
        """Every complete frame buffered now."""
        while (frame := self.next_frame()) is not None:
            yield frame



@dataclass(frozen=True)
class Message:
    """A whole message after joining chunks. ``flags`` exclude ``more_chunks`` and
    ``checksum``; ``timeout_ms`` is the first frame's."""

    opcode: int
    flags: int
    request_id: int
    body: bytes
    timeout_ms: int = 0


_CHUNK_INVARIANT_FLAGS_MASK = ~(FrameFlags.MORE_CHUNKS | FrameFlags.CHECKSUM) & 0xFFFF


@dataclass
class _PartialMessage:
    opcode: int
    flags: int
    timeout_ms: int
    parts: list[bytes] = field(default_factory=list)
    size: int = 0


class ChunkAssembler:
    """Joins chunked messages per request id. At most ``message_bytes_max`` of incomplete
    messages are held at once, and no joined message may exceed it (``frame_too_large``)."""

    def __init__(self, message_bytes_max: int) -> None:
        self.message_bytes_max = message_bytes_max
        self._partial: dict[int, _PartialMessage] = {}
        self._held_bytes = 0

    @property
    def held_bytes(self) -> int:
        return self._held_bytes

    def add(self, frame: Frame) -> Message | None:
        header = frame.header
        flags = header.flags & _CHUNK_INVARIANT_FLAGS_MASK
        more = bool(header.flags & FrameFlags.MORE_CHUNKS)
        partial = self._partial.get(header.request_id)
        if partial is None:
            if not more:
                if len(frame.body) > self.message_bytes_max:
                    self._too_large(len(frame.body))
                return Message(header.opcode, flags, header.request_id, frame.body,
                               header.timeout_ms)
            partial = _PartialMessage(header.opcode, flags, header.timeout_ms)
            self._partial[header.request_id] = partial
        elif partial.opcode != header.opcode or partial.flags != flags:
            raise ProtocolError(
                ErrorCode.MALFORMED_FRAME,
                f"chunk of request {header.request_id} changes opcode or flags "
                f"({partial.opcode:#06x}/{partial.flags:#06x} -> {header.opcode:#06x}/{flags:#06x})")
        if self._held_bytes + len(frame.body) > self.message_bytes_max:
            self._too_large(self._held_bytes + len(frame.body))
        partial.parts.append(frame.body)
        partial.size += len(frame.body)
        self._held_bytes += len(frame.body)
        if more:
            return None
        del self._partial[header.request_id]
        self._held_bytes -= partial.size
        return Message(partial.opcode, partial.flags, header.request_id, b"".join(partial.parts),
                       partial.timeout_ms)

    def _too_large(self, actual: int) -> None:
        raise ProtocolError(ErrorCode.FRAME_TOO_LARGE,
                            f"{actual} bytes of messages over the limit {self.message_bytes_max}",
                            {"limit": self.message_bytes_max, "actual": actual})
