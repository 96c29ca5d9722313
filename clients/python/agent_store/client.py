"""Blocking client, safe to share between threads: an ``AsyncStoreClient`` runs on a private
event loop in a background thread, and each method submits a coroutine to it and waits
(``asyncio.run_coroutine_threadsafe``). Calls from many threads multiplex onto one connection."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine, Iterator, TypeVar

from . import wire
from .aio import AsyncStoreClient, Response

T = TypeVar("T")

#: Extra seconds a blocked thread waits beyond the call's own timeout (which the event loop
#: enforces) before giving up on a loop that stopped answering.
_LOOP_GRACE_S = 5.0


class StoreClient:
    """Blocking client. ``StoreClient.connect(host, port, token=...)`` or use as a context
    manager; ``close()`` stops the background thread."""

    def __init__(self, host: str, port: int, token: str | bytes | None = None,
                 timeout: float = 30.0, *, connect_timeout: float = 10.0,
                 checksums: bool = False) -> None:
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="agent-store-client",
                                        daemon=True)
        self._thread.start()
        self._closed = False
        self._async = self._submit(self._create(host, port, token, timeout, connect_timeout,
                                                checksums), None)

    @classmethod
    def connect(cls, host: str, port: int, token: str | bytes | None = None,
                timeout: float = 30.0, *, connect_timeout: float = 10.0,
                checksums: bool = False) -> "StoreClient":
        client = cls(host, port, token, timeout, connect_timeout=connect_timeout,
                     checksums=checksums)
        try:
            client._submit(client._async._current_connection(), connect_timeout * 2)
        except BaseException:
            client.close()
            raise
        return client

    @staticmethod
    async def _create(host: str, port: int, token: str | bytes | None, timeout: float,
                      connect_timeout: float, checksums: bool) -> AsyncStoreClient:
        return AsyncStoreClient(host, port, token, timeout, connect_timeout=connect_timeout,
                                checksums=checksums)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _submit(self, coroutine: Coroutine[Any, Any, T], timeout: float | None) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(None if timeout is None else timeout + _LOOP_GRACE_S)

    def _call_timeout(self, timeout: float | None) -> float:
        return self.timeout if timeout is None else timeout

    def __enter__(self) -> "StoreClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def hello(self) -> wire.Hello | None:
        return self._async.hello

    @property
    def principal(self) -> str | None:
        return self._async.principal

    def request(self, opcode: int, body: bytes = b"", timeout: float | None = None) -> Response:
        return self._submit(self._async.request(opcode, body, timeout),
                            self._call_timeout(timeout))

    def stream(self, opcode: int, body: bytes = b"",
               timeout: float | None = None) -> Iterator[Response]:
        """Yields partial responses, then the final one; closing the iterator early cancels."""
        iterator = self._async.stream(opcode, body, timeout).__aiter__()
        wait = self._call_timeout(timeout)
        try:
            while True:
                try:
                    yield self._submit(iterator.__anext__(), wait)
                except StopAsyncIteration:
                    return
        finally:
            self._submit(iterator.aclose(), wait)

    def ping(self, payload: int | None = None, timeout: float | None = None) -> int:
        return self._submit(self._async.ping(payload, timeout), self._call_timeout(timeout))

    def health(self, timeout: float | None = None) -> wire.Health:
        return self._submit(self._async.health(timeout), self._call_timeout(timeout))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if getattr(self, "_async", None) is not None:
                self._submit(self._async.close(), 2 * 5.0)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
