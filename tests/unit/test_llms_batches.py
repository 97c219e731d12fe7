"""Fetched pages extracted a batch at a time: every page comes back once, errors as cause codes, and an error
raised while recording a batch stops the crawl."""

from __future__ import annotations

import gzip

import pytest

from actors.kinds.llms_txt.batches import BATCH_PAGES, PageBatches
from actors.kinds.llms_txt.checkpoint import PageRecord
from actors.kinds.llms_txt.fetcher import FetchResult


def _page(i: int, encoding: str = "gzip") -> FetchResult:
    html = f"<html><head><title>Page {i}</title></head><body><main><p>Text of page {i}.</p></main></body></html>"
    body = gzip.compress(html.encode()) if encoding == "gzip" else html.encode()
    url = f"https://docs.example.com/p{i}"
    return FetchResult(url, url, 200, "text/html", body, encoding=encoding)


async def test_every_page_comes_back_once_in_batches() -> None:
    # Given pages fetched still gzipped, one of them corrupt and one not compressed at all
    pages = [_page(i) for i in range(2 * BATCH_PAGES + 3)]
    pages[5] = FetchResult(pages[5].url, pages[5].url, 200, "text/html", b"\x1f\x8bnot gzip", encoding="gzip")
    pages[6] = _page(6, encoding="")
    batches: list[list[tuple[PageRecord, int]]] = []
    # When they are added one by one and the crawl finishes (no pool: extracted in this process)
    async with PageBatches(None, 1_000_000, batches.append) as extraction:
        for page in pages:
            extraction.add(page, outline=False)
        await extraction.finish()
    # Then full batches went together and the rest at the end
    assert [len(batch) for batch in batches] == [BATCH_PAGES, BATCH_PAGES, 3]
    records = {record.url: (record, size) for batch in batches for record, size in batch}
    assert len(records) == len(pages)
    # and each page is extracted, or has the fetcher's cause code for data it could not decode
    assert records[pages[5].url][0].error == "connection" and records[pages[5].url][0].page is None
    for page in pages[:5] + pages[6:]:
        record, size = records[page.url]
        assert record.error is None and record.page is not None
        assert record.page.title == f"Page {page.url.rsplit('p', 1)[1]}" and size > 0


async def test_a_page_over_the_cap_once_decoded_is_too_large() -> None:
    found: list[tuple[PageRecord, int]] = []
    async with PageBatches(None, 50, found.extend) as extraction:
        extraction.add(_page(1), outline=False)
        await extraction.finish()
    assert [(record.error, size) for record, size in found] == [("too_large", 0)]


async def test_an_error_while_recording_stops_the_crawl() -> None:
    # Given a recorder that fails (as a cancelled job's progress report does)
    def fail(records: list[tuple[PageRecord, int]]) -> None:
        raise RuntimeError("job cancelled")

    async with PageBatches(None, 1_000_000, fail) as extraction:
        for i in range(BATCH_PAGES):
            extraction.add(_page(i), outline=False)
        # When the first batch has been recorded (and failed)
        with pytest.raises(RuntimeError, match="job cancelled"):
            await extraction.finish()
        # Then the next page added raises it too: the fetch workers stop
        with pytest.raises(RuntimeError, match="job cancelled"):
            extraction.add(_page(99), outline=False)


async def test_a_failed_fetch_is_recorded_at_once() -> None:
    found: list[tuple[PageRecord, int]] = []
    async with PageBatches(None, 1_000_000, found.extend) as extraction:
        extraction.add(
            FetchResult("https://docs.example.com/gone", "https://docs.example.com/gone", 404, error="http_404"), False
        )
        # Before the crawl ends: nothing waits for a batch to fill
        assert [(record.url, record.error, size) for record, size in found] == [
            ("https://docs.example.com/gone", "http_404", 0)
        ]
        await extraction.finish()
    assert len(found) == 1
