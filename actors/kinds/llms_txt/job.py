"""The llms_txt job: discover -> fetch -> describe -> assemble, with progress, cancellation and a checkpoint.

Runs in a Dramatiq worker thread with its own event loop (one crawl per job). Progress reports go through
the job context, which also stops the crawl (``JobCancelled``) when the job is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from actors.context import JobContext
from actors.errors import PermanentJobError
from actors.kinds.llms_txt.assemble import SiteInfo, render_llms_txt
from actors.kinds.llms_txt.batches import PageBatches
from actors.kinds.llms_txt.checkpoint import Checkpoint, PageRecord
from actors.kinds.llms_txt.config import MAX_CRAWL_DELAY_SECONDS, LlmsTxtConfig
from actors.kinds.llms_txt.crawl import fetch_pages
from actors.kinds.llms_txt.discovery import Discovery, discover
from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.extract_pool import extraction_pool, pool_processes
from actors.kinds.llms_txt.fetcher import Fetcher, FetchResult
from actors.kinds.llms_txt.full_text import discard as discard_full_text
from actors.kinds.llms_txt.full_text import write_full_text
from actors.kinds.llms_txt.navigation import navigation, outline_sample
from actors.kinds.llms_txt.output import LLMS_FULL_TXT, Bundle, write_outputs
from actors.kinds.llms_txt.params import LlmsTxtParams
from actors.kinds.llms_txt.providers import make_describer
from actors.kinds.llms_txt.providers.base import ProviderError
from actors.kinds.llms_txt.reach import reach
from actors.kinds.llms_txt.sections import DescribedPage
from actors.kinds.llms_txt.shared_fetch import fetch_shared, helper_share
from actors.kinds.llms_txt.siteinfo import home_summary, site_name
from actors.kinds.llms_txt.sizes import estimate_tokens, split_notice
from actors.kinds.llms_txt.structure import build_structure
from actors.kinds.llms_txt.targets import InvalidTarget, parse_target
from actors.kinds.llms_txt.titles import strip_site_name
from actors.kinds.llms_txt.urls import normalize
from actors.outbound import tls_context

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
        # Page URL -> position of its URL in the discovery list: the order of pages no structure places.
        self.order: dict[str, int] = {}
        self.home: FetchResult | None = None
        self.bundle = Bundle(self.folder)
        self.errors: Counter[str] = Counter()
        self.done = 0
        self.bytes = 0
        self.resumed = 0
        # A retry that found the discovery checkpointed: the pages already there count as resumed.
        self.resuming = False

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
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
        except BaseException:
            await asyncio.to_thread(self.bundle.discard)
            await asyncio.to_thread(discard_full_text, self.folder)
            raise

    async def _discover(self, fetcher: Fetcher) -> Discovery:
        stored = self.checkpoint.load_discovery()
        if stored is not None:
            self.resuming = True
            self.base_url = stored.base_url
            return stored
        self.ctx.progress(0, None, "discover")
        # The home page's answer is kept: it is the first page of the crawl, not fetched a second time.
        self.base_url, self.home = await reach(fetcher, self.params.target, self.base_url)
        pool = extraction_pool(self.config.extract_processes)

        def keep(records: list[tuple[PageRecord, int]]) -> None:
            self.checkpoint.append_all([record for record, _ in records])
            self.bytes += sum(size for _, size in records)

        async with PageBatches(pool, self.config.fetch.max_page_bytes, keep) as batches:

            async def keep_walked(result: FetchResult) -> None:
                # A page the link walk fetched is extracted and checkpointed (a batch at a time): ``_fetch``
                # reads it back from the checkpoint (as after a retry) instead of fetching it again. Its
                # position is known only once discovery is over, so it is counted there.
                batches.add(result, outline=True)
                self.ctx.check_cancelled()

            discovery = await discover(
                fetcher,
                self.base_url,
                max_urls=self.params.max_urls,
                include=self.params.include_paths,
                exclude=self.params.exclude_paths,
                deadline=time.monotonic() + DISCOVERY_BUDGET_SECONDS,
                home_page=self.home,
                on_walked=keep_walked,
            )
            await batches.finish()
        self.checkpoint.save_discovery(discovery)
        return discovery

    async def _fetch(self, fetcher: Fetcher, discovery: Discovery) -> None:
        total = len(discovery.urls)
        position = {url: i for i, url in enumerate(discovery.urls)}
        sampled = set(outline_sample(discovery.urls))
        seen: set[str] = set()
        for record in self.checkpoint.records():
            # Only the discovered URLs: the link walk also fetches pages that the include globs leave out.
            if record.url not in seen and record.url in position:
                seen.add(record.url)
                if record.page is not None and record.url not in sampled:
                    # The walk read every page's outline (the sample was not known yet); the structure
                    # reads the same sample as on the sitemap path.
                    record.page.outline = None
                self._count(record, position[record.url])
        self.resumed = len(seen) if self.resuming else 0
        self.ctx.progress(self.done, total, "fetch")
        delay = min(discovery.crawl_delay, MAX_CRAWL_DELAY_SECONDS) if discovery.crawl_delay else None
        pool = extraction_pool(self.config.extract_processes)

        def on_records(records: list[tuple[PageRecord, int]]) -> None:
            self.checkpoint.append_all([record for record, _ in records])
            for record, size in records:
                self.bytes += size
                self._count(record, position.get(record.url, total))
            self.ctx.progress(self.done, total, "fetch")

        # Without a crawl delay the pool's processes fetch their own share of the pages, and the pages fetched
        # here are extracted here; with one, every page is fetched here (one pacer) and extracted in the pool.
        processes = pool_processes() if pool is not None and delay is None else 0
        processes, _ = helper_share(self.config.fetch.per_host_concurrency, processes)
        async with PageBatches(None if processes else pool, self.config.fetch.max_page_bytes, on_records) as batches:

            async def on_page(result: FetchResult) -> None:
                batches.add(result, outline=result.url in sampled)

            home = self.home
            first = discovery.urls[0] if discovery.urls else None
            if home is not None and first is not None and first not in seen and normalize(home.url) == first:
                seen.add(first)
                await on_page(home)
            # Pages come still compressed: they are decoded where they are extracted.
            pending = [u for u in discovery.urls if u not in seen]
            if pool is not None and processes:
                await fetch_shared(
                    fetcher,
                    pool,
                    processes,
                    pending,
                    outline=sampled.__contains__,
                    local=batches,
                    on_records=on_records,
                )
            else:
                await fetch_pages(fetcher, pending, on_page=on_page, crawl_delay=delay, decode=False)
            await batches.finish()
        self.ctx.progress(self.done, total, "fetch")

    def _count(self, record: PageRecord, position: int) -> None:
        self.done += 1
        if record.page is not None:
            # Two URLs redirecting to one page are one page; it keeps the earlier position.
            if record.page.url not in self.pages:
                self.pages[record.page.url] = record.page
                self.bundle.add_page(record.page.url, record.page.title, record.page.markdown)
            self.order[record.page.url] = min(position, self.order.get(record.page.url, position))
        else:
            self.errors[record.error or "unknown"] += 1

    async def _describe_and_assemble(self, discovery: Discovery, started: float) -> dict[str, Any]:
        pages = sorted(self.pages.values(), key=lambda p: self.order.get(p.url, len(self.order)))
        total = len(pages)
        home = self._home_page(discovery, pages)
        self.ctx.progress(0, total, "describe")

        def on_batch(done: int, of: int) -> None:
            self.ctx.progress(done, of, "describe")

        # The extractive provider calls nothing: no client.
        client_context = (
            httpx.AsyncClient(verify=tls_context())
            if self.params.provider != "extractive"
            else contextlib.nullcontext()
        )
        async with client_context as client:
            try:
                describer = make_describer(self.params.provider, client, self.config.ollama, self.config.gemini)
            except ProviderError as exc:
                raise PermanentJobError(f"The {self.params.provider} provider is not available: {exc}") from None
            described = await describer.describe(pages, on_batch=on_batch)
            name = site_name(home, (p.title for p in pages), self.base_url)
            summary = await describer.summarize(name, pages, home) if home is not None else home_summary(None)
        self.ctx.progress(0, 1, "assemble")
        final = [
            DescribedPage(
                url=p.url,
                title=strip_site_name(p.title, name) or p.title,
                description=described.descriptions.get(p.url) or "",
                markdown=p.markdown,
            )
            for p in pages
        ]
        structure = build_structure(final, self.base_url, navigation(home, pages))
        site = SiteInfo(name=name, base_url=self.base_url, summary=summary)
        full = None
        if self.params.full_text:
            # Streamed to disk page by page (and compressed into the bundle meanwhile), before the notice
            # below joins the header (llms.txt's only).
            stream = self.bundle.stream(LLMS_FULL_TXT)
            full = await asyncio.to_thread(
                write_full_text,
                self.folder,
                site,
                structure.sections,
                self.params.split_full_bytes,
                stream.write,
                stream.end_segment,
            )
            stream.close()
            if full.split:
                site.details = split_notice(full.bytes, [part.filename for part in full.sections])
        llms_txt = render_llms_txt(site, structure.sections)
        artifacts = await asyncio.to_thread(write_outputs, self.folder, self.bundle, llms_txt, full)
        self.ctx.progress(1, 1, "assemble")
        section_tokens = {part.name: part.tokens for part in full.sections} if full is not None else {}
        return {
            "hostname": urlsplit(self.base_url).netloc,
            "base_url": self.base_url,
            "site_name": name,
            "home_url": home.url if home is not None else None,
            "pages": len(final),
            "urls_discovered": len(discovery.urls),
            "discovery_source": discovery.source,
            "discovery_complete": discovery.is_complete,
            "structure_source": structure.source,
            "skipped_by_robots": discovery.disallowed_count,
            "errors": dict(self.errors),
            "bytes": self.bytes,
            "sections": [section.name for section in structure.sections],
            "section_pages": {section.name: len(section.pages) for section in structure.sections},
            "tokens": {
                "llms_txt": estimate_tokens(llms_txt),
                "llms_full_txt": full.tokens if full is not None else None,
                "sections": section_tokens,
            },
            "llms_full_split": bool(full is not None and full.split),
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

    def _home_page(self, discovery: Discovery, pages: list[PageInfo]) -> PageInfo | None:
        """The page the site's root answered with (after redirects), if it was read."""
        if not discovery.urls or discovery.urls[0] != normalize(self.base_url):
            return None  # robots.txt keeps us off the home page
        return next((page for page in pages if self.order.get(page.url) == 0), None)
