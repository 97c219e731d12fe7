"""Fetched pages handed to the extraction pool a batch at a time, while the crawl goes on fetching.

A fetch worker adds its page and takes the next URL at once; a batch goes to the pool when it is full
(``BATCH_PAGES``) and the last, partial one when the crawl ends (``finish``). ``extract_pool.extract_batch``
extracts a batch in the crawl's own process when the pool already has enough pages queued, which blocks
the event loop for that batch: that is the crawl's back-pressure, so nothing piles up in memory.

Without a pool (the crawl's own share when the pool's processes fetch theirs, or no pool at all) a page is
extracted as soon as it is added, and only its record waits for the batch: holding the event loop for one
page at a time rather than for eight lets the other fetches' answers be read and their next requests go out
in between.

A batch's pages go to ``on_records`` together (checkpoint, counts, progress) in the event loop. The first
exception a batch raises (``on_records`` raising ``JobCancelled``, say) is raised again by the next ``add``
and by ``finish``, so it stops the crawl; ``close`` cancels the batches still running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import TracebackType

from actors.kinds.llms_txt.checkpoint import PageRecord
from actors.kinds.llms_txt.extract_pool import BatchItem, BatchOutcome, decode_and_extract_batch, extract_batch
from actors.kinds.llms_txt.fetcher import FetchResult

# Pages per pool task: the pool's per-task cost in the crawl's process (helper threads, pickling, wake-ups)
# is paid once for all of them.
BATCH_PAGES = 8

# Each page's checkpoint record and its decoded size (0 for an error).
OnRecords = Callable[[list[tuple[PageRecord, int]]], None]


def page_record(result: FetchResult, outcome: BatchOutcome | None = None) -> tuple[PageRecord, int]:
    """A fetched page's checkpoint record and decoded size, from its extraction's outcome (none for a failed
    fetch: its error is the record)."""
    if outcome is None:
        return PageRecord(url=result.url, final_url=result.final_url, error=result.error), 0
    page, size, error = outcome
    return PageRecord(url=result.url, final_url=result.final_url, error=error, page=page), size


class PageBatches:
    """Use as ``async with PageBatches(pool, limit, on_records) as batches``; ``add`` each fetched page."""

    def __init__(self, pool: ProcessPoolExecutor | None, limit: int, on_records: OnRecords) -> None:
        """Args:
        pool: The extraction pool (None: extract in this process).
        limit: The most bytes a page may decode to (``FetchConfig.max_page_bytes``).
        on_records: Called with each batch's checkpoint records and decoded sizes (0 for an error).
        """
        self._pool = pool
        self._limit = limit
        self._on_records = on_records
        self._pending: list[tuple[FetchResult, bool]] = []
        # Without a pool: the records of the pages extracted here, not recorded yet.
        self._extracted: list[tuple[PageRecord, int]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._error: BaseException | None = None

    async def __aenter__(self) -> PageBatches:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def add(self, result: FetchResult, outline: bool) -> None:
        """Queue a fetched page (its body may still be encoded), to extract with or without its outline; a full
        batch goes to the pool. A failed fetch goes to ``on_records`` at once, as its error."""
        self._raise_error()
        if not result.ok:
            self._on_records([page_record(result)])
            return
        if self._pool is None:
            # Extracted at once, as it arrives: the event loop is held for one page at a time (about 1.5 ms),
            # not for a batch of them, so the other fetches' answers are read and their next requests sent
            # in between (with 8 pages at once it stopped for 12 ms or more while answers waited unread).
            item = (result.final_url, result.body, outline, result.encoding)
            outcome = decode_and_extract_batch([item], False, self._limit)[0]
            self._extracted.append(page_record(result, outcome))
            if len(self._extracted) >= BATCH_PAGES:
                self._dispatch_extracted()
            return
        self._pending.append((result, outline))
        if len(self._pending) >= BATCH_PAGES:
            self._dispatch()

    async def finish(self) -> None:
        """Extract what is still queued and wait for every batch; raises the first error of any."""
        if self._pending:
            self._dispatch()
        if self._extracted:
            self._dispatch_extracted()
        while self._tasks:
            await asyncio.wait(list(self._tasks))
        self._raise_error()

    async def close(self) -> None:
        """Cancel the batches still running (the crawl stopped)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _dispatch(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dispatch_extracted(self) -> None:
        records, self._extracted = self._extracted, []
        task = asyncio.create_task(self._record(records))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record(self, records: list[tuple[PageRecord, int]]) -> None:
        # In a task, as a batch's records are: an error is raised again by the next ``add`` and by ``finish``.
        try:
            self._on_records(records)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self._error is None:
                self._error = exc

    async def _run(self, batch: list[tuple[FetchResult, bool]]) -> None:
        items: list[BatchItem] = [(r.final_url, r.body, outline, r.encoding) for r, outline in batch]
        try:
            outcomes = await extract_batch(self._pool, items, False, self._limit)
            self._on_records(
                [page_record(result, outcome) for (result, _), outcome in zip(batch, outcomes, strict=True)]
            )
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self._error is None:
                self._error = exc
