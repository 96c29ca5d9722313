"""Exception types. Two families, distinguishable by class:

- ``ServerError``: the server answered a request with an error body (section 4).
- ``ClientError`` subclasses: this library's own failures (connection lost, local timeout, a
  server that broke the protocol, ...).

Both carry ``retryable`` and ``outcome_unknown`` so callers can decide what to do without
knowing which side failed. ``ProtocolError`` is separate: it is what the byte-level decoder raises
for invalid input, before any call is involved.
"""
from __future__ import annotations

from typing import Any

from .codes import ErrorCode, ErrorFlags


class ProtocolError(Exception):
    """Bytes that break the protocol. ``code`` is the error code the receiver must answer with;
    ``fatal`` says whether the connection must close (framing errors) or only the message is
    refused (a body that does not decode is ``invalid_argument`` and keeps the connection)."""

    def __init__(self, code: ErrorCode, message: str, details: dict[str, Any] | None = None,
                 fatal: bool = True) -> None:
        super().__init__(f"{ErrorCode(code).wire_name}: {message}")
        self.code = ErrorCode(code)
        self.message = message
        self.details = details or {}
        self.fatal = fatal


class DecodeError(ProtocolError):
    """A message body that does not decode: request-level ``invalid_argument``."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(ErrorCode.INVALID_ARGUMENT, message,
                         {"field": field} if field else None, fatal=False)


class StoreError(Exception):
    """Base of every error a client call raises."""

    retryable: bool = False
    outcome_unknown: bool = False


class ServerError(StoreError):
    """An error response from the server. ``flags`` (from the frame) are authoritative."""

    def __init__(self, code: int, flags: int, message: str,
                 details: dict[str, Any] | None = None) -> None:
        self.code = ErrorCode(code)
        self.flags = flags
        self.message = message
        self.details = details or {}
        super().__init__(f"{self.code.wire_name} ({int(self.code)}): {message}")

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return bool(self.flags & ErrorFlags.RETRYABLE)

    @property
    def outcome_unknown(self) -> bool:  # type: ignore[override]
        return bool(self.flags & ErrorFlags.OUTCOME_UNKNOWN)

    @property
    def fatal(self) -> bool:
        return bool(self.flags & ErrorFlags.FATAL)


class ClientError(StoreError):
    """A failure detected by this library rather than reported by the server."""

    def __init__(self, message: str, *, retryable: bool, outcome_unknown: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.outcome_unknown = outcome_unknown


class ConnectionFailedError(ClientError):
    """Could not open a connection or finish the handshake; no request was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True, outcome_unknown=False)


class ConnectionLostError(ClientError):
    """The connection broke while the call was in flight: it may or may not have run."""

    def __init__(self, message: str, *, outcome_unknown: bool = True) -> None:
        super().__init__(message, retryable=True, outcome_unknown=outcome_unknown)


class ClientTimeoutError(ClientError):
    """The call's local deadline passed; a CANCEL was sent. It may or may not have run."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True, outcome_unknown=True)


class ProtocolViolationError(ClientError):
    """The server sent bytes that break the protocol; the connection was closed."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.MALFORMED_FRAME) -> None:
        # A corrupted frame (checksum mismatch) is worth retrying on a new connection; other
        # violations point at a bug that a retry will hit again.
        super().__init__(message, retryable=code == ErrorCode.CHECKSUM_MISMATCH,
                         outcome_unknown=True)
        self.code = code


class AuthenticationRequiredError(ClientError):
    """The server requires authentication and no token was given."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False, outcome_unknown=False)


class ClientClosedError(ClientError):
    """The client was closed; no request was sent."""

    def __init__(self, message: str = "client is closed") -> None:
        super().__init__(message, retryable=False, outcome_unknown=False)


class RequestTooLargeError(ClientError):
    """The request body is over the server's ``max_message_bytes``; it was not sent."""

    def __init__(self, actual: int, limit: int) -> None:
        super().__init__(f"request body of {actual} bytes is over max_message_bytes {limit}",
                         retryable=False, outcome_unknown=False)
        self.actual = actual
        self.limit = limit
