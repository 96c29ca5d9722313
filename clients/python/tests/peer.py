"""A small scripted server that follows protocol-spec.md, for testing the client's connection
logic (chunking in both directions, streams, server pings, GO_AWAY, CANCEL, checksums) without
the real store-server. It is not a stand-in for the server: test_client.py runs against that.

It checks what the client sends as the server must (preface, header rules, strictly increasing
request ids, chunk rules) and records violations in ``errors`` for the test to assert on.

Test-only opcodes: ECHO (answers with the request body), STREAM (body = u32 count: that many
partial responses, then a final one), SLOW (answers only when cancelled), GO_AWAY_NOW (sends
GO_AWAY with this request as the last one, then answers), SERVER_PING (pings the client and
answers with the echoed payload).
"""
from __future__ import annotations

import asyncio
import struct

from agent_store import wire
from agent_store.codes import ErrorCode, FrameFlags, Opcode
from agent_store.errors import ProtocolError

ECHO, STREAM, SLOW, GO_AWAY_NOW, SERVER_PING = 0x01F1, 0x01F2, 0x01F3, 0x01F4, 0x01F5


class Peer:
    def __init__(self, frame_body_bytes_max: int = 4096, token: bytes | None = None,
                 checksums: bool = True, port: int = 0) -> None:
        self.frame_body_bytes_max = frame_body_bytes_max
        self.token = token
        self.offer_checksums = checksums
        self.errors: list[str] = []
        self.cancelled: list[int] = []
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None
        self.port = port
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.drop_connections()
        self.server.close()
        await self.server.wait_closed()

    def drop_connections(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            await _Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except ProtocolError as error:
            self.errors.append(f"client broke the protocol: {error}")
        finally:
            writer.close()


class _Session:
    def __init__(self, peer: Peer, reader, writer) -> None:
        self.peer = peer
        self.reader = reader
        self.writer = writer
        self.checksums = False
        self.last_id = 0
        self.slow: set[int] = set()
        self.server_pings: dict[int, asyncio.Future] = {}
        self.ping_payloads = iter(range(100, 1 << 30))

    def send(self, opcode: int, flags: int, request_id: int, body: bytes) -> None:
        for frame in wire.encode_message(opcode, flags, request_id, body,
                                         self.peer.frame_body_bytes_max,
                                         checksum=self.checksums):
            self.writer.write(frame)

    def error(self, opcode: int, request_id: int, code: ErrorCode, flags: int = 0) -> None:
        self.send(opcode, FrameFlags.RESPONSE | FrameFlags.ERROR, request_id,
                  wire.encode_error(wire.ErrorBody(code, flags, code.wire_name)))

    async def run(self) -> None:
        preface = wire.decode_preface(await self.reader.readexactly(12))
        self.checksums = preface.wants_checksums and self.peer.offer_checksums
        capabilities = {
            "auth_mechanisms": ["token"] if self.peer.token else [],
            "auth_required": self.peer.token is not None,
            "checksum": "crc32c" if self.checksums else "none",
            "default_timeout_ms": 30000, "idle_timeout_ms": 300000,
            "max_frame_body_bytes": self.peer.frame_body_bytes_max, "max_in_flight": 1024,
            "max_k": 1000, "max_message_bytes": 1 << 22, "max_timeout_ms": 300000,
            "max_vector_dim": 4096, "server_id": "peer", "server_version": "test",
        }
        hello = wire.encode_hello(wire.Hello(1, capabilities))
        self.writer.write(wire.encode_frame(Opcode.HELLO, FrameFlags.RESPONSE, 0, hello))
        # Without auth required there is no AUTH to wait for: the full limit applies at once.
        decoder = wire.FrameDecoder(4096 if self.peer.token else self.peer.frame_body_bytes_max,
                                    self.checksums)
        assembler = wire.ChunkAssembler(1 << 22)
        authenticated = self.peer.token is None
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            decoder.feed(data)
            for frame in decoder.frames():
                if frame.request_id != 0 and frame.opcode != Opcode.CANCEL \
                        and frame.request_id not in assembler._partial:
                    if frame.request_id <= self.last_id:
                        self.peer.errors.append(f"request id {frame.request_id} not above "
                                                f"{self.last_id}")
                    self.last_id = frame.request_id
                if self.checksums and not frame.flags & FrameFlags.CHECKSUM:
                    self.peer.errors.append("frame without checksum flag after negotiation")
                message = assembler.add(frame)
                if message is None:
                    continue
                if message.opcode == Opcode.AUTH:
                    credential = wire.decode_auth_request(message.body).credential
                    if credential == self.peer.token:
                        authenticated = True
                        decoder.body_limit = self.peer.frame_body_bytes_max
                        self.send(Opcode.AUTH, FrameFlags.RESPONSE, message.request_id,
                                  wire.encode_auth_response("tester"))
                    else:
                        self.error(Opcode.AUTH, message.request_id, ErrorCode.AUTH_FAILED)
                    continue
                if authenticated:
                    decoder.body_limit = self.peer.frame_body_bytes_max
                await self.handle(message)
            await self.writer.drain()

    async def handle(self, message: wire.Message) -> None:
        opcode, request_id, body = message.opcode, message.request_id, message.body
        if message.flags & FrameFlags.RESPONSE:
            if opcode == Opcode.PING and request_id == 0:
                payload = wire.decode_ping(body)
                self.server_pings.pop(payload).set_result(payload)
            else:
                self.peer.errors.append(f"unexpected response frame {message}")
        elif opcode == Opcode.PING:
            self.send(opcode, FrameFlags.RESPONSE, request_id, body)
        elif opcode == Opcode.GOODBYE:
            self.send(opcode, FrameFlags.RESPONSE, request_id, b"")
            await self.writer.drain()
            self.writer.close()
        elif opcode == Opcode.CANCEL:
            self.peer.cancelled.append(request_id)
            if request_id in self.slow:
                self.slow.discard(request_id)
                self.error(SLOW, request_id, ErrorCode.CANCELLED, 0x4)
        elif opcode == Opcode.HEALTH:
            self.send(opcode, FrameFlags.RESPONSE, request_id, wire.encode_health(wire.Health(
                1, "test", 1, 1, 1, 0, [wire.BackendHealth("postgres", 0, "")])))
        elif opcode == ECHO:
            self.send(opcode, FrameFlags.RESPONSE, request_id, body)
        elif opcode == STREAM:
            (count,) = struct.unpack("<I", body)
            for index in range(count):
                self.send(opcode, FrameFlags.RESPONSE | FrameFlags.STREAM, request_id,
                          struct.pack("<I", index) * 1000)
            self.send(opcode, FrameFlags.RESPONSE, request_id, b"done")
        elif opcode == SLOW:
            self.slow.add(request_id)
        elif opcode == GO_AWAY_NOW:
            self.writer.write(wire.encode_frame(
                Opcode.GO_AWAY, 0, 0,
                wire.encode_go_away(wire.GoAway(request_id, ErrorCode.SHUTTING_DOWN, "bye")),
                checksum=self.checksums))
            self.send(opcode, FrameFlags.RESPONSE, request_id, b"")
            await self.writer.drain()
            self.writer.close()
        elif opcode == SERVER_PING:
            payload = next(self.ping_payloads)
            answered = asyncio.get_running_loop().create_future()
            self.server_pings[payload] = answered
            self.writer.write(wire.encode_frame(Opcode.PING, 0, 0, wire.encode_ping(payload),
                                                checksum=self.checksums))
            answered.add_done_callback(lambda done: self.send(
                opcode, FrameFlags.RESPONSE, request_id, wire.encode_ping(done.result())))
        else:
            self.error(opcode, request_id, ErrorCode.UNKNOWN_OPCODE)
