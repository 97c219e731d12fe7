"""A crawl whose extraction process fetches its own share of the URLs (``shared_fetch``), against a real local
site, a real spawned process pool and the real extraction: every URL ends as exactly one record, both
processes fetch, the per-host cap holds across them, the pages are the ones a crawl in one process extracts,
and the URLs of pool processes that died are fetched by the crawl's own process; with two pool processes they fetch
every URL and the crawl's process none.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from actors.kinds.llms_txt import extract_pool
from actors.kinds.llms_txt.batches import OnRecords, PageBatches
from actors.kinds.llms_txt.checkpoint import PageRecord
from actors.kinds.llms_txt.crawl import fetch_pages
from actors.kinds.llms_txt.fetcher import FetchConfig, Fetcher, FetchResult
from actors.kinds.llms_txt.shared_fetch import MIN_CHUNK_PAGES, fetch_shared, helper_share
from tests.support.testsite.builder import SiteSpec, build_site
from tests.support.testsite.recording import RecordingSite

CONCURRENCY = 4


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[RecordingSite, SiteSpec]]:
    """The 300-page site, each answer 20 ms late (so requests overlap and the in-flight count means something)."""
    spec = build_site(tmp_path, pages=300)
    recording = RecordingSite(tmp_path, delay=0.02)
    await recording.start()
    yield recording, spec
    await recording.stop()


def _spawned_pool(monkeypatch: pytest.MonkeyPatch, processes: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of spawned processes, as the worker makes it; the module's broken flag restored."""
    monkeypatch.setattr(extract_pool, "_broken", False)
    executor = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"))
    for future in [executor.submit(abs, 0) for _ in range(processes)]:
        future.result()
    yield executor
    executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessPoolExecutor]:
    """A pool of one process."""
    yield from _spawned_pool(monkeypatch, 1)


@pytest.fixture
def pool_of_two(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProcessPoolExecutor]:
    """A pool of two processes (the default on 2 cores)."""
    yield from _spawned_pool(monkeypatch, 2)


def _urls(site: RecordingSite, spec: SiteSpec) -> list[str]:
    """Every page, redirect, broken page and non-HTML file of the site."""
    paths = [*spec.pages, *spec.redirects, *spec.broken, *spec.not_html]
    return [site.url(path) for path in paths]


async def _shared_crawl(
    site: RecordingSite, spec: SiteSpec, pool: ProcessPoolExecutor, processes: int = 1
) -> tuple[list[PageRecord], list[PageRecord]]:
    """(records of the pages fetched here, records of the pages the pool process fetched)."""
    config = FetchConfig(allow_private=True, per_host_concurrency=CONCURRENCY)
    here: list[PageRecord] = []
    there: list[PageRecord] = []
    sample = set(_urls(site, spec)[:3])
    keep_here: OnRecords = lambda records: here.extend(r for r, _ in records)  # noqa: E731
    async with Fetcher(config) as fetcher, PageBatches(None, config.max_page_bytes, keep_here) as local:
        await fetch_shared(
            fetcher,
            pool,
            processes,
            _urls(site, spec),
            outline=sample.__contains__,
            local=local,
            on_records=lambda records: there.extend(r for r, _ in records),
        )
        await local.finish()
    return here, there


async def _one_process_crawl(site: RecordingSite, spec: SiteSpec) -> dict[str, PageRecord]:
    config = FetchConfig(allow_private=True, per_host_concurrency=CONCURRENCY)
    records: dict[str, PageRecord] = {}
    sample = set(_urls(site, spec)[:3])
    keep: OnRecords = lambda batch: records.update((r.url, r) for r, _ in batch)  # noqa: E731
    async with Fetcher(config) as fetcher, PageBatches(None, config.max_page_bytes, keep) as batches:

        async def on_page(result: FetchResult) -> None:
            batches.add(result, result.url in sample)

        await fetch_pages(fetcher, _urls(site, spec), on_page=on_page, decode=False)
        await batches.finish()
    return records


def test_the_cap_is_shared_out_among_the_pool_processes() -> None:
    # One pool process: it and the crawl's process get half each.
    assert helper_share(8, 1) == (1, 4)
    assert helper_share(2, 1) == (1, 1)
    # Two or more: the pool processes get all of it, the crawl's process what an uneven split leaves.
    assert helper_share(8, 2) == (2, 4)
    assert helper_share(8, 3) == (3, 2)
    assert helper_share(2, 4) == (2, 1)
    # No room for a second process.
    assert helper_share(1, 2) == (0, 0)
    assert helper_share(8, 0) == (0, 0)


async def test_both_processes_fetch_every_url_once_within_the_cap(
    site: tuple[RecordingSite, SiteSpec], pool: ProcessPoolExecutor
) -> None:
    recording, spec = site
    here, there = await _shared_crawl(recording, spec, pool)
    urls = _urls(recording, spec)
    assert sorted(r.url for r in here + there) == sorted(urls)
    # The pool process took chunks, the crawl's process URLs one at a time: both did some.
    assert len(there) >= MIN_CHUNK_PAGES
    assert here
    # Nothing was fetched twice (a redirect's target is requested once more, by the redirect).
    requests = Counter(recording.paths())
    targets = set(spec.redirects.values())
    assert all(requests[path] == 1 for path in spec.pages if path not in targets)
    assert recording.most_in_flight <= CONCURRENCY


async def test_the_pool_process_extracts_what_one_process_extracts(
    site: tuple[RecordingSite, SiteSpec], pool: ProcessPoolExecutor
) -> None:
    recording, spec = site
    here, there = await _shared_crawl(recording, spec, pool)
    alone = await _one_process_crawl(recording, spec)
    shared = {r.url: r for r in here + there}
    assert shared.keys() == alone.keys()
    for url, record in shared.items():
        assert record == alone[url], url
    # Errors (the site's broken pages) come back as their cause, from either side.
    assert any(r.error for r in there + here)
    assert any(r.page is not None and r.page.outline is not None for r in shared.values())


# With two pool processes the crawl's process has no share of its own: it fetches what they left.
@pytest.mark.parametrize("processes", [1, 2])
async def test_the_urls_of_dead_pool_processes_are_fetched_here(
    site: tuple[RecordingSite, SiteSpec], monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    recording, spec = site
    with contextmanager(_spawned_pool)(monkeypatch, processes) as pool:
        for process in list(getattr(pool, "_processes", {}).values()):
            os.kill(process.pid, signal.SIGKILL)
        here, there = await _shared_crawl(recording, spec, pool, processes=processes)
    assert there == []
    assert sorted(r.url for r in here) == sorted(_urls(recording, spec))
    assert extract_pool._broken


async def test_two_pool_processes_fetch_every_url_once_and_the_crawl_process_none(
    site: tuple[RecordingSite, SiteSpec], pool_of_two: ProcessPoolExecutor
) -> None:
    recording, spec = site
    here, there = await _shared_crawl(recording, spec, pool_of_two, processes=2)
    # The cap (4) divides evenly between the two: the crawl's process keeps only the bookkeeping.
    assert here == []
    assert sorted(r.url for r in there) == sorted(_urls(recording, spec))
    requests = Counter(recording.paths())
    targets = set(spec.redirects.values())
    assert all(requests[path] == 1 for path in spec.pages if path not in targets)
    assert recording.most_in_flight <= CONCURRENCY
    # Both pool processes took part: with 2 requests each in flight, one alone could not reach 3.
    assert recording.most_in_flight > CONCURRENCY // 2
