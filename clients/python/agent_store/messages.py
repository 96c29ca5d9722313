"""Session message bodies (protocol-spec.md sections 2.2-2.3, 3.5-3.7, 4 and 5): HELLO, AUTH,
PING, GO_AWAY, HEALTH and the error body. Decoders ignore bytes after the fields they know, so a
later minor revision can append fields."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .values import _U64, Reader, Writer


@dataclass(frozen=True)
class Hello:
    version: int
    capabilities: dict[str, Any]

    def _int(self, key: str, default: int) -> int:
        value = self.capabilities.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    @property
    def auth_required(self) -> bool:
        return self.capabilities.get("auth_required") is True

    @property
    def auth_mechanisms(self) -> list[str]:
        value = self.capabilities.get("auth_mechanisms")
        return [m for m in value if isinstance(m, str)] if isinstance(value, list) else []

    @property
    def checksums(self) -> bool:
        return self.capabilities.get("checksum") == "crc32c"

    # Defaults are the section 6 values, used only when a server leaves a key out.
    @property
    def max_frame_body_bytes(self) -> int:
        return self._int("max_frame_body_bytes", 1 << 20)

    @property
    def max_message_bytes(self) -> int:
        return self._int("max_message_bytes", 64 << 20)

    @property
    def max_in_flight(self) -> int:
        return self._int("max_in_flight", 1024)

    @property
    def default_timeout_ms(self) -> int:
        return self._int("default_timeout_ms", 30_000)

    @property
    def max_timeout_ms(self) -> int:
        return self._int("max_timeout_ms", 300_000)

    @property
    def idle_timeout_ms(self) -> int:
        return self._int("idle_timeout_ms", 300_000)

    @property
    def max_vector_dim(self) -> int:
        return self._int("max_vector_dim", 4096)

    @property
    def max_k(self) -> int:
        return self._int("max_k", 1000)

    @property
    def server_id(self) -> str:
        return str(self.capabilities.get("server_id", ""))

    @property
    def server_version(self) -> str:
        return str(self.capabilities.get("server_version", ""))


def encode_hello(hello: Hello) -> bytes:
    return Writer().u16(hello.version).map(hello.capabilities).to_bytes()


def decode_hello(body: bytes) -> Hello:
    reader = Reader(body)
    return Hello(reader.u16("version"), reader.map("capabilities"))


@dataclass(frozen=True)
class ErrorBody:
    code: int
    flags: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def encode_error(error: ErrorBody) -> bytes:
    return (Writer().u16(error.code).u16(error.flags).string(error.message)
            .map(error.details).to_bytes())


def decode_error(body: bytes) -> ErrorBody:
    reader = Reader(body)
    return ErrorBody(reader.u16("code"), reader.u16("flags"), reader.string("message"),
                     reader.map("details"))


@dataclass(frozen=True)
class AuthRequest:
    mechanism: str
    credential: bytes


def encode_auth_request(request: AuthRequest) -> bytes:
    return Writer().string(request.mechanism).raw_bytes(request.credential).to_bytes()


def decode_auth_request(body: bytes) -> AuthRequest:
    reader = Reader(body)
    return AuthRequest(reader.string("mechanism"), reader.raw_bytes("credential"))


def encode_auth_response(principal: str) -> bytes:
    return Writer().string(principal).to_bytes()


def decode_auth_response(body: bytes) -> str:
    return Reader(body).string("principal")


def encode_ping(payload: int) -> bytes:
    return _U64.pack(payload)


def decode_ping(body: bytes) -> int:
    return Reader(body).u64("payload")


@dataclass(frozen=True)
class GoAway:
    last_request_id: int
    code: int
    message: str


def encode_go_away(go_away: GoAway) -> bytes:
    return Writer().u64(go_away.last_request_id).u16(go_away.code).string(go_away.message).to_bytes()


def decode_go_away(body: bytes) -> GoAway:
    reader = Reader(body)
    return GoAway(reader.u64("last_request_id"), reader.u16("code"), reader.string("message"))


@dataclass(frozen=True)
class BackendHealth:
    name: str
    state: int  # 0 not configured, 1 up, 2 degraded, 3 down
    detail: str


@dataclass(frozen=True)
class Health:
    status: int  # 1 up, 2 degraded, 3 down
    server_version: str
    protocol_version: int
    uptime_ms: int
    connections: int
    in_flight: int
    backends: list[BackendHealth]


#: Smallest encoding of one backend entry: empty name (4), state (1), empty detail (4).
_BACKEND_ENTRY_BYTES_MIN = 9


def encode_health(health: Health) -> bytes:
    writer = (Writer().u8(health.status).string(health.server_version)
              .u16(health.protocol_version).u64(health.uptime_ms).u32(health.connections)
              .u32(health.in_flight).u32(len(health.backends)))
    for backend in health.backends:
        writer.string(backend.name).u8(backend.state).string(backend.detail)
    return writer.to_bytes()


def decode_health(body: bytes) -> Health:
    reader = Reader(body)
    status = reader.u8("status")
    server_version = reader.string("server_version")
    protocol_version = reader.u16("protocol_version")
    uptime_ms = reader.u64("uptime_ms")
    connections = reader.u32("connections")
    in_flight = reader.u32("in_flight")
    count = reader.count(_BACKEND_ENTRY_BYTES_MIN, "backends")
    backends = [BackendHealth(reader.string("name"), reader.u8("state"), reader.string("detail"))
                for _ in range(count)]
    return Health(status, server_version, protocol_version, uptime_ms, connections, in_flight,
                  backends)
