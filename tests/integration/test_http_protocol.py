"""The API's HTTP protocol (``service.http_protocol``) on a real uvicorn server and real sockets: a response's
head goes out with its body in one socket write, a stream's head does not wait for its first chunk, and
what the client reads is unchanged."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar, get
from litestar.response import Stream

from service.http_protocol import HeadWithBodyProtocol

WRITES: list[bytes] = []


class _CountingTransport:
    """The real transport, with each write it gets recorded."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _CountedProtocol(HeadWithBodyProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CountingTransport(transport))  # type: ignore[arg-type]


@get("/plain")
async def plain() -> dict[str, str]:
    return {"hello": "world"}


@get("/slow-stream")
async def slow_stream() -> Stream:
    async def chunks() -> AsyncIterator[bytes]:
        await asyncio.sleep(1.0)
        yield b"late chunk\n"

    return Stream(chunks(), media_type="text/plain")


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        Litestar([plain, slow_stream]), host="127.0.0.1", port=port, http=_CountedProtocol, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_response_s_head_and_body_go_out_in_one_write(server_url: str) -> None:
    WRITES.clear()
    with httpx.Client() as client:
        response = client.get(f"{server_url}/plain")
    assert response.status_code == 200 and response.json() == {"hello": "world"}
    assert len(WRITES) == 1, WRITES
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK\r\n") and WRITES[0].endswith(b'{"hello":"world"}')


def test_keep_alive_requests_are_one_write_each(server_url: str) -> None:
    WRITES.clear()
    with httpx.Client() as client:
        for _ in range(5):
            assert client.get(f"{server_url}/plain").json() == {"hello": "world"}
    assert len(WRITES) == 5


def test_a_stream_s_head_does_not_wait_for_its_first_chunk(server_url: str) -> None:
    WRITES.clear()
    with httpx.Client(timeout=10) as client:
        started = time.monotonic()
        with client.stream("GET", f"{server_url}/slow-stream") as response:
            # The head arrived although the first chunk comes a second later
            assert response.status_code == 200
            assert time.monotonic() - started < 0.9
            assert b"".join(response.iter_bytes()) == b"late chunk\n"
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK\r\n") and WRITES[0].endswith(b"\r\n\r\n")
