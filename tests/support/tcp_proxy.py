"""A TCP proxy on 127.0.0.1 in front of a real server that a test can cut, like a flaky network or a stopped server.

``TcpProxy`` runs in the caller's event loop (an async test dropping a browser's SSE stream through it while the
API keeps running): ``drop()`` resets every open connection, ``cut()`` also stops listening, ``listen()`` accepts
again on the same port. ``outage_proxy`` runs one in its own loop thread, so a synchronous test may block while its
clients (a service pointed at Postgres through it, say) go through it: ``cut()`` then gives them exactly what a
stopped server gives (open connections die, new ones are refused) and ``restore()`` brings it back. The server
behind keeps running for everyone else sharing it. ``round_trips`` counts the exchanges clients started: a client
sending after the server last spoke (or first) on its connection starts one, so a pipeline of commands is one
round trip and a statement followed by its commit is two.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

_REQUEST_STARTS = (b"GET ", b"POST", b"PUT ", b"DELE", b"HEAD", b"PATC")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        # Exchanges clients started (see the module docstring).
        self.round_trips = 0
        # What clients sent that starts an HTTP request (request line and headers), in order.
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def listen(self) -> None:
        """Accept connections (again, on the same port)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    def drop(self) -> None:
        """Reset every open connection now (clients see their streams end without a final byte)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Known to ``cut`` from the start: a connection still being forwarded when the proxy is cut or closed
        # is closed too, never left for the garbage collector (an unclosed transport warns, and the warning
        # fails whichever test runs when it is collected).
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):
            writer.transport.abort()
            self._writers.discard(writer)
            return
        if self._server is None or not self._server.is_serving():
            # Cut while this connection was being forwarded.
            writer.transport.abort()
            up_writer.transport.abort()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)

        # Which side spoke last on this connection: a client write after the server's answer is a new exchange.
        server_spoke_last = [True]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, from_client: bool) -> None:
            try:
                while data := await src.read(65536):
                    if from_client and server_spoke_last[0]:
                        self.round_trips += 1
                    server_spoke_last[0] = not from_client
                    if from_client and data.startswith(_REQUEST_STARTS):
                        self.requests.append(data)
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


@asynccontextmanager
async def dropping_proxy(target_port: int) -> AsyncIterator[TcpProxy]:
    """A proxy to ``127.0.0.1:target_port`` in the running event loop."""
    proxy = TcpProxy("127.0.0.1", target_port)
    await proxy.listen()
    try:
        yield proxy
    finally:
        await proxy.cut()


class ThreadedProxy:
    """A ``TcpProxy`` in its own event loop thread, driven from synchronous code."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.proxy = TcpProxy(target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.proxy.port

    @property
    def round_trips(self) -> int:
        return self.proxy.round_trips

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    async def _cancel_the_rest(self) -> None:
        """Cancel the loop's other tasks (connections being accepted) and wait for them to close their sockets."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        self.proxy.drop()

    def restore(self) -> None:
        self._run(self.proxy.listen())

    def cut(self) -> None:
        self._run(self.proxy.cut())

    def close(self) -> None:
        self.cut()
        self._run(self._cancel_the_rest())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@contextmanager
def outage_proxy(target_host: str, target_port: int) -> Iterator[ThreadedProxy]:
    proxy = ThreadedProxy(target_host, target_port)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.close()
