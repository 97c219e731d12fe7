"""Page extraction in other processes, so a crawl uses more than one core.

Extraction (selectolax + html-to-markdown) holds the GIL, so threads do not help; a small process pool
does. The crawl's own process extracts a page in place only when the pool already has
`QUEUED_PER_PROCESS` pages per process waiting: fetching, checkpointing and writing the bundle cost that
process about as much CPU as extraction costs the pool, so on a 2-core machine with one pool process the
two are balanced when the pool takes nearly every page. (Measured on the benchmark's manual, 1,176 pages:
with 2 pages queued at most, the crawl's process spent 2.4 s of CPU and the pool 0.55 s, so one core
waited for the other; with 8, 1.5 s each.)

The pool is created once per worker process (at worker boot, see ``warm_up``), kept for its jobs
(starting Python processes costs a few hundred milliseconds) and stopped with it (``shut_down``). Its
processes are spawned, never forked from a threaded worker, and are the worker's own children, so none
outlives it. If a pool process dies, pages are extracted in the crawl's own process from then on.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from actors.kinds.llms_txt.bodies import decode_body
from actors.kinds.llms_txt.extract import PageInfo, extract_page
from actors.kinds.llms_txt.settings import LlmsTxtSettings

log = logging.getLogger("genjobs.llms_txt")
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_processes = 0
_broken = False
# Pages handed to the pool and not back yet, over every crawl of this worker process.
_queued = 0
QUEUED_PER_PROCESS = 8


def extraction_pool(processes: int) -> ProcessPoolExecutor | None:
    """The worker process's extraction pool (None when ``processes`` is 0 or the pool broke)."""
    global _pool, _processes
    if processes <= 0 or _broken:
        return None
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))
            _processes = processes
            # Start the processes now rather than on the first page.
            for future in [_pool.submit(abs, 0) for _ in range(processes)]:
                future.result()
        return _pool


def warm_up(settings: LlmsTxtSettings) -> None:
    """Start the pool when the worker boots."""
    extraction_pool(settings.extract_processes)


async def extract(
    pool: ProcessPoolExecutor | None,
    url: str,
    body: bytes,
    outline: bool = False,
    links: bool = True,
    encoding: str = "",
    limit: int = 0,
) -> tuple[PageInfo, int]:
    """``decode_and_extract`` in the pool, or here when there is none (or it broke, or it has enough queued).

    Raises:
        BodyTooLarge, BadEncoding: from ``bodies.decode_body``.
    """
    global _broken, _queued
    if pool is not None and not _broken and _queued < QUEUED_PER_PROCESS * max(1, _processes):
        with _lock:
            _queued += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(pool, decode_and_extract, url, body, outline, links, encoding, limit)
        except BrokenProcessPool:
            log.warning("an extraction process died; extracting in the crawl's own process from now on")
            _broken = True
        finally:
            with _lock:
                _queued -= 1
    return decode_and_extract(url, body, outline, links, encoding, limit)


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


atexit.register(shut_down)
