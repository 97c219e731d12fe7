"""Which pages a site has: robots.txt, then sitemaps, else links followed from the home page.

1. robots.txt (``robots.load_robots``) for the rules, the crawl delay and declared sitemaps.
2. The declared sitemaps plus ``/sitemap.xml`` and ``/sitemap_index.xml`` (``sitemaps.read_sitemaps``).
3. Only when the sitemaps yield no wanted URL at all (none, empty, or unreadable): a breadth-first walk of
   same-site ``<a href>`` links from the home page, to ``link_depth`` (the home page is depth 0; pages up
   to depth ``link_depth - 1`` are fetched for their links, so URLs up to ``link_depth`` are found).
   Links to files that are never pages (``.pdf``, ``.png`` ...) are left out of the walk; sitemap URLs
   are kept as listed.

Every URL is normalized (``urls.normalize``) and de-duplicated, must be on the same site (``www.`` ignored)
and allowed by robots.txt (the others are counted in ``disallowed_count``), and must pass the
include/exclude globs. The home page always comes first when robots.txt allows it, globs or not: the
llms.txt title and summary come from it. In the link walk, pages outside ``include`` are still walked
through (the home page rarely matches ``/docs/*`` but links to it); excluded ones are not.

Fetching each page once: a job passes the home page it has already fetched (``home_page``) and an
``on_walked`` hook that gets every page the link walk fetched, so it keeps them instead of fetching them
again (the site analysis passes neither).

``is_complete`` is False when reading stopped early: the deadline passed, ``max_urls`` was exceeded (one
more wanted URL existed, so ``len(urls)`` is a lower bound), a sitemap cap was hit or a listed sitemap
failed. For ``GET /api/sites/analyze``: ``discover(..., max_urls=<plan limit>, deadline=time.monotonic() +
10)`` returns within about 10 s (plus at most one request's cleanup) with ``len(urls)`` and ``is_complete``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import msgspec

from actors.kinds.llms_txt.crawl import OnPage, fetch_pages
from actors.kinds.llms_txt.fetcher import Fetcher, FetchResult
from actors.kinds.llms_txt.links import extract_links, looks_like_page
from actors.kinds.llms_txt.robots import RobotsRules, load_robots
from actors.kinds.llms_txt.sitemaps import read_sitemaps
from actors.kinds.llms_txt.urls import matches_globs, normalize, same_site

__all__ = ["Discovery", "discover", "fetch_pages"]

DiscoverySource = Literal["sitemaps", "links", "home"]


class Discovery(msgspec.Struct):
    """The pages found on a site, and how.

    Attributes:
        base_url: The site's base URL, as given.
        urls: Normalized, unique, same-site, robots-allowed, glob-filtered page URLs; the home page first;
            at most ``max_urls``.
        sitemaps: Sitemaps that were read.
        robots_txt: A robots.txt was found and read.
        disallowed_count: Distinct same-site URLs left out because robots.txt disallows them.
        is_complete: Nothing was cut short (see the module docstring); else ``len(urls)`` is a lower bound.
        crawl_delay: The delay robots.txt asks of us, in seconds, or None.
        source: Where the URLs came from: ``sitemaps``, ``links`` (the link walk) or ``home`` (nothing else).
    """

    base_url: str
    urls: list[str]
    sitemaps: list[str]
    robots_txt: bool
    disallowed_count: int
    is_complete: bool
    crawl_delay: float | None
    source: DiscoverySource = "home"


class _Full(Exception):
    """The link walk has found more than ``max_urls`` wanted URLs."""


class _Collector:
    """Filters candidate URLs and keeps the wanted ones, in order."""

    def __init__(
        self, base_url: str, robots: RobotsRules, include: Sequence[str], exclude: Sequence[str], max_urls: int
    ) -> None:
        self.base_url = base_url
        self.robots = robots
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.max_urls = max_urls
        self.seen: set[str] = set()
        self.urls: list[str] = []
        self.disallowed = 0

    def candidate(self, raw: str) -> str | None:
        """The normalized URL when it is new, on this site and allowed by robots.txt; else None."""
        url = normalize(raw)
        if url is None or url in self.seen:
            return None
        self.seen.add(url)
        if not same_site(url, self.base_url):
            return None
        if not self.robots.allowed(url):
            self.disallowed += 1
            return None
        return url

    def wanted(self, url: str) -> bool:
        return matches_globs(urlsplit(url).path, self.include, self.exclude)

    def walkable(self, url: str) -> bool:
        return looks_like_page(url) and matches_globs(urlsplit(url).path, (), self.exclude)

    def sitemap_accept(self, raw: str) -> str | None:
        url = self.candidate(raw)
        return url if url is not None and self.wanted(url) else None

    def keep(self, url: str) -> None:
        """Keep a wanted URL; raises ``_Full`` when there is no room left for it."""
        if len(self.urls) >= self.max_urls:
            raise _Full
        self.urls.append(url)


def _timeout_at(deadline: float | None) -> float | None:
    return None if deadline is None else asyncio.get_running_loop().time() + (deadline - time.monotonic())


def _link_collector(collector: _Collector, found: list[str], on_walked: OnPage | None) -> OnPage:
    """An ``on_page`` callback that keeps a page's wanted links and lists the walkable ones in ``found``."""

    async def on_page(result: FetchResult) -> None:
        if on_walked is not None:
            await on_walked(result)
        if not result.ok or not same_site(result.final_url, collector.base_url):
            return
        for link in extract_links(result.body, result.final_url):
            url = collector.candidate(link)
            if url is None or not looks_like_page(url):
                continue
            if collector.wanted(url):
                collector.keep(url)
            if collector.walkable(url):
                found.append(url)

    return on_page


@dataclass(frozen=True)
class _Walk:
    """How the link walk runs: its depth, pacing, and what it reuses and reports (see ``discover``)."""

    link_depth: int
    crawl_delay: float | None
    home_page: FetchResult | None
    on_walked: OnPage | None


async def _walk_links(fetcher: Fetcher, home: str, collector: _Collector, walk: _Walk) -> None:
    """Breadth-first walk from the home page; raises ``_Full`` when ``max_urls`` is exceeded."""
    frontier = [home]
    for _ in range(walk.link_depth):
        found: list[str] = []
        on_page = _link_collector(collector, found, walk.on_walked)
        if walk.home_page is not None and frontier == [home]:
            # The caller fetched the home page already: its links are read without asking for it again.
            await on_page(walk.home_page)
        else:
            await fetch_pages(fetcher, frontier, on_page=on_page, crawl_delay=walk.crawl_delay)
        if not found:
            return
        frontier = found


async def discover(
    fetcher: Fetcher,
    base_url: str,
    *,
    max_urls: int,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    deadline: float | None = None,
    user_agent: str | None = None,
    link_depth: int = 3,
    home_page: FetchResult | None = None,
    on_walked: OnPage | None = None,
) -> Discovery:
    """Find the pages of the site at ``base_url`` (see the module docstring for the rules).

    Args:
        fetcher: The crawl's fetcher.
        base_url: The site's base URL, as from ``targets.parse_target``.
        max_urls: The most URLs to return (the home page included).
        include: Path globs a page must match (none: every page); see ``urls.matches_globs``.
        exclude: Path globs that drop a page (and stop the link walk there).
        deadline: A ``time.monotonic()`` value: stop looking then, with ``is_complete`` False.
        user_agent: The user agent robots.txt rules are matched for; the fetcher's by default.
        link_depth: How many links deep the walk goes when there is no sitemap.
        home_page: The home page's fetch result when the caller has it (``reach``): the walk starts from
            it instead of fetching the home page again. Used only when its URL is the home page's.
        on_walked: Awaited with every page the link walk fetches (errors included), before its links are
            read, so a job can keep the page rather than fetch it again.

    Returns:
        The discovery; never raises for network or HTTP problems.
    """
    agent = user_agent or fetcher.config.user_agent
    out_of_time = False
    try:
        async with asyncio.timeout_at(_timeout_at(deadline)):
            robots = await load_robots(fetcher, base_url, agent)
    except TimeoutError:
        robots = RobotsRules.allow_all(agent, url=urljoin(base_url, "/robots.txt"), error="timeout")
        out_of_time = True
    collector = _Collector(base_url, robots, include, exclude, max(max_urls, 0))
    home = normalize(base_url) or base_url
    if collector.candidate(home) is not None and max_urls > 0:
        collector.keep(home)
    result = Discovery(base_url, collector.urls, [], robots.found, 0, not out_of_time, robots.crawl_delay, "home")
    if out_of_time:
        result.disallowed_count = collector.disallowed
        return result

    declared = [*robots.sitemaps, urljoin(base_url, "/sitemap.xml"), urljoin(base_url, "/sitemap_index.xml")]
    sitemaps = await read_sitemaps(
        fetcher,
        declared,
        max_urls=max(max_urls - len(collector.urls), 0),
        deadline=deadline,
        accept=collector.sitemap_accept,
    )
    collector.urls.extend(sitemaps.urls)
    result.sitemaps, result.is_complete = sitemaps.sitemaps, sitemaps.complete
    if sitemaps.urls:
        result.source = "sitemaps"
    elif collector.urls == [home]:
        # No sitemap, an empty one, or one that failed: the links are all there is. The walk's own
        # completeness is what counts then.
        if home_page is not None and normalize(home_page.url) != home:
            home_page = None
        walk = _Walk(link_depth, robots.crawl_delay, home_page, on_walked)
        result.is_complete = await _walk(fetcher, home, collector, walk, deadline)
        result.source = "links" if len(collector.urls) > 1 else "home"
    result.disallowed_count = collector.disallowed
    return result


async def _walk(fetcher: Fetcher, home: str, collector: _Collector, walk: _Walk, deadline: float | None) -> bool:
    """Run the link walk under the deadline; returns whether it ran to its end."""
    try:
        async with asyncio.timeout_at(_timeout_at(deadline)):
            await _walk_links(fetcher, home, collector, walk)
    except (_Full, TimeoutError):
        return False
    return True
