"""The llms.txt kind's API side: ``GET /api/sites/analyze`` (how many pages a site has, found within a 10 s
budget, cached for a few minutes) and the page count a paid generation is priced on.

The web UI analyzes a site, then asks for the price, then starts the job: the price of a paid generation is
computed on the site's URL count, so all three read the same cached analysis (and the site is asked once).

Imported only by the API process (``JobKind.routes`` / ``price_quantity`` name it), so it may use the
service's errors and resources; workers never import it.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import msgspec
import redis
from litestar import Controller, Request, get
from litestar.params import Parameter

from actors.kinds.llms_txt.params import MAX_URLS, LlmsTxtParams
from actors.kinds.llms_txt.settings import LlmsTxtSettings
from actors.kinds.llms_txt.targets import InvalidTarget, parse_target
from service.auth.principal import Principal
from service.errors import BadRequest
from service.resources import Resources, get_resources

KIND = "llms_txt"

log = logging.getLogger("genjobs.sites")
CACHE_SECONDS = 600
BUDGET_SECONDS = 10.0
# Counting stops here: enough to price and plan any generation (at most MAX_URLS pages).
COUNT_LIMIT = 50_000


class SiteAnalysis(msgspec.Struct):
    hostname: str
    base_url: str
    urls_count: int
    is_complete: bool
    sitemaps: list[str]
    robots_txt: bool
    disallowed_count: int
    elapsed_ms: int
    max_urls: int = MAX_URLS


async def analyze_site(res: Resources, hostname: str) -> SiteAnalysis:
    """Read robots.txt and the sitemaps (or follow links) and count the pages; stops after 10 s.

    Raises BadRequest (``invalid_hostname``, ``address_not_allowed``, ``site_unreachable``) for a site that
    cannot be generated.
    """
    crawl: LlmsTxtSettings = res.kind_settings[KIND]
    try:
        base_url = parse_target(hostname, allow_private=crawl.allow_private)
    except InvalidTarget as exc:
        raise BadRequest(str(exc), code="invalid_hostname") from None
    key = f"site-analysis:v1:{base_url}"
    cached = await _cached(res, key)
    if cached is not None:
        return cached
    analysis = await _analyze(res, hostname, base_url)
    try:
        await res.redis.set(key, msgspec.json.encode(analysis), ex=CACHE_SECONDS)
    except redis.RedisError:
        log.warning("could not cache the analysis of %s: Redis unavailable", base_url)
    return analysis


async def _cached(res: Resources, key: str) -> SiteAnalysis | None:
    try:
        raw = await res.redis.get(key)
    except redis.RedisError:
        return None
    return None if raw is None else msgspec.json.decode(raw, type=SiteAnalysis)


async def _analyze(res: Resources, hostname: str, base_url: str) -> SiteAnalysis:
    # The crawler's parts load on the first analysis, not when the API starts.
    from actors.kinds.llms_txt.discovery import discover
    from actors.kinds.llms_txt.fetcher import FetchConfig, Fetcher
    from actors.kinds.llms_txt.reach import reach

    crawl: LlmsTxtSettings = res.kind_settings[KIND]
    started = time.monotonic()
    config = FetchConfig(
        user_agent=crawl.user_agent,
        per_host_concurrency=crawl.concurrency,
        timeout_seconds=min(crawl.timeout_seconds, BUDGET_SECONDS),
        max_page_bytes=crawl.max_page_bytes,
        allow_private=crawl.allow_private,
    )
    async with Fetcher(config) as fetcher:
        base_url, home = await reach(fetcher, hostname, base_url)
        if home.error in {"blocked_address", "invalid_url"}:
            raise BadRequest(
                f"{hostname} is not a public website address ({home.detail or home.error}).",
                code="address_not_allowed",
            )
        if home.error in {"connection", "timeout"}:
            raise BadRequest(f"{hostname} could not be reached ({home.detail or home.error}).", code="site_unreachable")
        found = await discover(fetcher, base_url, max_urls=COUNT_LIMIT, deadline=started + BUDGET_SECONDS)
    return SiteAnalysis(
        hostname=found.base_url.split("://", 1)[1].rstrip("/"),
        base_url=found.base_url,
        urls_count=len(found.urls),
        is_complete=found.is_complete,
        sitemaps=found.sitemaps,
        robots_txt=found.robots_txt,
        disallowed_count=found.disallowed_count,
        elapsed_ms=int((time.monotonic() - started) * 1000),
    )


async def pages_to_price(res: Resources, params: LlmsTxtParams) -> int:
    """A paid generation is priced on the pages the site has (its cached analysis), at most ``max_urls``:
    a 20-page site costs the same whatever cap the user chose."""
    return min((await analyze_site(res, params.target)).urls_count, params.max_urls)


class SitesController(Controller):
    tags = ("sites",)

    @get("/api/sites/analyze", operation_id="analyzeSite")
    async def analyze(
        self,
        request: Request[Principal, Any, Any],
        hostname: Annotated[str, Parameter(min_length=1, max_length=2048)],
    ) -> SiteAnalysis:
        """Read robots.txt and the sitemaps (or follow links) and count the pages; stops after 10 s.

        The answer is cached for 10 minutes (the price of a paid generation is computed from it)."""
        return await analyze_site(get_resources(request.app), hostname)


def routes() -> list[type[Controller]]:
    from actors.kinds.llms_txt.options import ProvidersController

    return [SitesController, ProvidersController]
