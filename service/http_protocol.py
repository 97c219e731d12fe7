"""uvicorn's httptools protocol, with a response's head and the start of its body in one socket write.

uvicorn writes a response's status line and headers when the app sends ``http.response.start`` and the body
when it sends ``http.response.body``: two ``send`` calls, two TCP segments, for every response. On this
machine each write to a loopback socket costs about as much CPU as the rest of a ``GET /api/me`` in Python
(profiled with cProfile: 0.19 ms a write under the profiler, the largest single cost of a request). Here the
head waits for the next write of its connection, or for the end of the current turn of the event loop,
whichever comes first, and goes out with it: an ordinary response (head and whole body sent in one task
step) is one write; a stream (SSE) sends its head with its first chunk, or alone when that chunk is not
ready within the turn. Later writes go straight to the socket, as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_START = b"HTTP/1."
_HEAD_END = b"\r\n\r\n"


class _HeadWithBody:
    """A transport whose writes of a response head are held until the next write or the next loop turn."""

    __slots__ = ("_head", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif type(data) is bytes and data.startswith(_HEAD_START) and data.endswith(_HEAD_END):
            self._head = data
            self._loop.call_soon(self._flush)
            return
        self._transport.write(data)

    def _flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._head or b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeadWithBodyProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` writing through ``_HeadWithBody`` (pass as uvicorn's ``http``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Flow control and the addresses were taken from the real transport; the writes go through the wrapper.
        self.transport = _HeadWithBody(transport, self.loop)  # type: ignore[assignment]
