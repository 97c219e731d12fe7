"""A TCP proxy in front of the API whose connections a test can cut, to drop a browser's SSE stream the
way a flaky network or a restarting load balancer does, while the API itself keeps running."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class DroppingProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_port``; ``drop()`` closes every open connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.requests: list[bytes] = []  # the first bytes of each connection (request line and headers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def drop(self) -> None:
        """Cut every connection now (the browser sees its streams end without a final event)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update({client_writer, upstream_writer})
        first = True

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: bool) -> None:
            nonlocal first
            try:
                while data := await reader.read(65536):
                    if record and first:
                        self.requests.append(data)
                        first = False
                    elif record and data[:4] in (b"GET ", b"POST", b"DELE", b"HEAD"):
                        self.requests.append(data)  # the next request on a kept-alive connection
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.transport.abort()
                self._writers.discard(writer)

        tasks = [
            asyncio.create_task(pipe(client_reader, upstream_writer, True)),
            asyncio.create_task(pipe(upstream_reader, client_writer, False)),
        ]
        self._tasks.update(tasks)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._tasks.discard(task)


@asynccontextmanager
async def dropping_proxy(target_port: int) -> AsyncIterator[DroppingProxy]:
    proxy = DroppingProxy(target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
