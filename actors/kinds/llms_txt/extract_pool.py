"""Page extraction in other processes, so a crawl uses more than one core.

Extraction (selectolax + html-to-markdown) holds the GIL, so threads do not help; a small process pool
does. Without a crawl delay the pool's processes also fetch their own share of the pages (``shared_fetch``,
through ``run_counted``); what follows is the crawl with a delay, whose process fetches every page.
The crawl's own process extracts pages in place only when the pool already has
`QUEUED_PER_PROCESS` pages per process waiting: fetching, checkpointing and writing the bundle cost that
process about as much CPU as extraction costs the pool, so on a 2-core machine with one pool process the
two are balanced when the pool takes nearly every page. (Measured on the benchmark's manual, 1,176 pages:
with 2 pages queued at most, the crawl's process spent 2.4 s of CPU and the pool 0.55 s, so one core
waited for the other; with 8, 1.5 s each.)

The crawl hands pages over in batches (``extract_batch``, ``batches.PageBatches``): each task of a
``ProcessPoolExecutor`` costs the submitting process two helper threads' work (the queue feeder pickles
it, the manager thread unpickles its result and wakes the event loop), which was about 0.45 ms of CPU a
page when every page was a task (0.53 s for the benchmark's 1,176 pages), besides the GIL hand-overs that
stall the event loop.

The pool is created once per worker process (at worker boot, see ``warm_up``), kept for its jobs
(starting Python processes costs a few hundred milliseconds) and stopped with it (``shut_down``). Its
processes are spawned, never forked from a threaded worker, and are the worker's own children, so none
outlives it. If a pool process dies, pages are extracted in the crawl's own process from then on.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import multiprocessing.util
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from actors.kinds.llms_txt.bodies import BadEncoding, BodyTooLarge, decode_body
from actors.kinds.llms_txt.extract import PageInfo, extract_page
from actors.kinds.llms_txt.settings import LlmsTxtSettings

log = logging.getLogger("genjobs.llms_txt")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_processes = 0
_broken = False
# Pages handed to the pool and not back yet, over every crawl of this worker process.
_queued = 0
QUEUED_PER_PROCESS = 16
T = TypeVar("T")
# One item of a batch: (url, body still in its content encoding, read its outline, the encoding).
BatchItem = tuple[str, bytes, bool, str]
# What became of it: (page, decoded size, None) or (None, 0, cause code).
BatchOutcome = tuple[PageInfo | None, int, str | None]


def extraction_pool(processes: int) -> ProcessPoolExecutor | None:
    """The worker process's extraction pool (None when ``processes`` is 0 or the pool broke)."""
    global _pool, _processes
    if processes <= 0 or _broken:
        return None
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("spawn"),
                # What a pool process runs (fetching included) is imported when it starts, not on the first page.
                initializer=importlib.import_module,
                initargs=("actors.kinds.llms_txt.shared_fetch",),
            )
            _processes = processes
            # Start the processes now rather than on the first page.
            for future in [_pool.submit(abs, 0) for _ in range(processes)]:
                future.result()
        return _pool


def warm_up(settings: LlmsTxtSettings) -> None:
    """Start the pool when the worker boots."""
    extraction_pool(settings.extract_processes)


async def extract_batch(
    pool: ProcessPoolExecutor | None, items: list[BatchItem], links: bool, limit: int
) -> list[BatchOutcome]:
    """``decode_and_extract_batch`` in the pool, or here when there is none (or it broke, or it has enough
    pages queued): one task for all of ``items``."""
    if pool is not None and not _broken and _queued < QUEUED_PER_PROCESS * max(1, _processes):
        try:
            return await run_counted(pool, len(items), decode_and_extract_batch, items, links, limit)
        except BrokenProcessPool:
            pass
    return decode_and_extract_batch(items, links, limit)


async def run_counted(pool: ProcessPoolExecutor, pages: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the pool, counted as ``pages`` queued pages until its answer arrives.

    Raises:
        BrokenProcessPool: A pool process died (the pool is marked broken: ``extraction_pool`` gives None
            from then on, and pages are extracted in the crawl's own process).
    """
    global _broken, _queued
    with _lock:
        _queued += pages
    try:
        future = pool.submit(fn, *args)
    except BrokenProcessPool:
        _release(pages)
    else:
        # Released when the pool's answer arrives (in the pool's manager thread), not when this task next
        # runs: an event loop busy extracting a batch itself would otherwise see the pool as still full, and
        # extract the next batch itself as well.
        future.add_done_callback(lambda _: _release(pages))
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            pass
    if not _broken:
        log.warning("an extraction process died; extracting in the crawl's own process from now on")
        _broken = True
    raise BrokenProcessPool("an extraction process died")


def pool_processes() -> int:
    """The pool's processes (0 when there is none or it broke)."""
    return 0 if _pool is None or _broken else _processes


def _release(pages: int) -> None:
    global _queued
    with _lock:
        _queued -= pages


def decode_and_extract_batch(items: list[BatchItem], links: bool, limit: int) -> list[BatchOutcome]:
    """``decode_and_extract`` for each item; a page that cannot be decoded gets the fetcher's cause code for
    the same failure when it decodes as it reads (``too_large`` or ``connection``)."""
    outcomes: list[BatchOutcome] = []
    for url, body, outline, encoding in items:
        try:
            page, size = decode_and_extract(url, body, outline, links, encoding, limit)
        except BodyTooLarge:
            outcomes.append((None, 0, "too_large"))
        except BadEncoding:
            outcomes.append((None, 0, "connection"))
        else:
            outcomes.append((page, size, None))
    return outcomes


def decode_and_extract(
    url: str, body: bytes, outline: bool, links: bool, encoding: str, limit: int
) -> tuple[PageInfo, int]:
    """A page fetched still compressed (``encoding``, "" for none) decoded under ``limit`` bytes and extracted:
    its `PageInfo` and its decoded size. Decoding here keeps it off the crawl's own process."""
    html = decode_body(body, encoding, limit)
    return extract_page(url, html, outline, links), len(html)


def shut_down() -> None:
    """Stop the pool's processes and wait for them (the worker is stopping)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


# Run by multiprocessing's exit function, before it waits for this process's children (our pool's processes
# among them): also in a Dramatiq worker process, which is a multiprocessing child and runs no ``atexit``
# handlers, and whose "stop at once" (a second SIGTERM) exits without the worker's shutdown hooks. With an
# ``atexit`` handler that process waited for its pool's processes forever.
multiprocessing.util.Finalize(None, shut_down, exitpriority=100)
