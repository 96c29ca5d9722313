"""Numeric constants of the wire protocol (protocol-spec.md sections 2-6): opcodes, frame flags,
error codes with their usual flags, and the fixed limits."""
from __future__ import annotations

import enum

PROTOCOL_VERSION = 1
MAGIC = b"\xa7AGS"
PREFACE_BYTES = 12
HEADER_BYTES = 24

#: Section 2.2: before authentication a frame body may not exceed this, whatever HELLO says.
PREAUTH_FRAME_BODY_BYTES_MAX = 4096
#: Section 1: lists and maps nest at most this deep, so decoders recurse a bounded amount.
VALUE_NESTING_MAX = 64
#: Preface feature bit 0: the client wants CRC32C checksums (section 2.1).
FEATURE_CHECKSUM = 0x1
FEATURES_KNOWN = FEATURE_CHECKSUM


class Opcode(enum.IntEnum):
    HELLO = 0x0001
    AUTH = 0x0002
    PING = 0x0003
    CANCEL = 0x0004
    GOODBYE = 0x0005
    GO_AWAY = 0x0006
    HEALTH = 0x0007


class FrameFlags(enum.IntFlag):
    NONE = 0
    RESPONSE = 0x0001
    ERROR = 0x0002
    MORE_CHUNKS = 0x0004
    STREAM = 0x0008
    CHECKSUM = 0x0010


FRAME_FLAGS_KNOWN = 0x001F


class ErrorFlags(enum.IntFlag):
    NONE = 0
    RETRYABLE = 0x1
    FATAL = 0x2
    OUTCOME_UNKNOWN = 0x4


class ErrorCode(enum.IntEnum):
    """Error codes of section 4. A code this client does not know still decodes (as a pseudo
    member named ``unknown_<n>``), so a newer server never breaks an older client."""

    MALFORMED_FRAME = 100
    FRAME_TOO_LARGE = 101
    UNKNOWN_OPCODE = 102
    UNSUPPORTED_VERSION = 103
    CHECKSUM_MISMATCH = 104
    AUTH_REQUIRED = 200
    AUTH_FAILED = 201
    PERMISSION_DENIED = 202
    INVALID_ARGUMENT = 300
    NOT_FOUND = 301
    CONFLICT = 302
    DIMENSION_MISMATCH = 303
    DEADLINE_EXCEEDED = 400
    CANCELLED = 401
    OVERLOADED = 402
    SHUTTING_DOWN = 403
    BACKEND_UNAVAILABLE = 500
    INTERNAL = 501

    @classmethod
    def _missing_(cls, value: object) -> "ErrorCode | None":
        if isinstance(value, int) and 0 <= value <= 0xFFFF:
            member = int.__new__(cls, value)
            member._name_ = f"unknown_{value}"
            member._value_ = value
            return member
        return None

    @property
    def wire_name(self) -> str:
        """The snake_case name the spec uses (``malformed_frame``)."""
        return self.name.lower()

    @classmethod
    def from_wire_name(cls, name: str) -> "ErrorCode":
        return cls[name.upper()]

    @property
    def default_flags(self) -> ErrorFlags:
        """The table's usual flags; the flags in an actual error frame are authoritative."""
        return _DEFAULT_FLAGS.get(int(self), ErrorFlags.NONE)


_F, _R, _U = ErrorFlags.FATAL, ErrorFlags.RETRYABLE, ErrorFlags.OUTCOME_UNKNOWN
_DEFAULT_FLAGS: dict[int, ErrorFlags] = {
    100: _F, 101: _F, 103: _F, 104: _F | _R, 200: _F,
    400: _R | _U, 401: _U, 402: _R, 403: _R,
    # backend_unavailable adds outcome_unknown only when a write may have happened.
    500: _R, 501: _U,
}
