"""The cache operations (protocol-spec.md section 7.3): get, set with a time to live, delete and
clear by prefix. Keys and values are bytes; any byte (NUL, CR/LF, 0xFF) round-trips.

``AsyncCache`` wraps an ``AsyncStoreClient``; ``Cache`` wraps a blocking ``StoreClient``::

    cache = Cache(client)
    cache.set(b"session:42", b"...", ttl=30.0)
    cache.get(b"session:42")
"""
from __future__ import annotations

import math

from .aio import AsyncStoreClient, Response
from .client import StoreClient
from .errors import DecodeError, ProtocolViolationError
from .values import Reader, Writer

CACHE_GET, CACHE_SET, CACHE_DELETE, CACHE_CLEAR = 0x0301, 0x0302, 0x0303, 0x0304


def encode_get(key: bytes) -> bytes:
    return Writer().raw_bytes(key).to_bytes()


def encode_set(key: bytes, value: bytes, ttl_ms: int | None) -> bytes:
    writer = Writer().raw_bytes(key).raw_bytes(value)
    if ttl_ms is None:
        writer.u8(0)
    else:
        writer.u8(1).u64(ttl_ms)
    return writer.to_bytes()


def encode_delete(keys: list[bytes]) -> bytes:
    writer = Writer().u32(len(keys))
    for key in keys:
        writer.raw_bytes(key)
    return writer.to_bytes()


def encode_clear(prefix: bytes) -> bytes:
    return Writer().raw_bytes(prefix).to_bytes()


def decode_get_response(body: bytes) -> bytes | None:
    reader = Reader(body)
    presence = reader.u8("value")
    if presence == 0:
        return None
    if presence != 1:
        raise DecodeError(f"value: presence byte {presence}", "value")
    return reader.raw_bytes("value")


def decode_count_response(body: bytes) -> int:
    return Reader(body).u64("count")


def ttl_milliseconds(ttl: float | None) -> int | None:
    """Seconds to whole milliseconds, rounded up so a positive TTL never becomes 0."""
    if ttl is None:
        return None
    if not ttl > 0:
        raise ValueError("ttl must be positive (or None for the server's default)")
    return math.ceil(ttl * 1000)


def _decoded(decoder, response: Response):  # type: ignore[no-untyped-def]
    try:
        return decoder(response.body)
    except DecodeError as error:
        raise ProtocolViolationError(f"cache response does not decode: {error}") from error


class AsyncCache:
    def __init__(self, client: AsyncStoreClient) -> None:
        self.client = client

    async def get(self, key: bytes, timeout: float | None = None) -> bytes | None:
        response = await self.client.request(CACHE_GET, encode_get(key), timeout)
        return _decoded(decode_get_response, response)

    async def set(self, key: bytes, value: bytes, ttl: float | None = None,
                  timeout: float | None = None) -> None:
        """``ttl`` in seconds; None uses the server's default (``CACHE_TTL``)."""
        await self.client.request(CACHE_SET, encode_set(key, value, ttl_milliseconds(ttl)), timeout)

    async def delete(self, *keys: bytes, timeout: float | None = None) -> int:
        response = await self.client.request(CACHE_DELETE, encode_delete(list(keys)), timeout)
        return _decoded(decode_count_response, response)

    async def clear(self, prefix: bytes, timeout: float | None = None) -> int:
        """Deletes every key starting with ``prefix`` (b"": every key set through the cache)."""
        response = await self.client.request(CACHE_CLEAR, encode_clear(prefix), timeout)
        return _decoded(decode_count_response, response)


class Cache:
    def __init__(self, client: StoreClient) -> None:
        self.client = client

    def get(self, key: bytes, timeout: float | None = None) -> bytes | None:
        return _decoded(decode_get_response, self.client.request(CACHE_GET, encode_get(key), timeout))

    def set(self, key: bytes, value: bytes, ttl: float | None = None,
            timeout: float | None = None) -> None:
        self.client.request(CACHE_SET, encode_set(key, value, ttl_milliseconds(ttl)), timeout)

    def delete(self, *keys: bytes, timeout: float | None = None) -> int:
        return _decoded(decode_count_response,
                        self.client.request(CACHE_DELETE, encode_delete(list(keys)), timeout))

    def clear(self, prefix: bytes, timeout: float | None = None) -> int:
        return _decoded(decode_count_response,
                        self.client.request(CACHE_CLEAR, encode_clear(prefix), timeout))
