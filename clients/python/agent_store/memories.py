"""Memory operations (opcodes 0x0401-0x0407, protocol-spec.md section 7.4): namespaced JSON items
with optional vectors and TTLs, searched by namespace prefix, filter and query vector.

- Request types (``PutRequest``, ``GetRequest`` ...) encode one operation's body and decode its
  response, with no I/O, so they serve both single calls and ``MEMORY_BATCH``.
- ``AsyncMemoryClient`` wraps an ``AsyncStoreClient``; ``MemoryClient`` is its blocking twin over
  a ``StoreClient`` (safe to share between threads).
"""
from __future__ import annotations

import asyncio
import enum
import json
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence, Union

from .aio import AsyncStoreClient
from .client import StoreClient
from .errors import DecodeError, ProtocolError, ProtocolViolationError, ServerError
from .messages import decode_error
from .values import Reader, Writer

_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_U32_MAX = 0xFFFFFFFF
_U64_MAX = (1 << 64) - 1

#: Smallest encodings, used to refuse impossible list counts before allocating.
_STRING_BYTES_MIN = 4
_ITEM_BYTES_MIN = 4 + 4 + 4 + 8 + 8 + 1  # empty namespace, key and value; two times; no expiry
_BATCH_ENTRY_BYTES_MIN = 1 + 4  # ok byte and an empty body

#: Operations the server runs in one MEMORY_BATCH (spec 7.4); larger batches are split.
BATCH_OPERATIONS_MAX = 1000
#: The spec's default ``max_message_bytes``, used before a HELLO is known.
_MESSAGE_BYTES_DEFAULT = 64 << 20

Namespace = tuple[str, ...]


class MemoryOpcode(enum.IntEnum):
    COLLECTION_ENSURE = 0x0401
    PUT = 0x0402
    GET = 0x0403
    DELETE = 0x0404
    SEARCH = 0x0405
    LIST_NAMESPACES = 0x0406
    BATCH = 0x0407


class Metric(enum.IntEnum):
    """How a collection scores vectors; higher scores are always better."""

    COSINE = 1
    L2 = 2  # scored as the negative L2 distance
    INNER_PRODUCT = 3

    @classmethod
    def from_name(cls, name: str) -> "Metric":
        """LangGraph's ``distance_type`` spellings: ``cosine``, ``l2``, ``inner_product``."""
        return cls[name.upper()]


def _utc(microseconds: int) -> datetime:
    # fromtimestamp on a float loses microseconds for far-away dates; build from integers.
    seconds, micros = divmod(microseconds, 1_000_000)
    return datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=micros)


@dataclass(frozen=True)
class MemoryItem:
    """One stored item. Times are microseconds since the Unix epoch (UTC)."""

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at_us: int
    updated_at_us: int
    expires_at_us: int | None = None

    @property
    def created_at(self) -> datetime:
        return _utc(self.created_at_us)

    @property
    def updated_at(self) -> datetime:
        return _utc(self.updated_at_us)

    @property
    def expires_at(self) -> datetime | None:
        return None if self.expires_at_us is None else _utc(self.expires_at_us)


@dataclass(frozen=True)
class MemorySearchItem(MemoryItem):
    """A search result; ``score`` is present only when the search had a query vector."""

    score: float | None = None


# Field encoders and decoders shared by the request types.

def _check_namespace(namespace: Sequence[str], what: str, *,
                     allow_empty: bool = False) -> tuple[str, ...]:
    labels = tuple(namespace)
    if not labels and not allow_empty:
        raise ValueError(f"{what}: a namespace needs at least one label")
    for label in labels:
        if not isinstance(label, str):
            raise TypeError(f"{what}: namespace labels are str, not {type(label).__name__}")
        if not label:
            raise ValueError(f"{what}: empty namespace label in {labels!r}")
        if "." in label:
            raise ValueError(f"{what}: namespace label {label!r} contains '.'")
    return labels


def _write_namespace(writer: Writer, namespace: Sequence[str]) -> None:
    writer.u32(len(namespace))
    for label in namespace:
        writer.string(label)


def _read_namespace(reader: Reader, what: str) -> Namespace:
    count = reader.count(_STRING_BYTES_MIN, what)
    return tuple(reader.string(what) for _ in range(count))


def _write_i64(writer: Writer, value: int) -> None:
    writer.buffer += _I64.pack(value)


def _write_f64(writer: Writer, value: float) -> None:
    writer.buffer += _F64.pack(value)


def _write_u32(writer: Writer, value: int, what: str) -> None:
    if not 0 <= value <= _U32_MAX:
        raise ValueError(f"{what} {value} does not fit in u32")
    writer.u32(value)


def encode_json_object(value: Mapping[str, Any]) -> str:
    """Items hold JSON objects; NaN and infinity are not JSON, so they are refused here."""
    if not isinstance(value, Mapping):
        raise TypeError(f"an item value is a JSON object (dict), not {type(value).__name__}")
    return json.dumps(dict(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _decode_json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise DecodeError(f"{what}: not JSON ({error})", what) from None
    if not isinstance(value, dict):
        raise DecodeError(f"{what}: JSON {type(value).__name__}, expected an object", what)
    return value


def _read_item_fields(reader: Reader) -> tuple[Any, ...]:
    namespace = _read_namespace(reader, "namespace")
    key = reader.string("key")
    value = _decode_json_object(reader.string("value"), "value")
    created = reader.i64("created_at_us")
    updated = reader.i64("updated_at_us")
    expires = reader.i64("expires_at_us") if reader.bool("expires_at_us presence") else None
    return namespace, key, value, created, updated, expires


def read_item(reader: Reader) -> MemoryItem:
    return MemoryItem(*_read_item_fields(reader))


def read_search_item(reader: Reader) -> MemorySearchItem:
    fields = _read_item_fields(reader)
    score = reader.f64("score") if reader.bool("score presence") else None
    return MemorySearchItem(*fields, score=score)


def read_search_items(reader: Reader) -> list[MemorySearchItem]:
    count = reader.count(_ITEM_BYTES_MIN + 1, "items")
    return [read_search_item(reader) for _ in range(count)]


def _finish(reader: Reader, what: str) -> None:
    """Response decoders ignore nothing: trailing bytes mean the two sides disagree on the
    layout, which must show up as an error rather than as silently wrong data."""
    if reader.remaining:
        raise DecodeError(f"{what}: {reader.remaining} unexpected bytes after the fields", what)


# Requests: each encodes its body and decodes its response body.

@dataclass(frozen=True)
class CollectionEnsureRequest:
    name: str
    dimension: int
    metric: Metric = Metric.COSINE
    opcode = MemoryOpcode.COLLECTION_ENSURE

    def encode(self) -> bytes:
        if not self.name:
            raise ValueError("collection name is empty")
        writer = Writer().string(self.name)
        _write_u32(writer, self.dimension, "dimension")
        return writer.u8(int(Metric(self.metric))).to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> None:
        _finish(Reader(body), "collection_ensure response")


@dataclass(frozen=True)
class PutRequest:
    """Insert or replace. ``vectors`` replace the item's previous ones (one per indexed field;
    empty = no vectors); ``collection`` names where they live ("" when there are none)."""

    namespace: Namespace
    key: str
    value: Mapping[str, Any]
    collection: str = ""
    vectors: Sequence[tuple[str, Sequence[float]]] = ()
    ttl_ms: int | None = None
    opcode = MemoryOpcode.PUT

    def encode(self) -> bytes:
        namespace = _check_namespace(self.namespace, "namespace")
        if self.vectors and not self.collection:
            raise ValueError("vectors need a collection")
        writer = Writer()
        _write_namespace(writer, namespace)
        writer.string(self.key).string(encode_json_object(self.value)).string(self.collection)
        writer.u32(len(self.vectors))
        for field_name, vector in self.vectors:
            writer.string(field_name).vector(vector)
        if self.ttl_ms is None:
            writer.u8(0)
        else:
            if not 0 <= self.ttl_ms <= _U64_MAX:
                raise ValueError(f"ttl_ms {self.ttl_ms} does not fit in u64")
            writer.u8(1).u64(self.ttl_ms)
        return writer.to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> MemoryItem:
        reader = Reader(body)
        item = read_item(reader)
        _finish(reader, "put response")
        return item


@dataclass(frozen=True)
class GetRequest:
    namespace: Namespace
    key: str
    refresh_ttl: bool = False
    opcode = MemoryOpcode.GET

    def encode(self) -> bytes:
        writer = Writer()
        _write_namespace(writer, _check_namespace(self.namespace, "namespace"))
        return writer.string(self.key).bool(self.refresh_ttl).to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> MemoryItem | None:
        reader = Reader(body)
        item = read_item(reader) if reader.bool("item presence") else None
        _finish(reader, "get response")
        return item


@dataclass(frozen=True)
class DeleteRequest:
    namespace: Namespace
    key: str
    opcode = MemoryOpcode.DELETE

    def encode(self) -> bytes:
        writer = Writer()
        _write_namespace(writer, _check_namespace(self.namespace, "namespace"))
        return writer.string(self.key).to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> None:
        _finish(Reader(body), "delete response")


@dataclass(frozen=True)
class SearchRequest:
    """``namespace_prefix`` matches whole labels (empty = every namespace). ``filter`` is a JSON
    object of equalities or ``$eq $ne $gt $gte $lt $lte`` per field. With ``query`` results come
    best score first, otherwise most recently updated first."""

    namespace_prefix: Namespace = ()
    filter: Mapping[str, Any] | None = None
    collection: str = ""
    query: Sequence[float] | None = None
    limit: int = 10
    offset: int = 0
    refresh_ttl: bool = False
    opcode = MemoryOpcode.SEARCH

    def encode(self) -> bytes:
        prefix = _check_namespace(self.namespace_prefix, "namespace_prefix", allow_empty=True)
        if self.query is not None and not self.collection:
            raise ValueError("a query vector needs a collection")
        if self.limit < 1:
            raise ValueError(f"limit {self.limit} is below 1")
        writer = Writer()
        _write_namespace(writer, prefix)
        if self.filter is None:
            writer.u8(0)
        else:
            writer.u8(1).string(encode_json_object(self.filter))
        writer.string(self.collection)
        if self.query is None:
            writer.u8(0)
        else:
            writer.u8(1).vector(self.query)
        _write_u32(writer, self.limit, "limit")
        _write_u32(writer, self.offset, "offset")
        return writer.bool(self.refresh_ttl).to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> list[MemorySearchItem]:
        """A complete result list: the final body of a stream, or a batch entry."""
        reader = Reader(body)
        items = read_search_items(reader)
        _finish(reader, "search response")
        return items


@dataclass(frozen=True)
class ListNamespacesRequest:
    """``prefix``/``suffix`` may hold ``"*"`` labels that match any label; ``max_depth`` cuts
    results to that many labels (duplicates removed). Results are sorted."""

    prefix: Namespace | None = None
    suffix: Namespace | None = None
    max_depth: int | None = None
    limit: int = 100
    offset: int = 0
    opcode = MemoryOpcode.LIST_NAMESPACES

    def encode(self) -> bytes:
        writer = Writer()
        for what, path in (("prefix", self.prefix), ("suffix", self.suffix)):
            if path is None:
                writer.u8(0)
            else:
                writer.u8(1)
                _write_namespace(writer, _check_namespace(path, what, allow_empty=True))
        if self.max_depth is None:
            writer.u8(0)
        else:
            writer.u8(1)
            _write_u32(writer, self.max_depth, "max_depth")
        _write_u32(writer, self.limit, "limit")
        _write_u32(writer, self.offset, "offset")
        return writer.to_bytes()

    @staticmethod
    def decode_response(body: bytes) -> list[Namespace]:
        reader = Reader(body)
        count = reader.count(4, "namespaces")
        namespaces = [_read_namespace(reader, "namespace") for _ in range(count)]
        _finish(reader, "list_namespaces response")
        return namespaces


MemoryRequest = Union[PutRequest, GetRequest, DeleteRequest, SearchRequest,
                      ListNamespacesRequest]
_BATCHABLE = (PutRequest, GetRequest, DeleteRequest, SearchRequest, ListNamespacesRequest)


def encode_batch(requests: Sequence[MemoryRequest]) -> bytes:
    return _encode_batch_entries([(request, _batch_body(request)) for request in requests])


def _batch_body(request: MemoryRequest) -> bytes:
    if not isinstance(request, _BATCHABLE):
        raise TypeError(f"{type(request).__name__} cannot go in a batch")
    return request.encode()


def _encode_batch_entries(entries: Sequence[tuple[MemoryRequest, bytes]]) -> bytes:
    writer = Writer()
    writer.u32(len(entries))
    for request, body in entries:
        writer.u16(int(request.opcode)).raw_bytes(body)
    return writer.to_bytes()


def decode_batch(body: bytes, requests: Sequence[MemoryRequest]) -> list[Any]:
    """Each request's result, or the ``ServerError`` it failed with, in request order."""
    reader = Reader(body)
    count = reader.count(_BATCH_ENTRY_BYTES_MIN, "results")
    if count != len(requests):
        raise DecodeError(f"batch: {count} results for {len(requests)} operations", "results")
    results: list[Any] = []
    for request in requests:
        ok = reader.bool("ok")
        entry = reader.raw_bytes("body")
        if ok:
            results.append(request.decode_response(entry))
        else:
            error = decode_error(entry)
            results.append(ServerError(error.code, error.flags, error.message, error.details))
    _finish(reader, "batch response")
    return results


def _batch_chunks(requests: list[MemoryRequest], message_bytes_max: int
                  ) -> Iterator[list[tuple[MemoryRequest, bytes]]]:
    """Consecutive runs of (request, encoded body) that each fit one MEMORY_BATCH: at most
    ``BATCH_OPERATIONS_MAX`` operations and ``message_bytes_max`` bytes. A single request too
    large on its own still goes alone (and the server or the client refuses it clearly)."""
    chunk: list[tuple[MemoryRequest, bytes]] = []
    size = 4  # the ops count
    for request in requests:
        body = _batch_body(request)
        entry = 2 + 4 + len(body)  # opcode, body length, body
        if chunk and (len(chunk) == BATCH_OPERATIONS_MAX or size + entry > message_bytes_max):
            yield chunk
            chunk, size = [], 4
        chunk.append((request, body))
        size += entry
    if chunk:
        yield chunk


def _decoded(decoder, body: bytes):  # type: ignore[no-untyped-def]
    try:
        return decoder(body)
    except ProtocolError as error:
        raise ProtocolViolationError(f"memory response does not decode: {error}",
                                     error.code) from error


class AsyncMemoryClient:
    """Memory operations over an ``AsyncStoreClient`` (which it does not own or close)."""

    def __init__(self, client: AsyncStoreClient) -> None:
        self.client = client

    async def call(self, request: MemoryRequest | CollectionEnsureRequest,
                   timeout: float | None = None) -> Any:
        """One request as a single call; a search's streamed pages are gathered."""
        if isinstance(request, SearchRequest):
            return [item async for item in self._search_stream(request, timeout)]
        response = await self.client.request(request.opcode, request.encode(), timeout)
        return _decoded(request.decode_response, response.body)

    async def collection_ensure(self, name: str, dimension: int,
                                metric: Metric = Metric.COSINE,
                                timeout: float | None = None) -> None:
        await self.call(CollectionEnsureRequest(name, dimension, Metric(metric)), timeout)

    async def put(self, namespace: Sequence[str], key: str, value: Mapping[str, Any], *,
                  collection: str = "", vectors: Sequence[tuple[str, Sequence[float]]] = (),
                  ttl_ms: int | None = None, timeout: float | None = None) -> MemoryItem:
        return await self.call(PutRequest(tuple(namespace), key, value, collection,
                                          tuple(vectors), ttl_ms), timeout)

    async def get(self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = False,
                  timeout: float | None = None) -> MemoryItem | None:
        return await self.call(GetRequest(tuple(namespace), key, refresh_ttl), timeout)

    async def delete(self, namespace: Sequence[str], key: str,
                     timeout: float | None = None) -> None:
        await self.call(DeleteRequest(tuple(namespace), key), timeout)

    async def search(self, namespace_prefix: Sequence[str] = (), *,
                     filter: Mapping[str, Any] | None = None, collection: str = "",
                     query: Sequence[float] | None = None, limit: int = 10, offset: int = 0,
                     refresh_ttl: bool = False,
                     timeout: float | None = None) -> list[MemorySearchItem]:
        return await self.call(SearchRequest(tuple(namespace_prefix), filter, collection, query,
                                             limit, offset, refresh_ttl), timeout)

    def search_iter(self, namespace_prefix: Sequence[str] = (), *,
                    filter: Mapping[str, Any] | None = None, collection: str = "",
                    query: Sequence[float] | None = None, limit: int = 10, offset: int = 0,
                    refresh_ttl: bool = False,
                    timeout: float | None = None) -> AsyncIterator[MemorySearchItem]:
        """Yields results as their pages arrive; leaving the loop early cancels the search."""
        return self._search_stream(SearchRequest(tuple(namespace_prefix), filter, collection,
                                                 query, limit, offset, refresh_ttl), timeout)

    async def _search_stream(self, request: SearchRequest,
                             timeout: float | None) -> AsyncIterator[MemorySearchItem]:
        body = request.encode()
        async for response in self.client.stream(request.opcode, body, timeout):
            for item in _decoded(SearchRequest.decode_response, response.body):
                yield item

    async def list_namespaces(self, *, prefix: Sequence[str] | None = None,
                              suffix: Sequence[str] | None = None,
                              max_depth: int | None = None, limit: int = 100, offset: int = 0,
                              timeout: float | None = None) -> list[Namespace]:
        return await self.call(ListNamespacesRequest(
            None if prefix is None else tuple(prefix), None if suffix is None else tuple(suffix),
            max_depth, limit, offset), timeout)

    async def batch(self, requests: Sequence[MemoryRequest],
                    timeout: float | None = None) -> list[Any]:
        """Runs the requests in order. Each entry is the request's result or the
        ``ServerError`` it failed with (later requests still run). One round trip, or several
        consecutive ones when the requests are over ``BATCH_OPERATIONS_MAX`` or one message:
        the same thing, since a batch is no transaction."""
        results: list[Any] = []
        for chunk in _batch_chunks(list(requests), self._message_bytes_max()):
            response = await self.client.request(MemoryOpcode.BATCH,
                                                 _encode_batch_entries(chunk), timeout)
            chunk_requests = [request for request, _ in chunk]
            results += _decoded(lambda body: decode_batch(body, chunk_requests), response.body)
        return results

    def _message_bytes_max(self) -> int:
        hello = self.client.hello
        return hello.max_message_bytes if hello is not None else _MESSAGE_BYTES_DEFAULT


class MemoryClient:
    """Blocking memory operations over a ``StoreClient`` (which it does not own or close); safe
    to use from many threads, like the ``StoreClient``."""

    def __init__(self, client: StoreClient) -> None:
        self.client = client
        # StoreClient runs an AsyncStoreClient on its own loop thread; the async memory client
        # wraps that one, and each blocking call is submitted to that loop.
        self._async = AsyncMemoryClient(client._async)

    def _run(self, coroutine, timeout: float | None):  # type: ignore[no-untyped-def]
        return self.client._submit(coroutine, self.client._call_timeout(timeout))

    def submit(self, coroutine):  # type: ignore[no-untyped-def]
        """Schedules a coroutine of ``self.async_client`` on the client's loop thread and
        returns a ``concurrent.futures.Future`` (await it from any loop with
        ``asyncio.wrap_future``)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.client._loop)

    @property
    def async_client(self) -> AsyncMemoryClient:
        """The async twin, usable only through ``submit`` (it lives on the client's loop)."""
        return self._async

    @property
    def max_k(self) -> int:
        hello = self.client.hello
        return hello.max_k if hello is not None else 1000

    def call(self, request: MemoryRequest | CollectionEnsureRequest,
             timeout: float | None = None) -> Any:
        return self._run(self._async.call(request, timeout), timeout)

    def collection_ensure(self, name: str, dimension: int, metric: Metric = Metric.COSINE,
                          timeout: float | None = None) -> None:
        self._run(self._async.collection_ensure(name, dimension, metric, timeout), timeout)

    def put(self, namespace: Sequence[str], key: str, value: Mapping[str, Any], *,
            collection: str = "", vectors: Sequence[tuple[str, Sequence[float]]] = (),
            ttl_ms: int | None = None, timeout: float | None = None) -> MemoryItem:
        return self._run(self._async.put(namespace, key, value, collection=collection,
                                         vectors=vectors, ttl_ms=ttl_ms, timeout=timeout),
                         timeout)

    def get(self, namespace: Sequence[str], key: str, *, refresh_ttl: bool = False,
            timeout: float | None = None) -> MemoryItem | None:
        return self._run(self._async.get(namespace, key, refresh_ttl=refresh_ttl,
                                         timeout=timeout), timeout)

    def delete(self, namespace: Sequence[str], key: str, timeout: float | None = None) -> None:
        self._run(self._async.delete(namespace, key, timeout), timeout)

    def search(self, namespace_prefix: Sequence[str] = (), *,
               filter: Mapping[str, Any] | None = None, collection: str = "",
               query: Sequence[float] | None = None, limit: int = 10, offset: int = 0,
               refresh_ttl: bool = False, timeout: float | None = None) -> list[MemorySearchItem]:
        return self._run(self._async.search(
            namespace_prefix, filter=filter, collection=collection, query=query, limit=limit,
            offset=offset, refresh_ttl=refresh_ttl, timeout=timeout), timeout)

    def search_iter(self, namespace_prefix: Sequence[str] = (), *,
                    filter: Mapping[str, Any] | None = None, collection: str = "",
                    query: Sequence[float] | None = None, limit: int = 10, offset: int = 0,
                    refresh_ttl: bool = False,
                    timeout: float | None = None) -> Iterator[MemorySearchItem]:
        """Yields results as their pages arrive; closing the iterator early cancels."""
        request = SearchRequest(tuple(namespace_prefix), filter, collection, query, limit,
                                offset, refresh_ttl)
        for response in self.client.stream(request.opcode, request.encode(), timeout):
            yield from _decoded(SearchRequest.decode_response, response.body)

    def list_namespaces(self, *, prefix: Sequence[str] | None = None,
                        suffix: Sequence[str] | None = None, max_depth: int | None = None,
                        limit: int = 100, offset: int = 0,
                        timeout: float | None = None) -> list[Namespace]:
        return self._run(self._async.list_namespaces(
            prefix=prefix, suffix=suffix, max_depth=max_depth, limit=limit, offset=offset,
            timeout=timeout), timeout)

    def batch(self, requests: Sequence[MemoryRequest], timeout: float | None = None) -> list[Any]:
        return self._run(self._async.batch(requests, timeout), timeout)


__all__ = [
    "BATCH_OPERATIONS_MAX", "AsyncMemoryClient", "CollectionEnsureRequest", "DeleteRequest", "GetRequest",
    "ListNamespacesRequest", "MemoryClient", "MemoryItem", "MemoryOpcode", "MemoryRequest",
    "MemorySearchItem", "Metric", "PutRequest", "SearchRequest", "decode_batch", "encode_batch",
    "encode_json_object", "read_item", "read_search_item", "read_search_items",
]
