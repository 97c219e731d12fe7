"""A crawl whose extraction processes fetch the URLs themselves, so the crawl's process is not the one that
fetches every page.

With a pool, the crawl's process used to fetch every page and hand the bodies over: on the benchmark's manual
it spent about twice the CPU of the pool process (fetching, handing over, checkpointing, and extracting the
batches the pool had no room for), so one core waited for the other. Here each pool process takes a chunk
of ``CHUNK_PAGES`` URLs at a time, fetches them over a client of its own and extracts them where they
arrived; only the extracted pages come back.

Who fetches (``helper_share``): with one pool process the crawl's process fetches and extracts too, with half
of the concurrency, from the same list, so whichever side is faster takes more of it. (Giving the pool
process 6 of 8 did not shift the pages its way: the crawl's process still fetched about half of them.) With
two or more, the pool processes share all of it and the crawl's process fetches only what an uneven split
leaves over: its own work for every page (checkpoint, bundle, progress) is about half of what a pool process
spends on its pages, and the system balances three busy processes over two cores better than any fixed
split. (On the benchmark's manual on 2 cores, with 2 pool processes, the crawl's process spent 0.6-0.9 s of
CPU and the pool 2.0-2.7 s, against 1.3-1.5 s and 1.5-1.8 s when the crawl's process kept its half; the
ratio to the peer's pages/s was 0.86-1.28 in eleven runs (median 1.13), against 0.92-1.19 in six (median
1.06), and 0.81-1.11 (median 0.95) with one pool process.) Not used with a crawl delay (one pacer must see
every request start), nor without a pool. The per-host cap holds across the processes.

A pool process keeps one event loop and one ``Fetcher`` (its connections) for a crawl's chunks, and opens a
new one when a chunk of another crawl arrives. If a pool process dies, the URLs of its chunk are fetched in
the crawl's own process.
"""

from __future__ import annotations

import asyncio
import atexit
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from actors.kinds.llms_txt.batches import OnRecords, PageBatches, page_record
from actors.kinds.llms_txt.checkpoint import PageRecord
from actors.kinds.llms_txt.crawl import fetch_pages, run_all
from actors.kinds.llms_txt.extract_pool import decode_and_extract_batch, run_counted
from actors.kinds.llms_txt.fetcher import FetchConfig, Fetcher, FetchResult

# URLs a pool process takes at a time: small enough that the sides finish together, large enough that the
# hand-over (pickling, the pool's helper threads, a wake-up of the crawl's event loop) is paid rarely. A chunk
# is fetched and extracted in one go, and the process waits at its start for the first answers and at its end
# for the last ones (chunks of 48 did not do better than 16 on the benchmark's manual). Near the end chunks get
# smaller (at most an eighth of what is left per pool process).
CHUNK_PAGES = 16
MIN_CHUNK_PAGES = 4
TAIL_PARTS = 8
# Chunks given to each pool process at once: the next one is already there when it finishes one, even while
# the crawl's event loop is busy extracting a batch of its own.
CHUNKS_AHEAD = 2


def helper_share(concurrency: int, processes: int) -> tuple[int, int]:
    """(pool processes that fetch, requests each has in flight) for a crawl of ``concurrency``; the crawl's
    process has the rest. One pool process: it and the crawl's process get an equal part. Two or more: they
    get an equal part each, of all of it when it divides evenly."""
    if processes >= 2 and concurrency >= 2:
        helpers = min(processes, concurrency)
        return helpers, concurrency // helpers
    helpers = max(0, min(processes, concurrency - 1))
    return helpers, concurrency // (helpers + 1) if helpers else 0


async def fetch_shared(
    fetcher: Fetcher,
    pool: ProcessPoolExecutor,
    processes: int,
    urls: Sequence[str],
    *,
    outline: Callable[[str], bool],
    local: PageBatches,
    on_records: OnRecords,
) -> None:
    """Fetch and extract ``urls``: the pool's processes a chunk at a time, this process one URL at a time.

    Args:
        fetcher: This process's fetcher (its config is the pool processes' too).
        pool: The extraction pool, with ``processes`` processes.
        urls: The URLs (taken by both sides as they go).
        outline: Whether a URL's page has its link outline read.
        local: Where the pages fetched here go (extracted in this process, a batch at a time).
        on_records: Called with each chunk's checkpoint records (as ``PageBatches`` does with its batches).
    """
    config = fetcher.config
    helpers, share = helper_share(config.per_host_concurrency, processes)
    pending = deque(urls)  # the URLs no side has taken yet
    returned: deque[str] = deque()  # the URLs of a chunk whose process died
    crawl = uuid.uuid4().hex

    async def here() -> None:
        while returned or pending:
            url = returned.popleft() if returned else pending.popleft()
            local.add(await fetcher.fetch(url, decode=False), outline(url))

    async def there() -> None:
        while pending:
            size = min(CHUNK_PAGES, max(MIN_CHUNK_PAGES, len(pending) // (TAIL_PARTS * helpers)))
            chunk = [pending.popleft() for _ in range(min(size, len(pending)))]
            items = [(url, outline(url)) for url in chunk]
            try:
                records = await run_counted(pool, len(items), fetch_and_extract_chunk, crawl, config, items, share)
            except BrokenProcessPool:
                returned.extend(chunk)
                return
            on_records(records)

    tasks = [asyncio.create_task(here()) for _ in range(config.per_host_concurrency - helpers * share)]
    tasks += [asyncio.create_task(there()) for _ in range(helpers * CHUNKS_AHEAD)]
    await run_all(tasks)
    if returned or pending:
        # A pool process died after this process's own fetch tasks had run out of URLs (or it has none).

        async def add(result: FetchResult) -> None:
            local.add(result, outline(result.url))

        await fetch_pages(fetcher, [*returned, *pending], on_page=add, decode=False)


# ---- in a pool process ----

_loop: asyncio.AbstractEventLoop | None = None
# The crawl the open fetcher serves, and the fetcher.
_open: tuple[str, Fetcher] | None = None


def fetch_and_extract_chunk(
    crawl: str, config: FetchConfig, items: list[tuple[str, bool]], concurrency: int
) -> list[tuple[PageRecord, int]]:
    """Fetch and extract a chunk of a crawl's URLs (url, read its outline) in a pool process: each page's
    checkpoint record and decoded size."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        atexit.register(_close)
    return _loop.run_until_complete(_chunk(crawl, config, items, concurrency))


async def _chunk(
    crawl: str, config: FetchConfig, items: list[tuple[str, bool]], concurrency: int
) -> list[tuple[PageRecord, int]]:
    global _open
    if _open is None or _open[0] != crawl:
        if _open is not None:
            await _open[1].aclose()
        _open = None
        _open = (crawl, await Fetcher(config).__aenter__())
    outlines = dict(items)
    records: list[tuple[PageRecord, int]] = []

    async def extract(result: FetchResult) -> None:
        if not result.ok:
            records.append(page_record(result))
            return
        item = (result.final_url, result.body, outlines[result.url], result.encoding)
        records.append(page_record(result, decode_and_extract_batch([item], False, config.max_page_bytes)[0]))

    await fetch_pages(_open[1], outlines, on_page=extract, concurrency=concurrency, decode=False)
    return records


def _close() -> None:
    if _loop is not None and _open is not None:
        _loop.run_until_complete(_open[1].aclose())
