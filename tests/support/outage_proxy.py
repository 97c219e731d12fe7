"""A TCP proxy on 127.0.0.1 in front of a real server (Postgres, say) that a test can take down and bring back.

``cut()`` closes the listening socket and resets every open connection, so clients see exactly what a stopped
server gives them: existing connections die, new ones are refused. ``restore()`` listens on the same port
again. The server behind it keeps running for everyone else sharing it. ``round_trips`` counts the exchanges
clients started: a client sending after the server last spoke (or first) on its connection starts one, so a
pipeline of commands is one round trip and a statement followed by its commit is two. The proxy runs its own
event loop in a thread, so a test may block (``wait_for_http``) while its clients go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any


class OutageProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.round_trips = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="outage-proxy", daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def restore(self) -> None:
        """Accept connections (again, on the same port)."""
        self._run(self._listen())

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        self._run(self._close())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})

        # Which side spoke last on this connection: a client write after the server's answer is a new exchange.
        server_spoke_last = [True]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_client: bool) -> None:
            try:
                while data := await src.read(65536):
                    if from_client and server_spoke_last[0]:
                        self.round_trips += 1
                    server_spoke_last[0] = not from_client
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        tasks = [
            asyncio.create_task(pipe(reader, up_writer, True)),
            asyncio.create_task(pipe(up_reader, writer, False)),
        ]
        self._tasks.update(tasks)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._tasks.discard(task)


@contextmanager
def outage_proxy(target_host: str, target_port: int) -> Iterator[OutageProxy]:
    proxy = OutageProxy(target_host, target_port)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.close()
