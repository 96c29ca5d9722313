"""A TCP proxy for tests that can silently drop its open connections, as a NAT table or load
balancer does with an idle connection: bytes sent on them vanish, and neither side gets a FIN or
an RST. New connections are forwarded normally."""
from __future__ import annotations

import asyncio


class BlackholeProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._links: list[dict] = []
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def drop_open_connections(self) -> None:
        for link in self._links:
            link["dropped"] = True

    async def stop(self) -> None:
        self._server.close()
        for link in self._links:
            for writer in link["writers"]:
                writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, client_reader, client_writer) -> None:  # type: ignore[no-untyped-def]
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1",
                                                                     self.target_port)
        link = {"dropped": False, "writers": [client_writer, server_writer]}
        self._links.append(link)

        async def pump(reader, writer) -> None:  # type: ignore[no-untyped-def]
            try:
                while data := await reader.read(65536):
                    if not link["dropped"]:
                        writer.write(data)
                        await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass  # either side went away; the test is over or the link was aborted

        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.ensure_future(pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
