"""Sitemaps: ``urlset`` and ``sitemapindex`` XML (plain or gzipped) and the plain-text format.

Parsing is XXE-safe: lxml's ``iterparse`` resolves no entities (a ``SYSTEM`` entity or a "billion laughs"
definition stays an unexpanded reference), loads no DTD and touches no network; element trees are freed
as they are read, so a 50 MB sitemap costs little memory. Elements are matched by local name, so a missing
or wrong namespace is tolerated; ``<loc>`` counts only under ``<url>`` or ``<sitemap>`` (not image or video
extensions).

Reading follows indexes breadth-first to depth 3 (the given sitemaps are depth 1) and at most 200 sitemaps,
fetching up to 4 at a time (each may be 50 MB) but taking their URLs in document order, so results are
deterministic. An index may only send us to sitemaps on its own site (www. ignored), as the protocol says;
the given sitemaps (robots.txt may list another host's) are read wherever they are. Sitemaps over 1 MB are
parsed in a thread, so that the event loop (perhaps the API's) stays responsive.

Reading stops early, with ``complete`` False, when the deadline passes, when ``max_urls`` is exceeded (one
more wanted URL was found: the count is then a lower bound), when a cap is hit, or when a sitemap listed
by an index (or given but failing other than 404/410) cannot be read. A given sitemap
that answers 404/410 or is not a sitemap at all (guessed ``/sitemap.xml`` on a site without one) is simply
absent.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

import msgspec
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from actors.kinds.llms_txt.fetcher import Fetcher
from actors.kinds.llms_txt.urls import same_site

MAX_DEPTH = 3
MAX_SITEMAPS = 200
MAX_LOCS_PER_SITEMAP = 50_000  # the protocol's limit per file
CONCURRENT_SITEMAPS = 4
PARSE_IN_THREAD_BYTES = 1_000_000
_ABSENT = frozenset({"http_404", "http_410"})

SitemapKind = Literal["urlset", "sitemapindex", "text", "other"]


class ParsedSitemap(msgspec.Struct):
    """One sitemap file's content: its kind and its ``<loc>`` values (or text lines) in order."""

    kind: SitemapKind
    locs: list[str]
    truncated: bool = False


class SitemapResult(msgspec.Struct):
    """What reading a set of sitemaps found.

    Attributes:
        urls: Wanted page URLs (as returned by ``accept``), de-duplicated, in sitemap order.
        sitemaps: Sitemaps read and recognised, in reading order.
        complete: Every listed sitemap was read and every wanted URL is in ``urls``.
        failed: Sitemaps that could not be read (URL and cause), for the job's log.
    """

    urls: list[str]
    sitemaps: list[str]
    complete: bool
    failed: list[tuple[str, str]] = msgspec.field(default_factory=list)


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def parse_sitemap(body: bytes, *, max_locs: int = MAX_LOCS_PER_SITEMAP) -> ParsedSitemap:
    """Parse one sitemap document (already decompressed); never raises on malformed input.

    Returns:
        ``urlset``/``sitemapindex`` with their locs; ``text`` for the one-URL-per-line format; ``other``
        (no locs) for anything else, such as an HTML page. Broken XML yields the locs read before the break.
    """
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        lines = (line.strip() for line in head.decode("utf-8", errors="replace").splitlines())
        locs = [line for line in lines if line.startswith(("http://", "https://"))]
        return ParsedSitemap("text" if locs else "other", locs[:max_locs], len(locs) > max_locs)
    kind: SitemapKind = "other"
    locs = []
    truncated = False
    events = etree.iterparse(
        io.BytesIO(head),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=True,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for event, element in events:
            name = _local(element.tag)
            if event == "start":
                if element.getparent() is None:
                    if name not in ("urlset", "sitemapindex"):
                        break
                    kind = "urlset" if name == "urlset" else "sitemapindex"
                continue
            if name == "loc":
                parent = element.getparent()
                text = (element.text or "").strip()
                if text and parent is not None and _local(parent.tag) in ("url", "sitemap"):
                    if len(locs) >= max_locs:
                        truncated = True
                        break
                    locs.append(text)
            elif name in ("url", "sitemap"):
                element.clear()
                # Drop the entries already read: memory stays flat however long the file is.
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.LxmlError:
        pass  # recover=True already salvages what it can; keep the locs read so far
    return ParsedSitemap(kind, locs, truncated)


class _Reader:
    """The state of one ``read_sitemaps`` call."""

    def __init__(self, fetcher: Fetcher, max_urls: int, accept: Callable[[str], str | None]) -> None:
        self.fetcher = fetcher
        self.max_urls = max_urls
        self.accept = accept
        self.urls: dict[str, None] = {}
        self.read: list[str] = []
        self.seen: set[str] = set()
        self.failed: list[tuple[str, str]] = []
        self.complete = True
        self.full = False

    async def load(self, url: str) -> tuple[str | None, ParsedSitemap | None]:
        """(fetch error, parsed sitemap); the body itself is not kept once parsed."""
        result = await self.fetcher.fetch(url, kind="xml")
        if not result.ok:
            return result.error, None
        if len(result.body) > PARSE_IN_THREAD_BYTES:
            # A big sitemap takes up to a second to parse: not on the event loop (it may be the API's).
            return None, await asyncio.to_thread(parse_sitemap, result.body)
        return None, parse_sitemap(result.body)

    def take(self, locs: list[str]) -> None:
        for loc in locs:
            url = self.accept(loc)
            if url is None or url in self.urls:
                continue
            if len(self.urls) >= self.max_urls:
                self.complete, self.full = False, True
                return
            self.urls[url] = None

    def follow(self, index_url: str, locs: list[str]) -> list[str]:
        """The child sitemaps of an index worth reading: new ones on the index's own site (the protocol's
        rule, which also keeps a hostile index from sending the crawler to arbitrary hosts)."""
        children = [loc for loc in locs if loc not in self.seen and same_site(loc, index_url)]
        self.seen.update(locs)
        return children

    async def read_level(self, level: list[str], top: bool) -> list[str]:
        """Read one level of the sitemap tree in document order; returns the child sitemaps it lists.

        At most ``CONCURRENT_SITEMAPS`` are fetched or waiting to be taken at a time, which bounds memory
        however slow the first one is.
        """
        upcoming = iter(level)
        window: deque[tuple[str, asyncio.Task[tuple[str | None, ParsedSitemap | None]]]] = deque()
        children: list[str] = []
        try:
            while True:
                while len(window) < CONCURRENT_SITEMAPS and (url := next(upcoming, None)) is not None:
                    window.append((url, asyncio.create_task(self.load(url))))
                if not window:
                    break
                url, task = window.popleft()
                error, parsed = await task
                if parsed is None or parsed.kind == "other":
                    absent = top and (parsed is not None or error in _ABSENT)
                    if not absent:
                        self.complete = False
                        self.failed.append((url, error or "not_a_sitemap"))
                    continue
                self.read.append(url)
                if parsed.truncated:
                    self.complete = False
                if parsed.kind == "sitemapindex":
                    children.extend(self.follow(url, parsed.locs))
                else:
                    self.take(parsed.locs)
                    if self.full:
                        break
        finally:
            for _, pending in window:
                pending.cancel()
            await asyncio.gather(*(pending for _, pending in window), return_exceptions=True)
        return list(dict.fromkeys(children))


def _keep_http(loc: str) -> str | None:
    return loc if loc.startswith(("http://", "https://")) else None


async def read_sitemaps(
    fetcher: Fetcher,
    sitemap_urls: list[str],
    *,
    max_urls: int,
    deadline: float | None = None,
    accept: Callable[[str], str | None] | None = None,
) -> SitemapResult:
    """Read sitemaps and the sitemaps their indexes list, collecting page URLs.

    Args:
        fetcher: The crawl's fetcher (sitemaps are fetched with ``kind="xml"``; gzip is handled there).
        sitemap_urls: The sitemaps to start from (robots.txt lines, ``/sitemap.xml`` ...).
        max_urls: Keep at most this many URLs; finding one more stops reading with ``complete`` False.
        deadline: A ``time.monotonic()`` value after which reading stops with ``complete`` False.
        accept: Maps a ``<loc>`` to the URL to keep (for example normalized), or None to skip it (another
            site, disallowed, excluded); skipped URLs do not count towards ``max_urls``. By default every
            http(s) loc is kept as written.

    Returns:
        The URLs, the sitemaps read, and whether the list is complete (see the module docstring).
    """
    reader = _Reader(fetcher, max_urls, accept or _keep_http)
    level = list(dict.fromkeys(sitemap_urls))
    reader.seen.update(level)
    timeout = None if deadline is None else asyncio.get_running_loop().time() + (deadline - time.monotonic())
    try:
        async with asyncio.timeout_at(timeout):
            for depth in range(1, MAX_DEPTH + 1):
                budget = MAX_SITEMAPS - len(reader.read) - len(reader.failed)
                if len(level) > budget:
                    level, reader.complete = level[: max(budget, 0)], False
                level = await reader.read_level(level, top=depth == 1)
                if not level or reader.full:
                    break
            else:
                reader.complete = False  # indexes nested deeper than MAX_DEPTH
    except TimeoutError:
        reader.complete = False
    return SitemapResult(list(reader.urls), reader.read, reader.complete, reader.failed)
