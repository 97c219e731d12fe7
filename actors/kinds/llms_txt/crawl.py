"""Fetching many pages of one site: concurrent, paced by robots.txt, cancellable.

``fetch_pages`` runs a fixed pool of worker tasks that take URLs from one shared iterator, so at most
``concurrency`` requests are in flight (the fetcher's per-host cap applies too) and URLs are started in
order. Each result goes to ``on_page`` as soon as it arrives, so results come in completion order, not URL
order. With a crawl delay, request *starts* are spaced by at least that many seconds across all workers
(at most one request per interval; a slow answer may still overlap the next request).

Stopping: cancelling the task that awaits ``fetch_pages`` cancels every in-flight request at once
(aiohttp closes their connections), and so does an exception raised by ``on_page`` -- which is then
re-raised as is (not wrapped in an ``ExceptionGroup``), so a job's ``JobCancelled`` raised from a
progress callback ends the crawl immediately.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from actors.kinds.llms_txt.bodies import FetchKind
from actors.kinds.llms_txt.fetcher import Fetcher, FetchResult

OnPage = Callable[[FetchResult], Awaitable[None]]


class Pacer:
    """Spaces events at least ``interval`` seconds apart, whoever asks (one pacer per site)."""

    def __init__(self, interval: float) -> None:
        """Args:
        interval: The minimum number of seconds between two starts.
        """
        self.interval = interval
        self._next = 0.0

    async def wait(self) -> None:
        """Return when the next start is allowed; reserves that slot before sleeping."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next)
        # Reserved before the await: concurrent callers get successive slots, never the same one.
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


async def fetch_pages(
    fetcher: Fetcher,
    urls: Iterable[str],
    *,
    on_page: OnPage,
    crawl_delay: float | None = None,
    concurrency: int | None = None,
    kind: FetchKind = "html",
    decode: bool = True,
) -> None:
    """Fetch ``urls`` and await ``on_page(result)`` for each, as results complete.

    Args:
        fetcher: The crawl's fetcher.
        urls: The URLs, taken lazily (a generator is fine; it is read from one task at a time).
        on_page: Awaited with every result, errors included; up to ``concurrency`` calls may interleave at
            their awaits. Raise from it to stop the crawl (the exception propagates unchanged).
        crawl_delay: Seconds between request starts (robots.txt ``Crawl-delay``); None for no pacing. The
            caller decides whether to honour a very long delay or to cap it.
        concurrency: Worker tasks; defaults to the fetcher's ``per_host_concurrency``.
        kind: The fetch kind for every URL.
        decode: False leaves compressed page bodies for ``on_page`` to decode (``Fetcher.fetch``).

    Raises:
        Whatever ``on_page`` raises; ``asyncio.CancelledError`` when cancelled.
    """
    pending = iter(urls)
    pacer = Pacer(crawl_delay) if crawl_delay and crawl_delay > 0 else None

    async def work() -> None:
        for url in pending:
            if pacer is not None:
                await pacer.wait()
            await on_page(await fetcher.fetch(url, kind=kind, decode=decode))

    workers = max(1, concurrency or fetcher.config.per_host_concurrency)
    await run_all([asyncio.create_task(work()) for _ in range(workers)])


async def run_all(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for ``tasks``; when one fails (or this is cancelled), cancel the others and wait for them to end."""
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
