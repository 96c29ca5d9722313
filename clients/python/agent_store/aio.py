"""asyncio client: one TCP connection carries many concurrent calls, matched by request id.

Structure: ``_Connection`` owns one socket (a single reader task dispatches responses; writes go
through one lock so request ids reach the server in increasing order and a chunked message is
never split by another request). ``AsyncStoreClient`` owns the current connection and replaces it
when it breaks or the server sends GO_AWAY. Calls are ``Call`` objects, so unary and streamed
operations share one path: ``request()`` waits for the final response, ``stream()`` also yields
the partial ones. Domain operations are thin typed wrappers over ``request``.
"""
from __future__ import annotations

import asyncio
import itertools
import math
from typing import AsyncIterator, NamedTuple

from . import wire
from .codes import (
    PREAUTH_FRAME_BODY_BYTES_MAX, PROTOCOL_VERSION, ErrorCode, ErrorFlags, FrameFlags,
    Opcode,
)
from .errors import (
    AuthenticationRequiredError, ClientClosedError, ClientTimeoutError, ConnectionFailedError,
    ConnectionLostError, ProtocolError, ProtocolViolationError, RequestTooLargeError, ServerError,
    StoreError,
)

#: A HELLO is read before any limit is known; the capabilities map is a few hundred bytes, so
#: this leaves ample room for new keys while refusing a peer that is not an agent-store server.
HELLO_BODY_BYTES_MAX = 64 * 1024
#: Bytes asked of the socket per read; large enough that a 1 MiB frame takes few wake-ups.
READ_BYTES = 256 * 1024
#: The header's ``timeout_ms`` is a u32.
_TIMEOUT_MS_MAX = 0xFFFFFFFF
#: How long ``close()`` waits for the GOODBYE response before dropping the connection.
GOODBYE_TIMEOUT_S = 5.0

_U64_MAX = (1 << 64) - 1


class Response(NamedTuple):
    """One response body with its frame flags (``FrameFlags.STREAM`` marks a partial one)."""

    flags: int
    body: bytes

    @property
    def partial(self) -> bool:
        return bool(self.flags & FrameFlags.STREAM)


class Call:
    """One request in flight. Await ``result()`` for the final response, or iterate (``async
    for``) to get each partial response and then the final one. Errors raise ``StoreError``."""

    def __init__(self, connection: "_Connection", request_id: int, opcode: int,
                 deadline: float, timeout_s: float) -> None:
        self.request_id = request_id
        self.opcode = opcode
        self._connection = connection
        self._deadline = deadline
        self._timeout_s = timeout_s
        self._items: asyncio.Queue[Response | BaseException] = asyncio.Queue()
        self._finished = False  # a final response, an error or a local failure was delivered
        self._consumed = False  # the caller has seen the end

    # Called by the connection's reader task.
    def _deliver(self, item: Response | BaseException, final: bool) -> None:
        if final:
            self._finished = True
        self._items.put_nowait(item)

    async def _next(self) -> Response | None:
        """The next response, or None after the final one was returned."""
        if self._consumed:
            return None
        remaining = self._deadline - asyncio.get_running_loop().time()
        try:
            if remaining <= 0:
                raise asyncio.TimeoutError
            item = await asyncio.wait_for(self._items.get(), remaining)
        except asyncio.TimeoutError:
            if not self._items.empty():
                item = self._items.get_nowait()
            else:
                self._consumed = True
                self._connection._abandon(self)
                raise ClientTimeoutError(
                    f"request {self.request_id} (opcode {self.opcode:#06x}) got no response "
                    f"within {self._timeout_s:g} s; cancel sent") from None
        except asyncio.CancelledError:
            self._consumed = True
            self._connection._abandon(self)
            raise
        if isinstance(item, BaseException):
            self._consumed = True
            raise item
        if not item.partial:
            self._consumed = True
        return item

    async def result(self) -> Response:
        """The final response; partial responses (of a streamed operation) are skipped."""
        while True:
            item = await self._next()
            if item is None:
                raise RuntimeError("the call's result was already consumed")
            if not item.partial:
                return item

    def __aiter__(self) -> AsyncIterator[Response]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Response]:
        try:
            while (item := await self._next()) is not None:
                yield item
        finally:
            self._stop()

    def _stop(self) -> None:
        """The caller stopped reading before the end: the server can stop too."""
        if not self._consumed:
            self._consumed = True
            self._connection._abandon(self)

    async def cancel(self) -> None:
        """Asks the server to stop this call (a CANCEL frame). The call still ends with its
        final response: ``cancelled``, or the real one if it had already been sent."""
        if not self._finished:
            self._connection._send_cancel(self.request_id)


class _Connection:
    """One TCP connection after a successful handshake."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 decoder: wire.FrameDecoder, hello: wire.Hello, checksums: bool) -> None:
        self.hello = hello
        self.principal: str | None = None
        self.go_away: wire.GoAway | None = None
        self._reader = reader
        self._writer = writer
        self._decoder = decoder
        self._assembler = wire.ChunkAssembler(hello.max_message_bytes)
        self._checksums = checksums
        self._send_body_limit = PREAUTH_FRAME_BODY_BYTES_MAX
        self._last_request_id = 0
        self._pending: dict[int, Call] = {}
        self._abandoned: set[int] = set()
        self._write_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max(1, hello.max_in_flight))
        self._closing = False  # GOODBYE sent or close() called: no new requests
        self._broken: StoreError | None = None
        self._reader_task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, host: str, port: int, token: str | bytes | None, timeout_s: float,
                   want_checksums: bool) -> "_Connection":
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port),
                                                    timeout_s)
        except (OSError, asyncio.TimeoutError) as error:
            raise ConnectionFailedError(f"cannot connect to {host}:{port}: {error!r}") from error
        try:
            connection = await asyncio.wait_for(
                cls._handshake(reader, writer, want_checksums), timeout_s)
        except BaseException as error:
            writer.close()
            if isinstance(error, asyncio.TimeoutError):
                raise ConnectionFailedError(f"no HELLO from {host}:{port} within {timeout_s:g} s"
                                            ) from error
            if isinstance(error, OSError):
                raise ConnectionFailedError(f"handshake with {host}:{port} failed: {error!r}"
                                            ) from error
            raise
        connection._reader_task = asyncio.create_task(connection._read_loop())
        try:
            await connection._authenticate(token, timeout_s)
        except BaseException:
            connection.abort()
            raise
        return connection

    @classmethod
    async def _handshake(cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         want_checksums: bool) -> "_Connection":
        features = 0x1 if want_checksums else 0
        writer.write(wire.encode_preface(wire.Preface(PROTOCOL_VERSION, PROTOCOL_VERSION,
                                                      features)))
        await writer.drain()
        decoder = wire.FrameDecoder(body_limit=HELLO_BODY_BYTES_MAX)
        frame = None
        while frame is None:
            try:
                frame = decoder.next_frame()
            except ProtocolError as error:
                raise ProtocolViolationError(f"bad first frame from server: {error}",
                                             error.code) from error
            if frame is None:
                data = await reader.read(READ_BYTES)
                if not data:
                    raise ConnectionFailedError("server closed the connection before HELLO")
                decoder.feed(data)
        try:
            if frame.flags & FrameFlags.ERROR:
                # unsupported_version, or a connection-level refusal such as overloaded.
                body = wire.decode_error(frame.body)
                raise ServerError(body.code, body.flags, body.message, body.details)
            if frame.opcode != Opcode.HELLO or not frame.flags & FrameFlags.RESPONSE:
                raise ProtocolViolationError(
                    f"expected HELLO, got opcode {frame.opcode:#06x} flags {frame.flags:#06x}")
            hello = wire.decode_hello(frame.body)
        except ProtocolError as error:
            raise ProtocolViolationError(f"bad HELLO body: {error}", error.code) from error
        if hello.version != PROTOCOL_VERSION:
            raise ProtocolViolationError(f"server chose version {hello.version}, "
                                         f"outside the offered {PROTOCOL_VERSION}..{PROTOCOL_VERSION}")
        if hello.checksums and not want_checksums:
            raise ProtocolViolationError("server turned on checksums that were not asked for")
        decoder.body_limit = hello.max_frame_body_bytes
        decoder.checksums = hello.checksums
        return cls(reader, writer, decoder, hello, hello.checksums)

    async def _authenticate(self, token: str | bytes | None, timeout_s: float) -> None:
        hello = self.hello
        if token is not None and "token" in hello.auth_mechanisms:
            credential = token.encode("utf-8") if isinstance(token, str) else bytes(token)
            body = wire.encode_auth_request(wire.AuthRequest("token", credential))
            call = await self.start(Opcode.AUTH, body, timeout_s)
            response = await call.result()
            try:
                self.principal = wire.decode_auth_response(response.body)
            except ProtocolError as error:
                raise self._violation(f"bad AUTH response: {error}", error.code) from error
        elif hello.auth_required:
            raise AuthenticationRequiredError(
                "the server requires authentication (mechanisms "
                f"{hello.auth_mechanisms}) and no token was given")
        # The 4096-byte pre-authentication frame limit is over (see the report on 2.2).
        self._send_body_limit = hello.max_frame_body_bytes

    @property
    def usable(self) -> bool:
        return self._broken is None and self.go_away is None and not self._closing

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def start(self, opcode: int, body: bytes, timeout_s: float) -> Call:
        """Sends one request and returns its ``Call``. Raises ``_Unusable`` when this connection
        may not take new requests (the client then picks a fresh one)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        if len(body) > self.hello.max_message_bytes:
            raise RequestTooLargeError(len(body), self.hello.max_message_bytes)
        try:
            if self._slots.locked():
                await asyncio.wait_for(self._slots.acquire(), max(0.0, deadline - loop.time()))
            else:
                await self._slots.acquire()  # free now: no timer task needed
        except asyncio.TimeoutError:
            raise ClientTimeoutError(f"no free request slot (max_in_flight "
                                     f"{self.hello.max_in_flight}) within {timeout_s:g} s; "
                                     "not sent") from None
        registered = False  # once pending, the final response or _fail releases the slot
        try:
            async with self._write_lock:
                # GOODBYE may still go on a connection that got GO_AWAY; nothing goes on a
                # broken one.
                if self._broken is not None or (not self.usable and opcode != Opcode.GOODBYE):
                    raise _Unusable()
                request_id = self._last_request_id + 1
                self._last_request_id = request_id
                call = Call(self, request_id, opcode, deadline, timeout_s)
                self._pending[request_id] = call
                registered = True
                timeout_ms = min(_TIMEOUT_MS_MAX, max(1, math.ceil(timeout_s * 1000)))
                frames = wire.encode_message(opcode, 0, request_id, body, self._send_body_limit,
                                             timeout_ms, self._checksums)
                await self._write_frames(frames)
        except BaseException:
            if not registered:
                self._slots.release()
            raise
        return call

    async def _write_frames(self, frames: list[bytes]) -> None:
        sent = 0
        try:
            for frame in frames:
                self._writer.write(frame)
                sent += 1
                # Drain between chunks so a huge message does not sit in memory twice.
                await self._writer.drain()
        except BaseException as error:
            # A message cut between chunks would hold server memory forever, and a broken
            # socket cannot take more frames: either way this connection is done.
            if sent < len(frames) or not isinstance(error, asyncio.CancelledError):
                self._fail(ConnectionLostError(f"write failed: {error!r}"))
            if isinstance(error, (OSError, RuntimeError)):
                raise ConnectionLostError(f"write failed: {error!r}") from error
            raise

    def _send_cancel(self, request_id: int) -> None:
        if self._broken is not None:
            return
        # One frame, written without the lock: a CANCEL may sit between another message's
        # chunks and need not be above the last request id (section 3.5).
        self._writer.write(wire.encode_frame(Opcode.CANCEL, 0, request_id, b"", 0,
                                             self._checksums))

    def _abandon(self, call: Call) -> None:
        """The caller gave up on ``call`` (local timeout, task cancelled, stream left early).
        It stays pending until its final response arrives, so its in-flight slot stays taken
        exactly as long as the server counts it."""
        if call._finished or call.request_id not in self._pending:
            return
        self._abandoned.add(call.request_id)
        try:
            self._send_cancel(call.request_id)
        except (OSError, RuntimeError):
            pass  # the reader task notices the broken socket and fails the connection

    async def _read_loop(self) -> None:
        error: StoreError
        try:
            while True:
                for frame in self._decoder.frames():
                    self._handle_frame(frame)
                data = await self._reader.read(READ_BYTES)
                if not data:
                    error = ConnectionLostError("server closed the connection")
                    break
                self._decoder.feed(data)
        except ProtocolError as violation:
            error = self._violation(str(violation), violation.code)
        except asyncio.CancelledError:
            self._fail(ConnectionLostError("connection closed by the client"))
            raise
        except OSError as failure:
            error = ConnectionLostError(f"connection lost: {failure!r}")
        self._fail(error)

    def _violation(self, message: str, code: ErrorCode) -> ProtocolViolationError:
        """Tells the server why we close (best effort), as a connection-level error frame."""
        if self._broken is None:
            body = wire.encode_error(wire.ErrorBody(int(code), int(ErrorFlags.FATAL), message))
            try:
                self._writer.write(wire.encode_frame(
                    0, FrameFlags.RESPONSE | FrameFlags.ERROR, 0, body, 0, self._checksums))
            except (OSError, RuntimeError):
                pass  # the connection is being dropped anyway
        violation = ProtocolViolationError(f"server broke the protocol: {message}", code)
        self._fail(violation)
        return violation

    def _handle_frame(self, frame: wire.Frame) -> None:
        message = self._assembler.add(frame)
        if message is None:
            return
        flags = message.flags
        if message.request_id == 0:
            self._handle_connection_message(message)
            return
        if not flags & FrameFlags.RESPONSE:
            raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                                f"server sent a request with id {message.request_id}")
        call = self._pending.get(message.request_id)
        if call is None:
            raise ProtocolError(ErrorCode.MALFORMED_FRAME,
                                f"response for request {message.request_id}, which is not pending")
        if flags & FrameFlags.STREAM:
            if message.request_id not in self._abandoned:
                call._deliver(Response(flags, message.body), final=False)
            return
        del self._pending[message.request_id]
        self._slots.release()
        abandoned = message.request_id in self._abandoned
        self._abandoned.discard(message.request_id)
        if flags & FrameFlags.ERROR:
            body = wire.decode_error(message.body)
            error = ServerError(body.code, body.flags, body.message, body.details)
            if error.fatal:
                self._broken = error  # the server closes after it; no new requests here
            if not abandoned:
                call._deliver(error, final=True)
        elif not abandoned:
            call._deliver(Response(flags, message.body), final=True)

    def _handle_connection_message(self, message: wire.Message) -> None:
        flags = message.flags
        if message.opcode == Opcode.PING and not flags & FrameFlags.RESPONSE:
            wire.decode_ping(message.body)  # a bad body is a protocol violation
            self._writer.write(wire.encode_frame(Opcode.PING, FrameFlags.RESPONSE, 0,
                                                 message.body[:8], 0, self._checksums))
        elif message.opcode == Opcode.GO_AWAY and not flags & FrameFlags.RESPONSE:
            self.go_away = wire.decode_go_away(message.body)
        elif flags & FrameFlags.ERROR:
            body = wire.decode_error(message.body)
            error = ServerError(body.code, body.flags, body.message, body.details)
            lost = ConnectionLostError(f"server ended the connection: {error}")
            lost.__cause__ = error
            self._fail(lost)
        # Anything else with id 0 is a server-started frame this version does not know: the
        # spec says unknown opcodes never close a connection, so it is ignored.

    def _fail(self, error: StoreError) -> None:
        """Marks the connection broken and ends every pending call with ``error``."""
        if self._broken is None or isinstance(self._broken, ServerError):
            self._broken = error
        pending, self._pending = self._pending, {}
        for request_id, call in pending.items():
            self._slots.release()
            if request_id not in self._abandoned:
                call._deliver(error, final=True)
        self._abandoned.clear()
        self._writer.close()

    async def goodbye(self, timeout_s: float) -> None:
        """GOODBYE: the server finishes what is in flight, answers, and closes."""
        if self._broken is not None:
            return
        call = await self.start(Opcode.GOODBYE, b"", timeout_s)
        self._closing = True
        await call.result()

    def abort(self) -> None:
        self._fail(ConnectionLostError("connection closed by the client"))
        if self._reader_task is not None:
            self._reader_task.cancel()

    async def wait_closed(self) -> None:
        if self._reader_task is not None:
            try:
                await self._reader_task
            except asyncio.CancelledError:
                pass  # abort() cancelled it; that is how the reader is stopped
        try:
            await self._writer.wait_closed()
        except OSError:
            pass  # the peer reset a connection we are closing anyway


class _Unusable(Exception):
    """Internal: the connection cannot take new requests; pick another."""


class AsyncStoreClient:
    """asyncio client. Create with ``await AsyncStoreClient.connect(host, port, token=...)``.

    ``timeout`` is the default per-call timeout in seconds: sent in each request header and
    enforced locally (a CANCEL is sent when it passes). A broken connection is replaced on the
    next call; calls in flight when it broke raise ``ConnectionLostError`` (outcome unknown).
    After GO_AWAY new calls go to a new connection while the old one finishes its calls.
    """

    def __init__(self, host: str, port: int, token: str | bytes | None = None,
                 timeout: float = 30.0, *, connect_timeout: float = 10.0,
                 checksums: bool = False) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError("timeouts must be positive")
        self.host = host
        self.port = port
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._token = token
        self._checksums = checksums
        self._connection: _Connection | None = None
        self._retired: list[_Connection] = []
        self._connect_lock = asyncio.Lock()
        self._closed = False
        self._ping_payloads = itertools.count(1)
        self.connections_opened = 0

    @classmethod
    async def connect(cls, host: str, port: int, token: str | bytes | None = None,
                      timeout: float = 30.0, *, connect_timeout: float = 10.0,
                      checksums: bool = False) -> "AsyncStoreClient":
        client = cls(host, port, token, timeout, connect_timeout=connect_timeout,
                     checksums=checksums)
        await client._current_connection()
        return client

    async def __aenter__(self) -> "AsyncStoreClient":
        await self._current_connection()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def hello(self) -> wire.Hello | None:
        """Capabilities of the current connection's server (None before the first connect)."""
        return self._connection.hello if self._connection else None

    @property
    def principal(self) -> str | None:
        return self._connection.principal if self._connection else None

    async def _current_connection(self) -> _Connection:
        if self._closed:
            raise ClientClosedError()
        connection = self._connection
        if connection is not None and connection.usable:
            return connection
        async with self._connect_lock:
            if self._closed:
                raise ClientClosedError()
            connection = self._connection
            if connection is not None and connection.usable:
                return connection
            if connection is not None:
                self._retire(connection)
            self._connection = None
            self._connection = await _Connection.open(self.host, self.port, self._token,
                                                      self.connect_timeout, self._checksums)
            self.connections_opened += 1
            return self._connection

    def _retire(self, connection: _Connection) -> None:
        """A connection that takes no new requests: it keeps running until the server closes it
        (after GO_AWAY it finishes the calls it accepted)."""
        self._retired = [c for c in self._retired if c._broken is None]
        if connection._broken is None and connection.in_flight:
            self._retired.append(connection)
        else:
            connection.abort()

    async def start(self, opcode: int, body: bytes = b"", timeout: float | None = None) -> Call:
        """Sends a request and returns its ``Call`` without waiting for the response."""
        timeout_s = self.timeout if timeout is None else timeout
        if timeout_s <= 0:
            raise ValueError("timeout must be positive")
        while True:
            connection = await self._current_connection()
            try:
                return await connection.start(opcode, bytes(body), timeout_s)
            except _Unusable:
                continue  # broken or GO_AWAY since we looked: the loop reconnects

    async def request(self, opcode: int, body: bytes = b"",
                      timeout: float | None = None) -> Response:
        """One call: the final response, or ``StoreError``. A ``shutting_down`` answer (the
        request was not executed) is retried once on a new connection."""
        for attempt in range(2):
            call = await self.start(opcode, body, timeout)
            try:
                return await call.result()
            except ServerError as error:
                if attempt or error.code != ErrorCode.SHUTTING_DOWN:
                    raise
        raise AssertionError("unreachable")

    async def stream(self, opcode: int, body: bytes = b"",
                     timeout: float | None = None) -> AsyncIterator[Response]:
        """A streamed call: yields each partial response, then the final one. Leaving the loop
        early cancels the call on the server."""
        call = await self.start(opcode, body, timeout)
        try:
            while (response := await call._next()) is not None:
                yield response
        finally:
            call._stop()

    async def ping(self, payload: int | None = None, timeout: float | None = None) -> int:
        """Round trip to the server; returns the echoed payload."""
        if payload is None:
            payload = next(self._ping_payloads) & _U64_MAX
        response = await self.request(Opcode.PING, wire.encode_ping(payload), timeout)
        echoed = self._decode(wire.decode_ping, response)
        if echoed != payload:
            raise ProtocolViolationError(f"ping echoed {echoed}, sent {payload}")
        return echoed

    async def health(self, timeout: float | None = None) -> wire.Health:
        response = await self.request(Opcode.HEALTH, b"", timeout)
        return self._decode(wire.decode_health, response)

    @staticmethod
    def _decode(decoder, response: Response):  # type: ignore[no-untyped-def]
        try:
            return decoder(response.body)
        except ProtocolError as error:
            raise ProtocolViolationError(f"response body does not decode: {error}",
                                         error.code) from error

    async def close(self) -> None:
        """GOODBYE on the current connection (in-flight calls finish first), then close all."""
        if self._closed:
            return
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.goodbye(GOODBYE_TIMEOUT_S)
            except (StoreError, _Unusable):
                pass  # a connection that cannot say goodbye is simply dropped below
            connection.abort()
            await connection.wait_closed()
        for retired in self._retired:
            retired.abort()
            await retired.wait_closed()
        self._retired.clear()

    # Test and diagnostic hooks.
    @property
    def _live_connection(self) -> _Connection | None:
        return self._connection


__all__ = ["AsyncStoreClient", "Call", "Response"]
