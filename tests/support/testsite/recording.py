"""A test site served in the test's own event loop that records every request and can answer slowly.

``server.py`` runs in a child process and keeps no access log; tests of cancellation and crash recovery
need both a slow crawl (so there is time to act mid-fetch) and a record of which paths were requested (so
a resumed crawl can be shown not to fetch pages again). ``RecordingSite`` serves the same files and routes
(``server.Site`` and ``server.make_app``) behind a small middleware that logs the request and then waits
``delay`` seconds. It lives in the test's loop, like the fake providers: wait with ``await``, not
``time.sleep``, while a worker crawls it.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.support.testsite.server import Site, make_app

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Hit:
    """One request as the server received it (before any delay)."""

    at: float  # time.monotonic()
    path: str
    query: str
    user_agent: str


@dataclass
class RecordingSite:
    """A started site: ``base_url`` (``http://127.0.0.1:<port>/``), ``hits`` in arrival order, ``delay``, and the
    most requests it was answering at once (``most_in_flight``)."""

    root: Path
    delay: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    base_url: str = ""
    in_flight: int = 0
    most_in_flight: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def paths(self, since: int = 0) -> list[str]:
        """The paths requested from hit number ``since`` on."""
        return [hit.path for hit in self.hits[since:]]

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # Site() reads every file and builds its fault bodies: not in the event loop.
        site = await asyncio.to_thread(Site, self.root, base)
        app = make_app(site)
        app.middlewares.append(self._record)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, backlog=1024).start()
        self.base_url = base + "/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.hits.append(
            Hit(time.monotonic(), request.path, request.query_string, request.headers.get("User-Agent", ""))
        )
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await handler(request)
        finally:
            self.in_flight -= 1
