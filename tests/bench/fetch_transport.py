"""Crawler fetch throughput: which HTTP client stack fetches static pages fastest at 8 connections.

``python -m tests.bench.fetch_transport [--quick]``. A child process (the test-site server: aiohttp on
uvloop, files held in memory) serves 2,000 static HTML pages of 14 KB on 127.0.0.1; this process fetches
all of them with 8 concurrent tasks, reading every body, through:

- ``httpx``: a plain ``httpx.AsyncClient`` (httpcore), 8 connections;
- ``httpx_aiohttp``: ``httpx.AsyncClient`` over the ``httpx-aiohttp`` transport on an aiohttp session whose
  connector is the crawler's (checked resolver and socket gate: it connects to the address it checked);
- ``aiohttp``: the same aiohttp session used directly;
- ``fetch_pages``: the production path, ``crawl.fetch_pages`` driving our ``Fetcher`` (aiohttp on the
  checked connector, plus the per-hop checks, per-host semaphore, size cap and content-type rules).

Each stack runs on the default asyncio loop and on uvloop; the best of a few rounds is reported in
pages/s. Figures, not pass/fail: the crawl as a whole (with parsing) must later reach 1,000 pages/s on a
2-core machine, so fetching alone should be well above that. Both processes share the 2 cores, so the
figures include the server's cost.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from actors.kinds.llms_txt.connector import make_connector
from actors.kinds.llms_txt.crawl import fetch_pages
from actors.kinds.llms_txt.fetcher import FetchConfig, Fetcher, FetchResult
from actors.kinds.llms_txt.netguard import allow_any_address
from tests.support.testsite.serving import serve

PAGE_BYTES = 14_000
CONCURRENCY = 8

FetchOne = Callable[[str], Awaitable[int]]


def _write_pages(root: Path, count: int) -> None:
    filler = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "</p>\n"
    for i in range(count):
        head = f"<!DOCTYPE html><html><head><title>Page {i}</title></head><body><main><h1>Page {i}</h1>\n"
        body = head
        while len(body) < PAGE_BYTES - 30:
            body += filler
        body = body[: PAGE_BYTES - 25] + "</main></body></html>\n"
        path = root / "p" / f"{i}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


async def _drive(urls: list[str], fetch_one: FetchOne) -> tuple[float, int]:
    """Fetch every URL with CONCURRENCY workers; returns (seconds, bytes)."""
    pending = iter(urls)
    total = 0

    async def worker() -> None:
        nonlocal total
        for url in pending:
            size = await fetch_one(url)  # not `total += await ...`: that reads `total` before awaiting
            total += size

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, total


def _connector() -> aiohttp.TCPConnector:
    # The crawler's connector (checked resolver and socket gate), letting loopback through for the bench.
    return make_connector(allow_any_address, limit_per_host=CONCURRENCY)


async def _with_httpx(urls: list[str]) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def one(url: str) -> int:
            return len((await client.get(url)).content)

        return await _drive(urls, one)


async def _with_httpx_aiohttp(urls: list[str]) -> tuple[float, int]:
    session = aiohttp.ClientSession(connector=_connector())
    async with httpx.AsyncClient(transport=AiohttpTransport(client=session), trust_env=False) as client:

        async def one(url: str) -> int:
            return len((await client.get(url)).content)

        return await _drive(urls, one)


async def _with_aiohttp(urls: list[str]) -> tuple[float, int]:
    async with aiohttp.ClientSession(connector=_connector()) as session:

        async def one(url: str) -> int:
            async with session.get(url) as response:
                return len(await response.read())

        return await _drive(urls, one)


async def _with_fetch_pages(urls: list[str]) -> tuple[float, int]:
    """The production path: ``Fetcher`` driven by ``crawl.fetch_pages`` (its own 8 workers)."""
    total = 0

    async def on_page(result: FetchResult) -> None:
        nonlocal total
        if result.error:
            raise RuntimeError(f"{result.url}: {result.error}")
        total += len(result.body)

    async with Fetcher(FetchConfig(allow_private=True, per_host_concurrency=CONCURRENCY)) as fetcher:
        started = time.perf_counter()
        await fetch_pages(fetcher, urls, on_page=on_page)
        return time.perf_counter() - started, total


STACKS: dict[str, Callable[[list[str]], Awaitable[tuple[float, int]]]] = {
    "httpx": _with_httpx,
    "httpx_aiohttp": _with_httpx_aiohttp,
    "aiohttp": _with_aiohttp,
    "fetch_pages": _with_fetch_pages,
}


def _run_loop(loop_name: str, coro: Awaitable[tuple[float, int]]) -> tuple[float, int]:
    if loop_name == "uvloop":
        import uvloop

        return uvloop.run(coro)  # type: ignore[arg-type]
    return asyncio.run(coro)  # type: ignore[arg-type]


def run(quick: bool) -> dict[str, Any]:
    """Serve the pages, fetch them through every stack and loop; returns the figures (pages/s)."""
    pages = 300 if quick else 2000
    rounds = 1 if quick else 3
    figures: dict[str, Any] = {"pages": pages, "page_bytes": PAGE_BYTES, "concurrency": CONCURRENCY}
    with tempfile.TemporaryDirectory() as tmp:
        _write_pages(Path(tmp), pages)
        with serve(Path(tmp)) as base:
            urls = [f"{base}/p/{i}.html" for i in range(pages)]
            _run_loop("asyncio", _with_aiohttp(urls[:100]))  # warm the server up
            for loop_name in ("asyncio", "uvloop"):
                for name, stack in STACKS.items():
                    best = 0.0
                    for _ in range(rounds):
                        seconds, size = _run_loop(loop_name, stack(urls))
                        if size < pages * PAGE_BYTES * 0.95:
                            raise RuntimeError(f"{name}: only {size} bytes read")
                        best = max(best, pages / seconds)
                    figures[f"{name}.{loop_name}_pages_per_s"] = round(best)
                    print(f"{name:>14} on {loop_name:<7}: {best:8.0f} pages/s", flush=True)
    return figures


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
