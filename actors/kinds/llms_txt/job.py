"""The llms_txt job: discover -> fetch -> describe -> assemble, with progress, cancellation and a checkpoint.

Runs in a Dramatiq worker thread with its own event loop (one crawl per job). Progress reports go through
the job context, which also stops the crawl (``JobCancelled``) when the job is cancelled.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from actors.context import JobContext
from actors.errors import PermanentJobError
from actors.kinds.llms_txt.assemble import SiteInfo, build_llms_full, build_llms_txt
from actors.kinds.llms_txt.checkpoint import Checkpoint, PageRecord
from actors.kinds.llms_txt.config import MAX_CRAWL_DELAY_SECONDS, LlmsTxtConfig
from actors.kinds.llms_txt.crawl import fetch_pages
from actors.kinds.llms_txt.discovery import Discovery, discover
from actors.kinds.llms_txt.extract import PageInfo, site_name_from_titles, strip_site_name
from actors.kinds.llms_txt.extract_pool import extract, extraction_pool
from actors.kinds.llms_txt.fetcher import Fetcher, FetchResult
from actors.kinds.llms_txt.output import write_outputs
from actors.kinds.llms_txt.params import LlmsTxtParams
from actors.kinds.llms_txt.providers import make_describer
from actors.kinds.llms_txt.providers.base import ProviderError
from actors.kinds.llms_txt.reach import reach
from actors.kinds.llms_txt.sections import DescribedPage
from actors.kinds.llms_txt.targets import InvalidTarget, parse_target

# Time allowed for discovery, so a huge sitemap tree cannot eat the job's whole time limit.
DISCOVERY_BUDGET_SECONDS = 120.0


def run_llms_txt(ctx: JobContext, params: LlmsTxtParams) -> dict[str, Any]:
    """The kind's handler (a Dramatiq worker thread)."""
    config = LlmsTxtConfig.from_settings(ctx.settings)
    try:
        base_url = parse_target(params.target, allow_private=config.fetch.allow_private)
    except InvalidTarget as exc:
        raise PermanentJobError(str(exc)) from None
    return asyncio.run(Generation(ctx, params, config, base_url).run())


class Generation:
    def __init__(self, ctx: JobContext, params: LlmsTxtParams, config: LlmsTxtConfig, base_url: str) -> None:
        self.ctx = ctx
        self.params = params
        self.config = config
        self.base_url = base_url
        self.folder = Path(config.artifacts_dir) / str(ctx.job_id)
        self.checkpoint = Checkpoint(self.folder / "checkpoint")
        self.pages: dict[str, PageInfo] = {}
        self.errors: Counter[str] = Counter()
        self.done = 0
        self.bytes = 0
        self.resumed = 0

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            async with Fetcher(self.config.fetch) as fetcher:
                discovery = await self._discover(fetcher)
                await self._fetch(fetcher, discovery)
        finally:
            self.checkpoint.close()
        if not self.pages:
            causes = ", ".join(f"{n} {cause}" for cause, n in self.errors.most_common()) or "no pages found"
            raise PermanentJobError(f"No page of {self.base_url} could be read ({causes}).")
        return await self._describe_and_assemble(discovery, started)

    async def _discover(self, fetcher: Fetcher) -> Discovery:
        stored = self.checkpoint.load_discovery()
        if stored is not None:
            self.base_url = stored.base_url
            return stored
        self.ctx.progress(0, None, "discover")
        self.base_url, _home = await reach(fetcher, self.params.target, self.base_url)
        discovery = await discover(
            fetcher,
            self.base_url,
            max_urls=self.params.max_urls,
            include=self.params.include_paths,
            exclude=self.params.exclude_paths,
            deadline=time.monotonic() + DISCOVERY_BUDGET_SECONDS,
        )
        self.checkpoint.save_discovery(discovery)
        return discovery

    async def _fetch(self, fetcher: Fetcher, discovery: Discovery) -> None:
        total = len(discovery.urls)
        seen: set[str] = set()
        for record in self.checkpoint.records():
            if record.url not in seen:
                seen.add(record.url)
                self._count(record)
        self.resumed = len(seen)
        self.ctx.progress(self.done, total, "fetch")
        delay = min(discovery.crawl_delay, MAX_CRAWL_DELAY_SECONDS) if discovery.crawl_delay else None
        pool = extraction_pool(self.config.extract_processes)

        async def on_page(result: FetchResult) -> None:
            record = PageRecord(url=result.url, final_url=result.final_url, error=result.error)
            if result.ok:
                self.bytes += len(result.body)
                record.page = await extract(pool, result.final_url, result.body)
            self.checkpoint.append(record)
            self._count(record)
            self.ctx.progress(self.done, total, "fetch")

        await fetch_pages(fetcher, (u for u in discovery.urls if u not in seen), on_page=on_page, crawl_delay=delay)
        self.ctx.progress(self.done, total, "fetch")

    def _count(self, record: PageRecord) -> None:
        self.done += 1
        if record.page is not None:
            # Two URLs redirecting to one page are one page.
            self.pages.setdefault(record.page.url, record.page)
        else:
            self.errors[record.error or "unknown"] += 1

    async def _describe_and_assemble(self, discovery: Discovery, started: float) -> dict[str, Any]:
        pages = list(self.pages.values())
        total = len(pages)
        self.ctx.progress(0, total, "describe")

        def on_batch(done: int, of: int) -> None:
            self.ctx.progress(done, of, "describe")

        async with httpx.AsyncClient() as client:
            try:
                describer = make_describer(self.params.provider, client, self.config.ollama, self.config.gemini)
            except ProviderError as exc:
                raise PermanentJobError(f"The {self.params.provider} provider is not available: {exc}") from None
            described = await describer.describe(pages, on_batch=on_batch)
            site_name = site_name_from_titles(p.title for p in pages) or urlsplit(self.base_url).hostname or ""
            summary = await describer.summarize(site_name, pages)
        self.ctx.progress(0, 1, "assemble")
        final = [
            DescribedPage(
                url=p.url,
                title=strip_site_name(p.title, site_name) or p.title,
                description=described.descriptions.get(p.url) or "",
                markdown=p.markdown,
            )
            for p in pages
        ]
        site = SiteInfo(name=site_name, base_url=self.base_url, summary=summary)
        llms_txt = build_llms_txt(site, final)
        llms_full = build_llms_full(site, final) if self.params.full_text else None
        artifacts = await asyncio.to_thread(write_outputs, self.folder, llms_txt, llms_full, final)
        self.ctx.progress(1, 1, "assemble")
        return {
            "hostname": urlsplit(self.base_url).netloc,
            "base_url": self.base_url,
            "pages": len(final),
            "urls_discovered": len(discovery.urls),
            "discovery_source": discovery.source,
            "discovery_complete": discovery.is_complete,
            "skipped_by_robots": discovery.disallowed_count,
            "errors": dict(self.errors),
            "bytes": self.bytes,
            "sections": [line[3:] for line in llms_txt.splitlines() if line.startswith("## ")],
            "provider": self.params.provider,
            "provider_fallbacks": described.fallbacks,
            "provider_errors": described.errors,
            "resumed_pages": self.resumed,
            "seconds": round(time.monotonic() - started, 2),
            "artifacts": [
                {"name": a.name, "bytes": a.bytes, "url": f"/api/jobs/{self.ctx.job_id}/artifacts/{a.name}"}
                for a in artifacts
            ],
        }
