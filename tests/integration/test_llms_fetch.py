"""Site access for llms.txt against real local test sites: fetching, the SSRF guard end to end, robots.txt,
sitemaps, discovery (sitemaps or links) and the page crawl.

The sites are served by a real HTTP server on 127.0.0.1 (``tests/support/testsite``); fetchers use
``allow_private=True`` unless a test proves that private addresses are refused. Nothing leaves 127.0.0.1:
refused addresses are refused before any connection.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from ipaddress import IPv4Address
from pathlib import Path
from urllib.parse import quote

import pytest

from actors.kinds.llms_txt.bodies import GZIP_MAGIC
from actors.kinds.llms_txt.crawl import fetch_pages
from actors.kinds.llms_txt.discovery import discover
from actors.kinds.llms_txt.extract_pool import extract_batch
from actors.kinds.llms_txt.fetcher import DEFAULT_USER_AGENT, FetchConfig, Fetcher, FetchResult
from actors.kinds.llms_txt.netguard import IPAddress
from actors.kinds.llms_txt.robots import load_robots
from actors.kinds.llms_txt.sitemaps import read_sitemaps
from tests.support.testsite.builder import SiteSpec
from tests.support.testsite.serving import RunningSite, ServeSite

# The test-site fixtures (serve_site, acme_site, linked_site), registered for this module only.
pytest_plugins = ("tests.support.testsite.fixtures",)

LOCAL = FetchConfig(allow_private=True)


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(LOCAL) as fetcher:
        yield fetcher


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write(root: Path, files: dict[str, str], manifest: dict[str, object] | None = None) -> SiteSpec:
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if manifest is not None:
        (root / "_site.json").write_text(json.dumps(manifest))
    return SiteSpec(root=root)


HOME = "<!DOCTYPE html><html><head><title>Home</title></head><body><a href='/a/'>A</a></body></html>"


def broken_robots_site(root: Path) -> SiteSpec:
    return _write(root, {"/index.html": HOME}, {"statuses": {"/robots.txt": 500}})


def slow_sitemaps_site(root: Path) -> SiteSpec:
    children = "".join(f"<sitemap><loc>__BASE__/_test/slow?seconds=30&amp;n={i}</loc></sitemap>" for i in range(10))
    return _write(
        root,
        {
            "/index.html": HOME,
            "/robots.txt": "User-agent: *\nDisallow:\n\nSitemap: __BASE__/slow-index.xml\n",
            "/slow-index.xml": f"<sitemapindex>{children}</sitemapindex>",
        },
    )


# --- fetching ---------------------------------------------------------------------------------------


async def test_fetches_a_gzip_encoded_html_page(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await fetcher.fetch(acme_site.base_url)
    assert result.ok, result
    assert (result.status, result.redirects, result.final_url) == (200, 0, acme_site.base_url)
    assert result.content_type.startswith("text/html")
    assert b"<title>Acme Cloud | Acme Cloud</title>" in result.body  # decoded from Content-Encoding: gzip


@pytest.mark.parametrize(
    ("path", "final", "hops"),
    [
        ("/docs/old-quickstart/", "/docs/getting-started/quickstart/", 1),  # 301 to the canonical URL
        ("/blog/legacy/", "/blog/", 2),  # 301 -> 302 chain
        ("/docs/guides", "/docs/guides/", 1),  # directory without its slash
    ],
)
async def test_redirects_are_followed_hop_by_hop(
    fetcher: Fetcher, acme_site: RunningSite, path: str, final: str, hops: int
) -> None:
    result = await fetcher.fetch(acme_site.url(path))
    assert result.ok, result
    assert (result.url, result.final_url, result.redirects, result.status) == (
        acme_site.url(path),
        acme_site.url(final),
        hops,
        200,
    )


async def test_a_redirect_loop_stops_at_max_redirects(acme_site: RunningSite) -> None:
    async with Fetcher(FetchConfig(allow_private=True, max_redirects=3)) as fetcher:
        result = await fetcher.fetch(acme_site.url("/_test/loop/0"))
    assert (result.error, result.redirects, result.status) == ("too_many_redirects", 3, 302)
    assert result.final_url == acme_site.url("/_test/loop/3")


@pytest.mark.parametrize(
    ("path", "cause"),
    [("/blog/2023/deleted-post/", "http_404"), ("/api/flaky/", "http_500"), ("/no/such/page/", "http_404")],
)
async def test_broken_pages_report_their_cause(fetcher: Fetcher, acme_site: RunningSite, path: str, cause: str) -> None:
    result = await fetcher.fetch(acme_site.url(path))
    assert (result.error, result.status, result.body) == (cause, int(cause[5:]), b"")


async def test_a_pdf_is_refused_as_not_html(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await fetcher.fetch(acme_site.url("/files/whitepaper.pdf"))
    assert (result.error, result.status, result.content_type, result.body) == ("not_html", 200, "application/pdf", b"")


async def test_size_caps_apply_before_and_after_decompression(acme_site: RunningSite) -> None:
    async with Fetcher(FetchConfig(allow_private=True, max_page_bytes=8_000)) as fetcher:
        # The gzip-encoded home page is about 5 KB on the wire and 14 KB decoded.
        assert (await fetcher.fetch(acme_site.base_url)).error == "too_large"
    async with Fetcher(FetchConfig(allow_private=True, max_page_bytes=1_000)) as fetcher:
        assert (await fetcher.fetch(acme_site.base_url)).error == "too_large"


async def test_a_page_fetched_undecoded_is_decoded_later_under_the_same_cap(acme_site: RunningSite) -> None:
    # The crawl leaves gzip to its extraction processes: the raw body is capped when read, the decoded
    # one when decoded, with the causes the fetcher gives when it decodes as it reads.
    async with Fetcher(FetchConfig(allow_private=True)) as fetcher:
        raw = await fetcher.fetch(acme_site.base_url, decode=False)
        decoded = await fetcher.fetch(acme_site.base_url)
    assert raw.ok, raw
    assert (raw.encoding, decoded.encoding) == ("gzip", "")
    assert raw.body.startswith(GZIP_MAGIC)
    [(page, size, error)] = await extract_batch(None, [(raw.final_url, raw.body, False, raw.encoding)], False, 10**6)
    assert page is not None and error is None
    assert (page.title, size) == ("Acme Cloud | Acme Cloud", len(decoded.body))
    async with Fetcher(FetchConfig(allow_private=True, max_page_bytes=8_000)) as fetcher:
        # About 5 KB on the wire, 14 KB decoded: read, then refused when decoded.
        capped = await fetcher.fetch(acme_site.base_url, decode=False)
    assert capped.ok, capped
    # The cause code the fetcher gives when it decodes as it reads
    item = (capped.final_url, capped.body, False, capped.encoding)
    assert await extract_batch(None, [item], True, 8_000) == [(None, 0, "too_large")]
    async with Fetcher(FetchConfig(allow_private=True, max_page_bytes=1_000)) as fetcher:
        assert (await fetcher.fetch(acme_site.base_url, decode=False)).error == "too_large"


async def test_a_huge_streamed_page_is_cut_off(fetcher: Fetcher, acme_site: RunningSite) -> None:
    started = time.monotonic()
    result = await fetcher.fetch(acme_site.url("/_test/huge"))  # 100 MB, chunked, no Content-Length
    assert (result.error, result.body) == ("too_large", b"")
    assert time.monotonic() - started < 10


async def test_a_gzip_bomb_sitemap_is_capped(acme_site: RunningSite) -> None:
    async with Fetcher(FetchConfig(allow_private=True, max_sitemap_bytes=10_000_000)) as fetcher:
        result = await fetcher.fetch(acme_site.url("/_test/bomb.xml.gz"), kind="xml")
    assert result.error == "too_large"


async def test_a_gzipped_sitemap_is_decompressed(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await fetcher.fetch(acme_site.url("/sitemaps/blog.xml.gz"), kind="xml")
    assert result.ok, result
    assert result.body.startswith(b"<?xml") and b"<urlset" in result.body


async def test_a_slow_answer_times_out(acme_site: RunningSite) -> None:
    async with Fetcher(FetchConfig(allow_private=True, timeout_seconds=0.5)) as fetcher:
        started = time.monotonic()
        result = await fetcher.fetch(acme_site.url("/_test/slow?seconds=10"))
    assert result.error == "timeout"
    assert time.monotonic() - started < 5


async def test_a_refused_connection_is_a_connection_error(fetcher: Fetcher) -> None:
    result = await fetcher.fetch(f"http://127.0.0.1:{closed_port()}/")
    assert (result.error, result.status) == ("connection", 0)


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/", "http://user:pw@127.0.0.1/", "http://127.0.0.1:99999/", "not a url", ""]
)
async def test_invalid_urls_are_refused(fetcher: Fetcher, url: str) -> None:
    assert (await fetcher.fetch(url)).error == "invalid_url"


async def test_a_redirect_to_another_scheme_is_refused(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await fetcher.fetch(acme_site.url("/_test/redirect?to=" + quote("gopher://127.0.0.1:6379/_INFO")))
    assert (result.error, result.redirects) == ("invalid_url", 1)


# --- the SSRF guard, end to end -------------------------------------------------------------------


async def test_loopback_addresses_are_refused_without_allow_private(acme_site: RunningSite) -> None:
    port = acme_site.base_url.rsplit(":", 1)[1].strip("/")
    async with Fetcher(FetchConfig()) as fetcher:
        for url in [acme_site.base_url, f"http://[::1]:{port}/", f"http://0.0.0.0:{port}/"]:
            result = await fetcher.fetch(url)
            assert (result.error, result.status) == ("blocked_address", 0), url


async def test_a_public_looking_name_resolving_to_loopback_is_refused(acme_site: RunningSite) -> None:
    port = acme_site.base_url.rsplit(":", 1)[1].strip("/")
    async with Fetcher(FetchConfig()) as fetcher:
        result = await fetcher.fetch(f"http://localhost:{port}/")
    assert (result.error, result.status) == ("blocked_address", 0)
    assert "localhost resolves to 127.0.0.1" in result.detail


def only_127_0_0_1(address: IPAddress) -> bool:
    """A test policy: 127.0.0.1 plays the part of the public site; every other address is private."""
    return address == IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://[::1]/", "http://127.0.0.2/"],
)
async def test_a_redirect_from_an_allowed_address_to_a_private_one_is_refused(
    acme_site: RunningSite, target: str
) -> None:
    async with Fetcher(FetchConfig(), address_policy=only_127_0_0_1) as fetcher:
        result = await fetcher.fetch(acme_site.url("/_test/redirect?to=" + quote(target)))
    assert (result.error, result.redirects, result.final_url) == ("blocked_address", 1, target)


async def test_the_same_redirect_to_an_allowed_address_is_followed(acme_site: RunningSite) -> None:
    # The control for the test above: the policy seam lets 127.0.0.1 through, by literal and by name.
    port = acme_site.base_url.rsplit(":", 1)[1].strip("/")
    async with Fetcher(FetchConfig(), address_policy=only_127_0_0_1) as fetcher:
        result = await fetcher.fetch(acme_site.url("/_test/redirect?to=" + quote(f"http://localhost:{port}/about/")))
    assert (result.error, result.redirects, result.status) == (None, 1, 200)


# --- robots.txt -----------------------------------------------------------------------------------


async def test_robots_rules_for_our_user_agent(fetcher: Fetcher, acme_site: RunningSite) -> None:
    rules = await load_robots(fetcher, acme_site.base_url, DEFAULT_USER_AGENT)
    assert (rules.found, rules.error, rules.crawl_delay) == (True, None, None)
    assert rules.sitemaps == [acme_site.url("/sitemap_index.xml")]
    assert not rules.allowed(acme_site.url("/private/roadmap/"))
    assert not rules.allowed(acme_site.url("/drafts/new-pricing/"))  # our group only
    assert rules.allowed(acme_site.url("/docs/"))
    other = await load_robots(fetcher, acme_site.base_url, "OtherBot/1.0")
    assert other.allowed(acme_site.url("/drafts/new-pricing/"))
    slow = await load_robots(fetcher, acme_site.base_url, "SlowBot/2.0")
    assert slow.crawl_delay == 30.0 and not slow.allowed(acme_site.url("/docs/"))


async def test_missing_or_unreadable_robots_allows_everything(
    fetcher: Fetcher, linked_site: RunningSite, serve_site: ServeSite
) -> None:
    missing = await load_robots(fetcher, linked_site.base_url, DEFAULT_USER_AGENT)
    assert (missing.found, missing.error, missing.allowed(linked_site.url("/x"))) == (False, None, True)
    broken = serve_site(broken_robots_site)
    failing = await load_robots(fetcher, broken.base_url, DEFAULT_USER_AGENT)
    assert (failing.found, failing.error, failing.allowed(broken.url("/x"))) == (False, "http_500", True)
    down = await load_robots(fetcher, f"http://127.0.0.1:{closed_port()}/", DEFAULT_USER_AGENT)
    assert (down.found, down.error) == (False, "connection")


# --- sitemaps -------------------------------------------------------------------------------------


def absolute(site: RunningSite, paths: list[str]) -> list[str]:
    return [site.url(p) for p in dict.fromkeys(paths)]


async def test_a_sitemap_index_with_gzip_and_a_nested_index_is_read_in_order(
    fetcher: Fetcher, acme_site: RunningSite
) -> None:
    result = await read_sitemaps(fetcher, [acme_site.url("/sitemap_index.xml")], max_urls=10_000)
    assert result.complete, result.failed
    assert result.sitemaps == absolute(acme_site, acme_site.spec.sitemaps)
    assert acme_site.url(acme_site.spec.gzipped_sitemap or "") in result.sitemaps
    assert result.urls == absolute(acme_site, acme_site.spec.listed)


async def test_max_urls_stops_reading_and_marks_the_list_incomplete(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await read_sitemaps(fetcher, [acme_site.url("/sitemap_index.xml")], max_urls=50)
    assert (len(result.urls), result.complete) == (50, False)
    assert result.urls == absolute(acme_site, acme_site.spec.listed)[:50]


async def test_a_passed_deadline_stops_reading(fetcher: Fetcher, acme_site: RunningSite) -> None:
    result = await read_sitemaps(
        fetcher, [acme_site.url("/sitemap_index.xml")], max_urls=10_000, deadline=time.monotonic() - 1
    )
    assert (result.urls, result.complete) == ([], False)


async def test_a_missing_guessed_sitemap_is_absent_but_a_failing_one_is_not(
    fetcher: Fetcher, acme_site: RunningSite
) -> None:
    guessed = await read_sitemaps(
        fetcher, [acme_site.url("/sitemap.xml"), acme_site.url("/sitemap_index.xml")], max_urls=10_000
    )
    assert (guessed.complete, guessed.failed) == (True, [])
    failing = await read_sitemaps(fetcher, [acme_site.url("/api/flaky/")], max_urls=10_000)
    assert (failing.complete, failing.failed) == (False, [(acme_site.url("/api/flaky/"), "http_500")])
    bomb = await read_sitemaps(fetcher, [acme_site.url("/_test/bomb.xml.gz")], max_urls=10_000)
    assert (bomb.complete, bomb.failed) == (False, [(acme_site.url("/_test/bomb.xml.gz"), "too_large")])


def cross_host_index_site(root: Path) -> SiteSpec:
    index = (
        "<sitemapindex><sitemap><loc>__BASE__/child.xml</loc></sitemap>"
        "<sitemap><loc>http://localhost:9/elsewhere.xml</loc></sitemap></sitemapindex>"
    )
    child = "<urlset><url><loc>__BASE__/a/</loc></url></urlset>"
    return _write(root, {"/index.html": HOME, "/index.xml": index, "/child.xml": child})


async def test_an_index_cannot_send_the_crawler_to_another_host(fetcher: Fetcher, serve_site: ServeSite) -> None:
    site = serve_site(cross_host_index_site)
    result = await read_sitemaps(fetcher, [site.url("/index.xml")], max_urls=100)
    assert (result.sitemaps, result.urls, result.failed) == (
        [site.url("/index.xml"), site.url("/child.xml")],
        [site.url("/a/")],
        [],
    )
    assert result.complete


# --- discovery ------------------------------------------------------------------------------------


async def test_discovery_from_sitemaps_respects_robots_and_counts_what_it_drops(
    fetcher: Fetcher, acme_site: RunningSite
) -> None:
    spec = acme_site.spec
    found = await discover(fetcher, acme_site.base_url, max_urls=10_000, user_agent=DEFAULT_USER_AGENT)
    expected = absolute(acme_site, ["/", *(p for p in spec.listed if p not in spec.disallowed)])
    assert found.urls == expected  # the home page first, then sitemap order
    assert (found.source, found.robots_txt, found.is_complete, found.crawl_delay) == ("sitemaps", True, True, None)
    assert found.disallowed_count == len(spec.disallowed) == 5
    assert found.sitemaps == absolute(acme_site, spec.sitemaps)
    assert not any("/private/" in url or "/drafts/" in url for url in found.urls)


async def test_discovery_applies_include_and_exclude_globs(fetcher: Fetcher, acme_site: RunningSite) -> None:
    docs = await discover(fetcher, acme_site.base_url, max_urls=10_000, include=["/docs/*"])
    assert docs.urls[0] == acme_site.base_url
    assert docs.urls[1:] and all(url.startswith(acme_site.url("/docs/")) for url in docs.urls[1:])
    rest = await discover(fetcher, acme_site.base_url, max_urls=10_000, exclude=["/blog/*", "/api/*"])
    paths = [url.removeprefix(acme_site.base_url.rstrip("/")) for url in rest.urls]
    assert not any(p.startswith(("/blog/", "/api/")) for p in paths)
    assert "/docs/" in paths and "/tags/" in paths


async def test_discovery_stops_at_max_urls(fetcher: Fetcher, acme_site: RunningSite) -> None:
    found = await discover(fetcher, acme_site.base_url, max_urls=25)
    assert (len(found.urls), found.urls[0], found.is_complete) == (25, acme_site.base_url, False)


async def test_a_site_without_sitemap_is_discovered_by_links_to_depth_3(
    fetcher: Fetcher, linked_site: RunningSite
) -> None:
    spec = linked_site.spec
    found = await discover(fetcher, linked_site.base_url, max_urls=10_000)
    within_depth = {linked_site.url(p) for p, depth in spec.depths.items() if depth <= 3}
    assert (found.source, found.robots_txt, found.sitemaps, found.is_complete) == ("links", False, [], True)
    assert found.urls[0] == linked_site.base_url
    assert set(found.urls) == within_depth
    assert len(found.urls) == len(within_depth) == 41
    assert not {linked_site.url(p) for p in spec.unreachable + spec.not_html} & set(found.urls)
    shallow = await discover(fetcher, linked_site.base_url, max_urls=10_000, link_depth=1)
    assert set(shallow.urls) == {linked_site.url(p) for p, depth in spec.depths.items() if depth <= 1}


async def test_the_link_walk_applies_globs_and_max_urls(fetcher: Fetcher, linked_site: RunningSite) -> None:
    no_news = await discover(fetcher, linked_site.base_url, max_urls=10_000, exclude=["/news/*"])
    assert no_news.urls and not any("/news/" in url for url in no_news.urls)
    guide = await discover(fetcher, linked_site.base_url, max_urls=10_000, include=["/guide/*"])
    assert guide.urls[0] == linked_site.base_url
    assert len(guide.urls) == 1 + 1 + 4 + 8  # home, /guide/, its 4 items and their 8 parts
    assert all(url.startswith(linked_site.url("/guide/")) for url in guide.urls[1:])
    capped = await discover(fetcher, linked_site.base_url, max_urls=10)
    assert (len(capped.urls), capped.is_complete) == (10, False)


async def test_discovery_reports_within_its_deadline(fetcher: Fetcher, serve_site: ServeSite) -> None:
    # Given a site whose sitemaps take 30 s each to answer
    site = serve_site(slow_sitemaps_site)
    started = time.monotonic()
    # When the analysis endpoint gives discovery a 2 s budget
    found = await discover(fetcher, site.base_url, max_urls=10_000, deadline=started + 2)
    # Then it answers on time, with what it has, marked incomplete
    assert time.monotonic() - started < 3
    assert (found.robots_txt, found.is_complete, found.urls) == (True, False, [site.base_url])


# --- crawling pages -------------------------------------------------------------------------------


async def test_fetch_pages_reports_every_page_with_its_cause(fetcher: Fetcher, acme_site: RunningSite) -> None:
    found = await discover(fetcher, acme_site.base_url, max_urls=10_000)
    results: list[FetchResult] = []

    async def on_page(result: FetchResult) -> None:
        results.append(result)

    await fetch_pages(fetcher, found.urls, on_page=on_page)
    assert sorted(r.url for r in results) == sorted(found.urls)
    errors = {r.url.removeprefix(acme_site.base_url.rstrip("/")): r.error for r in results if not r.ok}
    assert errors == {
        "/files/whitepaper.pdf": "not_html",
        "/blog/2023/deleted-post/": "http_404",
        "/api/flaky/": "http_500",
    }
    redirected = {r.url: r.final_url for r in results if r.redirects}
    assert redirected == {acme_site.url(p): acme_site.url(final) for p, final in acme_site.spec.redirects.items()}


async def test_fetch_pages_spaces_requests_by_the_crawl_delay(fetcher: Fetcher, acme_site: RunningSite) -> None:
    urls = [acme_site.url(p) for p in acme_site.spec.pages[:6]]
    done: list[float] = []

    async def on_page(result: FetchResult) -> None:
        done.append(time.monotonic())

    started = time.monotonic()
    await fetch_pages(fetcher, urls, on_page=on_page, crawl_delay=0.3)
    assert len(done) == 6
    assert time.monotonic() - started >= 5 * 0.3 - 0.01  # six starts, five intervals


async def test_cancelling_a_crawl_stops_it_at_once(fetcher: Fetcher, acme_site: RunningSite) -> None:
    urls = [acme_site.url(f"/_test/slow?seconds=30&n={i}") for i in range(50)]
    seen: list[FetchResult] = []

    async def on_page(result: FetchResult) -> None:
        seen.append(result)

    crawl = asyncio.create_task(fetch_pages(fetcher, urls, on_page=on_page))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    crawl.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crawl
    assert time.monotonic() - started < 1
    assert seen == []
    # The fetcher is still usable afterwards.
    assert (await fetcher.fetch(acme_site.base_url)).ok


class StopCrawl(Exception):
    pass


async def test_an_error_in_on_page_stops_the_crawl_and_propagates_unwrapped(
    fetcher: Fetcher, acme_site: RunningSite
) -> None:
    calls = 0

    async def on_page(result: FetchResult) -> None:
        nonlocal calls
        calls += 1
        raise StopCrawl(result.url)

    with pytest.raises(StopCrawl):
        await fetch_pages(fetcher, [acme_site.url(p) for p in acme_site.spec.pages], on_page=on_page)
    assert calls <= fetcher.config.per_host_concurrency
