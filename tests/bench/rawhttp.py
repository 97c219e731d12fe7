"""A minimal HTTP/1.1 client on asyncio streams, light enough for thousands of connections on 2 cores.

httpx costs far more CPU per connection and per request than the server under test does, which would
measure the client. This speaks just what the benchmarks need: keep-alive requests with a
``Content-Length`` or chunked response, and server-sent events read from a chunked response.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

HEAD_LIMIT = 64 * 1024


class HttpError(Exception):
    """The server answered something this client cannot read."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class SseEvent:
    event: str | None
    id: str | None
    data: bytes
    comment: bool


def encode_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status code and lower-cased headers of a response."""
    raw = await reader.readuntil(b"\r\n\r\n")
    if len(raw) > HEAD_LIMIT:
        raise HttpError("response head too large")
    status_line, *header_lines = raw[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; b"" for the last one."""
    size_line = await reader.readline()
    if not size_line:
        raise asyncio.IncompleteReadError(b"", None)
    size = int(size_line.split(b";", 1)[0], 16)
    if size == 0:
        await reader.readline()  # trailer section end
        return b""
    data = await reader.readexactly(size + 2)
    return data[:-2]


async def read_response(reader: asyncio.StreamReader) -> Response:
    status, headers = await read_head(reader)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while chunk := await read_chunk(reader):
            parts.append(chunk)
        body = b"".join(parts)
    else:
        raise HttpError("response without Content-Length or chunked encoding")
    return Response(status, headers, body)


class SseReader:
    """Server-sent events from a chunked response body (the head already read)."""

    __slots__ = ("_buffer", "_reader")

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = b""

    async def next_event(self) -> SseEvent | None:
        """The next event or comment; None when the server ended the stream."""
        while True:
            end, sep_len = _event_end(self._buffer)
            if end >= 0:
                block, self._buffer = self._buffer[:end], self._buffer[end + sep_len :]
                return _parse_event(block)
            chunk = await read_chunk(self._reader)
            if not chunk:
                return None
            self._buffer += chunk


def _event_end(buffer: bytes) -> tuple[int, int]:
    crlf = buffer.find(b"\r\n\r\n")
    if crlf >= 0:
        return crlf, 4
    return buffer.find(b"\n\n"), 2


def _parse_event(block: bytes) -> SseEvent:
    event = event_id = None
    data: list[bytes] = []
    comment = False
    for line in block.replace(b"\r\n", b"\n").split(b"\n"):
        if line.startswith(b":"):
            comment = True
            continue
        name, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if name == b"data":
            data.append(value)
        elif name == b"event":
            event = value.decode()
        elif name == b"id":
            event_id = value.decode()
    return SseEvent(event, event_id, b"\n".join(data), comment and not data and event is None)


class Connection:
    """One keep-alive connection sending requests one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> Response:
        self.writer.write(encode_request(method, path, self.host, headers, body))
        return await read_response(self.reader)

    async def open_sse(self, path: str, headers: dict[str, str]) -> tuple[int, SseReader]:
        """Send a GET for an event stream; returns the status and a reader of its events."""
        self.writer.write(encode_request("GET", path, self.host, {"Accept": "text/event-stream", **headers}))
        status, _ = await read_head(self.reader)
        return status, SseReader(self.reader)

    def close(self) -> None:
        # abort(): no FIN handshake to wait for, which matters when closing thousands at once.
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()
