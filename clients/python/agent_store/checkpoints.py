"""Checkpoint operations (opcodes 0x0101-0x0108, protocol-spec.md section 7.1): the request and
response layouts, ``AsyncCheckpointClient`` over ``AsyncStoreClient`` and the blocking
``CheckpointClient`` over ``StoreClient``.

Every checkpoint operation is idempotent (puts are upserts or insert-or-ignore, deletes and
prunes converge), so a call that failed with a retryable error (connection lost or refused,
local timeout, a server error flagged retryable) is sent again, a bounded number of times. A
list is retried only before its first record reached the caller, so no record is seen twice.
"""
from __future__ import annotations

import asyncio
import enum
import struct
from dataclasses import dataclass, field
from typing import AsyncIterator, Iterator, Sequence

from .aio import AsyncStoreClient
from .client import StoreClient
from .codes import ErrorCode
from .errors import (
    ClientTimeoutError, DecodeError, ProtocolError, ProtocolViolationError, ServerError,
    StoreError,
)
from .values import Reader, Writer

_I32 = struct.Struct("<i")
_U32_MAX = 0xFFFFFFFF

#: Smallest encodings, so a count that cannot fit is refused before anything is allocated:
#: three empty strings, an absent parent, an empty type, empty bytes, empty metadata and two
#: empty lists.
_RECORD_BYTES_MIN = 4 * 3 + 1 + 4 + 4 + 4 + 4 + 4
#: channel, version, type (empty strings) and empty value bytes.
_BLOB_BYTES_MIN = 4 * 4
#: task_id, task_path, idx, channel, type and value, all empty.
_WRITE_BYTES_MIN = 4 * 6

#: Attempts per call, the first included. A restarted server or a dropped idle connection
#: costs one failed attempt; more than a few in a row means the server is really down.
RETRY_ATTEMPTS_MAX = 5
#: Wait before the second attempt; doubled before each later one (0.05 + 0.1 + 0.2 + 0.4 s
#: in all, long enough for a server restart on loopback without stalling a caller for long).
RETRY_BACKOFF_S = 0.05


#: After a call times out, a PING gets this long (at most) to show the connection still works;
#: a connection silently dropped by the network (no FIN, no RST) fails it and is replaced,
#: instead of taking every retry down with it.
PROBE_TIMEOUT_S = 2.0


class CheckpointOpcode(enum.IntEnum):
    PUT = 0x0101
    PUT_WRITES = 0x0102
    GET = 0x0103
    LIST = 0x0104
    DELETE_THREAD = 0x0105
    DELETE_FOR_RUNS = 0x0106
    COPY_THREAD = 0x0107
    PRUNE = 0x0108


class PruneStrategy(enum.IntEnum):
    KEEP_LATEST = 0  # the newest checkpoint of each (thread, namespace) stays
    DELETE = 1  # every checkpoint of the thread goes


@dataclass(frozen=True)
class Blob:
    """One channel value at one version, serialized by the saver's serde."""

    channel: str
    version: str
    type: str
    value: bytes


@dataclass(frozen=True)
class Write:
    """One pending write of a ``put_writes`` batch. ``idx`` is negative for special channels."""

    idx: int
    channel: str
    type: str
    value: bytes


@dataclass(frozen=True)
class PendingWrite:
    """A stored pending write, as returned with a checkpoint."""

    task_id: str
    task_path: str
    idx: int
    channel: str
    type: str
    value: bytes


@dataclass(frozen=True)
class CheckpointRecord:
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str
    parent_checkpoint_id: str | None
    checkpoint_type: str
    checkpoint: bytes
    metadata: str  # JSON text
    channel_values: list[Blob] = field(default_factory=list)
    pending_writes: list[PendingWrite] = field(default_factory=list)


# Encoding. Field order is the wire order of protocol-spec.md section 7.1.

def _i32(writer: Writer, value: int) -> None:
    writer.buffer += _I32.pack(value)


def _optional_string(writer: Writer, value: str | None) -> None:
    if value is None:
        writer.u8(0)
    else:
        writer.u8(1).string(value)


class CheckpointConflictError(ServerError):
    """A put with ``expected_latest`` was refused: another writer advanced the thread since the
    caller read it, and writing would fork the thread's history. Nothing was written; re-read
    the thread before trying again."""

    def __init__(self, error: ServerError, expected_latest: str) -> None:
        super().__init__(error.code, error.flags,
                         f"another writer advanced the thread (expected newest checkpoint "
                         f"{expected_latest!r}): {error.message}", error.details)
        self.expected_latest = expected_latest


def _count(writer: Writer, count: int, what: str) -> None:
    if count > _U32_MAX:
        raise ValueError(f"{what}: {count} elements have no encoding")
    writer.u32(count)


def _blob(writer: Writer, blob: Blob) -> None:
    writer.string(blob.channel).string(blob.version).string(blob.type).raw_bytes(blob.value)


def encode_put(thread_id: str, checkpoint_ns: str, checkpoint_id: str,
               parent_checkpoint_id: str | None, checkpoint_type: str, checkpoint: bytes,
               metadata: str, channel_versions: Sequence[tuple[str, str]],
               blobs: Sequence[Blob], expected_latest: str | None = None) -> bytes:
    """``expected_latest`` (fork protection, spec 7.1): the put is refused with ``conflict``
    unless the newest checkpoint of (thread, namespace) has this id ("" = none yet). It is a
    trailing field, written only when given, so the body is otherwise the older layout."""
    writer = Writer()
    writer.string(thread_id).string(checkpoint_ns).string(checkpoint_id)
    _optional_string(writer, parent_checkpoint_id)
    writer.string(checkpoint_type).raw_bytes(checkpoint).string(metadata)
    _count(writer, len(channel_versions), "channel_versions")
    for channel, version in channel_versions:
        writer.string(channel).string(version)
    _count(writer, len(blobs), "blobs")
    for blob in blobs:
        _blob(writer, blob)
    if expected_latest is not None:
        _optional_string(writer, expected_latest)
    return writer.to_bytes()


def encode_put_writes(thread_id: str, checkpoint_ns: str, checkpoint_id: str, task_id: str,
                      task_path: str, writes: Sequence[Write]) -> bytes:
    writer = Writer()
    writer.string(thread_id).string(checkpoint_ns).string(checkpoint_id)
    writer.string(task_id).string(task_path)
    _count(writer, len(writes), "writes")
    for write in writes:
        _i32(writer, write.idx)
        writer.string(write.channel).string(write.type).raw_bytes(write.value)
    return writer.to_bytes()


def encode_get(thread_id: str, checkpoint_ns: str, checkpoint_id: str | None) -> bytes:
    writer = Writer().string(thread_id).string(checkpoint_ns)
    _optional_string(writer, checkpoint_id)
    return writer.to_bytes()


def encode_list(thread_id: str | None, checkpoint_ns: str | None, checkpoint_id: str | None,
                filter_json: str | None, before: str | None, limit: int | None) -> bytes:
    writer = Writer()
    for value in (thread_id, checkpoint_ns, checkpoint_id, filter_json, before):
        _optional_string(writer, value)
    if limit is None:
        writer.u8(0)
    else:
        if not 0 <= limit <= _U32_MAX:
            raise ValueError(f"limit {limit} is outside u32")
        writer.u8(1).u32(limit)
    return writer.to_bytes()


def encode_delete_thread(thread_id: str) -> bytes:
    return Writer().string(thread_id).to_bytes()


def _string_list(values: Sequence[str], what: str) -> bytes:
    writer = Writer()
    _count(writer, len(values), what)
    for value in values:
        writer.string(value)
    return writer.to_bytes()


def encode_delete_for_runs(run_ids: Sequence[str]) -> bytes:
    return _string_list(run_ids, "run_ids")


def encode_copy_thread(source_thread_id: str, target_thread_id: str) -> bytes:
    return Writer().string(source_thread_id).string(target_thread_id).to_bytes()


def encode_prune(thread_ids: Sequence[str], strategy: PruneStrategy) -> bytes:
    return _string_list(thread_ids, "thread_ids") + bytes([int(strategy)])


# Decoding. Each decoder refuses trailing bytes: a longer body means the two sides disagree on
# the layout, which must not pass silently.

def _read_optional_string(reader: Reader, what: str) -> str | None:
    presence = reader.u8(what)
    if presence == 0:
        return None
    if presence != 1:
        raise DecodeError(f"{what}: presence byte {presence:#04x} is neither 00 nor 01", what)
    return reader.string(what)


def _read_i32(reader: Reader, what: str) -> int:
    return _I32.unpack(reader._take(4, what))[0]


def read_record(reader: Reader) -> CheckpointRecord:
    thread_id = reader.string("thread_id")
    checkpoint_ns = reader.string("checkpoint_ns")
    checkpoint_id = reader.string("checkpoint_id")
    parent = _read_optional_string(reader, "parent_checkpoint_id")
    checkpoint_type = reader.string("checkpoint_type")
    checkpoint = reader.raw_bytes("checkpoint")
    metadata = reader.string("metadata")
    blobs = [Blob(reader.string("channel"), reader.string("version"), reader.string("type"),
                  reader.raw_bytes("value"))
             for _ in range(reader.count(_BLOB_BYTES_MIN, "channel_values"))]
    writes = [PendingWrite(reader.string("task_id"), reader.string("task_path"),
                           _read_i32(reader, "idx"), reader.string("channel"),
                           reader.string("type"), reader.raw_bytes("value"))
              for _ in range(reader.count(_WRITE_BYTES_MIN, "pending_writes"))]
    return CheckpointRecord(thread_id, checkpoint_ns, checkpoint_id, parent, checkpoint_type,
                            checkpoint, metadata, blobs, writes)


def _finish(reader: Reader) -> None:
    if reader.remaining:
        raise DecodeError(f"{reader.remaining} bytes after the response fields")


def decode_get_response(body: bytes) -> CheckpointRecord | None:
    reader = Reader(body)
    presence = reader.u8("record")
    if presence > 1:
        raise DecodeError(f"record: presence byte {presence:#04x} is neither 00 nor 01")
    record = read_record(reader) if presence else None
    _finish(reader)
    return record


def decode_record_page(body: bytes) -> list[CheckpointRecord]:
    reader = Reader(body)
    records = [read_record(reader) for _ in range(reader.count(_RECORD_BYTES_MIN, "records"))]
    _finish(reader)
    return records


def decode_u64(body: bytes) -> int:
    reader = Reader(body)
    value = reader.u64("count")
    _finish(reader)
    return value


def decode_empty(body: bytes) -> None:
    if body:
        raise DecodeError(f"{len(body)} bytes in a response that has no fields")


def _decode(decoder, body: bytes):  # type: ignore[no-untyped-def]
    try:
        return decoder(body)
    except ProtocolError as error:
        raise ProtocolViolationError(f"checkpoint response does not decode: {error}",
                                     error.code) from error


class AsyncCheckpointClient:
    """Checkpoint operations over one ``AsyncStoreClient`` (which multiplexes concurrent calls
    on its connection, so this class is safe to share between tasks of its event loop)."""

    def __init__(self, client: AsyncStoreClient, *, timeout: float | None = None,
                 retry_attempts_max: int = RETRY_ATTEMPTS_MAX,
                 retry_backoff_s: float = RETRY_BACKOFF_S) -> None:
        if retry_attempts_max < 1:
            raise ValueError("retry_attempts_max must be at least 1")
        self.client = client
        self.timeout = timeout
        self.retry_attempts_max = retry_attempts_max
        self.retry_backoff_s = retry_backoff_s
        self.retries = 0  # calls sent again after a retryable failure (diagnostics, tests)

    async def _request(self, opcode: CheckpointOpcode, body: bytes) -> bytes:
        backoff_s = self.retry_backoff_s
        for attempt in range(1, self.retry_attempts_max + 1):
            try:
                response = await self.client.request(opcode, body, self.timeout)
                return response.body
            except StoreError as error:
                if not error.retryable or attempt == self.retry_attempts_max:
                    raise
                await self._before_retry(error, backoff_s)
            backoff_s *= 2
        raise AssertionError("unreachable")

    async def _before_retry(self, error: StoreError, backoff_s: float) -> None:
        """Safe to send again: every checkpoint operation is idempotent (module docstring). A
        timeout may mean a dead connection that nothing reported, so it is probed first."""
        self.retries += 1
        if isinstance(error, ClientTimeoutError):
            await self._replace_if_unresponsive()
        await asyncio.sleep(backoff_s)

    async def _replace_if_unresponsive(self) -> None:
        connection = self.client._live_connection
        if connection is None:
            return
        call_timeout_s = self.timeout or self.client.timeout
        try:
            await self.client.ping(timeout=min(PROBE_TIMEOUT_S, call_timeout_s))
        except StoreError:
            # No answer to a PING: drop the connection so the retry opens a new one.
            if self.client._live_connection is connection:
                connection.abort()

    async def put(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str,
                  parent_checkpoint_id: str | None, checkpoint_type: str, checkpoint: bytes,
                  metadata: str, channel_versions: Sequence[tuple[str, str]],
                  blobs: Sequence[Blob] = (), *, expected_latest: str | None = None) -> None:
        """Saves a checkpoint. With ``expected_latest`` the server refuses (``ServerError``
        with code ``conflict``, not retried) a put that would fork the thread's history."""
        body = encode_put(thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
                          checkpoint_type, checkpoint, metadata, channel_versions, blobs,
                          expected_latest)
        try:
            response = await self._request(CheckpointOpcode.PUT, body)
        except ServerError as error:
            if expected_latest is not None and error.code == ErrorCode.CONFLICT:
                raise CheckpointConflictError(error, expected_latest) from error
            raise
        _decode(decode_empty, response)

    async def put_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str,
                         task_id: str, task_path: str, writes: Sequence[Write]) -> None:
        body = encode_put_writes(thread_id, checkpoint_ns, checkpoint_id, task_id, task_path,
                                 writes)
        _decode(decode_empty, await self._request(CheckpointOpcode.PUT_WRITES, body))

    async def get(self, thread_id: str, checkpoint_ns: str = "",
                  checkpoint_id: str | None = None) -> CheckpointRecord | None:
        body = encode_get(thread_id, checkpoint_ns, checkpoint_id)
        return _decode(decode_get_response, await self._request(CheckpointOpcode.GET, body))

    async def list(self, thread_id: str | None = None, checkpoint_ns: str | None = None, *,
                   checkpoint_id: str | None = None, filter_json: str | None = None,
                   before: str | None = None,
                   limit: int | None = None) -> AsyncIterator[CheckpointRecord]:
        """Records newest first, page by page as the server streams them. Leaving the loop
        early cancels the rest on the server."""
        body = encode_list(thread_id, checkpoint_ns, checkpoint_id, filter_json, before, limit)
        backoff_s = self.retry_backoff_s
        attempt = 1
        while True:
            yielded = False
            stream = self.client.stream(CheckpointOpcode.LIST, body, self.timeout)
            try:
                async for response in stream:
                    for record in _decode(decode_record_page, response.body):
                        yielded = True
                        yield record
                return
            except StoreError as error:
                if yielded or not error.retryable or attempt == self.retry_attempts_max:
                    raise
                failure = error
            finally:
                await stream.aclose()
            await self._before_retry(failure, backoff_s)
            attempt += 1
            backoff_s *= 2

    async def delete_thread(self, thread_id: str) -> None:
        body = encode_delete_thread(thread_id)
        _decode(decode_empty, await self._request(CheckpointOpcode.DELETE_THREAD, body))

    async def delete_for_runs(self, run_ids: Sequence[str]) -> int:
        """Returns the number of checkpoints deleted."""
        body = encode_delete_for_runs(run_ids)
        return _decode(decode_u64, await self._request(CheckpointOpcode.DELETE_FOR_RUNS, body))

    async def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        body = encode_copy_thread(source_thread_id, target_thread_id)
        _decode(decode_empty, await self._request(CheckpointOpcode.COPY_THREAD, body))

    async def prune(self, thread_ids: Sequence[str],
                    strategy: PruneStrategy = PruneStrategy.KEEP_LATEST) -> int:
        """Returns the number of checkpoints removed."""
        body = encode_prune(thread_ids, PruneStrategy(strategy))
        return _decode(decode_u64, await self._request(CheckpointOpcode.PRUNE, body))


class CheckpointClient:
    """Blocking checkpoint operations over a ``StoreClient`` (thread-safe like it: calls from
    many threads run concurrently on the store client's event loop and connection)."""

    def __init__(self, client: StoreClient, *, timeout: float | None = None,
                 retry_attempts_max: int = RETRY_ATTEMPTS_MAX,
                 retry_backoff_s: float = RETRY_BACKOFF_S) -> None:
        self.client = client
        self.asynchronous = AsyncCheckpointClient(
            client._async, timeout=timeout, retry_attempts_max=retry_attempts_max,
            retry_backoff_s=retry_backoff_s)

    def _wait_s(self) -> float:
        """How long a thread waits for the event loop: every attempt's timeout, the PING probes
        between them and the backoff."""
        per_call = self.asynchronous.timeout or self.client.timeout
        attempts = self.asynchronous.retry_attempts_max
        return ((per_call + PROBE_TIMEOUT_S) * attempts
                + self.asynchronous.retry_backoff_s * (2 ** attempts))

    def _run(self, coroutine):  # type: ignore[no-untyped-def]
        return self.client._submit(coroutine, self._wait_s())

    def put(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str,
            parent_checkpoint_id: str | None, checkpoint_type: str, checkpoint: bytes,
            metadata: str, channel_versions: Sequence[tuple[str, str]],
            blobs: Sequence[Blob] = (), *, expected_latest: str | None = None) -> None:
        self._run(self.asynchronous.put(thread_id, checkpoint_ns, checkpoint_id,
                                        parent_checkpoint_id, checkpoint_type, checkpoint,
                                        metadata, channel_versions, blobs,
                                        expected_latest=expected_latest))

    def put_writes(self, thread_id: str, checkpoint_ns: str, checkpoint_id: str, task_id: str,
                   task_path: str, writes: Sequence[Write]) -> None:
        self._run(self.asynchronous.put_writes(thread_id, checkpoint_ns, checkpoint_id, task_id,
                                               task_path, writes))

    def get(self, thread_id: str, checkpoint_ns: str = "",
            checkpoint_id: str | None = None) -> CheckpointRecord | None:
        return self._run(self.asynchronous.get(thread_id, checkpoint_ns, checkpoint_id))

    def list(self, thread_id: str | None = None, checkpoint_ns: str | None = None, *,
             checkpoint_id: str | None = None, filter_json: str | None = None,
             before: str | None = None, limit: int | None = None) -> Iterator[CheckpointRecord]:
        iterator = self.asynchronous.list(thread_id, checkpoint_ns, checkpoint_id=checkpoint_id,
                                          filter_json=filter_json, before=before,
                                          limit=limit).__aiter__()
        try:
            while True:
                try:
                    yield self._run(iterator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._run(iterator.aclose())

    def delete_thread(self, thread_id: str) -> None:
        self._run(self.asynchronous.delete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> int:
        return self._run(self.asynchronous.delete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(self.asynchronous.copy_thread(source_thread_id, target_thread_id))

    def prune(self, thread_ids: Sequence[str],
              strategy: PruneStrategy = PruneStrategy.KEEP_LATEST) -> int:
        return self._run(self.asynchronous.prune(thread_ids, strategy))


__all__ = [
    "AsyncCheckpointClient", "Blob", "CheckpointClient", "CheckpointOpcode", "CheckpointRecord",
    "PendingWrite", "PruneStrategy", "Write", "decode_empty", "decode_get_response",
    "decode_record_page", "decode_u64",
    "encode_copy_thread", "encode_delete_for_runs", "encode_delete_thread", "encode_get",
    "encode_list", "encode_prune", "encode_put", "encode_put_writes", "read_record",
]
