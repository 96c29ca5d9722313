"""Client for the agent-store wire protocol (protocol-spec.md).

- ``AsyncStoreClient`` (asyncio) and ``StoreClient`` (blocking, thread-safe) talk to a server.
- ``agent_store.wire`` encodes and decodes the bytes, with no I/O.
- Errors: ``ServerError`` (the server said no) versus ``ClientError`` subclasses (connection
  lost, local timeout, protocol violation); both carry ``retryable`` and ``outcome_unknown``.
"""
from .aio import AsyncStoreClient, Call, Response
from .client import StoreClient
from .codes import ErrorCode, ErrorFlags, FrameFlags, Opcode
from .errors import (
    AuthenticationRequiredError, ClientClosedError, ClientError, ClientTimeoutError,
    ConnectionFailedError, ConnectionLostError, DecodeError, ProtocolError,
    ProtocolViolationError, RequestTooLargeError, ServerError, StoreError,
)

__all__ = [
    "AsyncStoreClient", "Call", "Response", "StoreClient", "ErrorCode", "ErrorFlags",
    "FrameFlags", "Opcode", "AuthenticationRequiredError", "ClientClosedError", "ClientError",
    "ClientTimeoutError", "ConnectionFailedError", "ConnectionLostError", "DecodeError",
    "ProtocolError", "ProtocolViolationError", "RequestTooLargeError", "ServerError",
    "StoreError",
]
