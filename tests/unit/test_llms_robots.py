"""robots.txt rules as our crawler reads them: our group first, else ``*``; delays; sitemap lines."""

from __future__ import annotations

from actors.kinds.llms_txt.fetcher import DEFAULT_USER_AGENT
from actors.kinds.llms_txt.robots import RobotsRules

ROBOTS = """
User-agent: *
Disallow: /private/
Crawl-delay: 3

User-agent: genjobs-llms-txt
Disallow: /private/
Disallow: /drafts/
Allow: /drafts/public-*

User-agent: SlowBot
Crawl-delay: 30
Request-rate: 1/60

Sitemap: https://example.com/sitemap_index.xml
Sitemap: /relative-sitemap.xml
Sitemap: https://example.com/sitemap_index.xml
"""


def test_our_user_agent_group_applies_instead_of_the_star_group() -> None:
    rules = RobotsRules.parse(ROBOTS, DEFAULT_USER_AGENT, url="https://example.com/robots.txt")
    assert rules.found
    assert not rules.allowed("https://example.com/private/plans/")
    assert not rules.allowed("https://example.com/drafts/next/")
    assert rules.allowed("https://example.com/drafts/public-preview/")
    assert rules.allowed("https://example.com/docs/")
    # Our group sets no delay: the * group's Crawl-delay does not apply to us.
    assert rules.crawl_delay is None


def test_other_agents_get_their_own_group() -> None:
    star = RobotsRules.parse(ROBOTS, "OtherBot/1.0")
    assert star.allowed("https://example.com/drafts/next/")
    assert not star.allowed("https://example.com/private/")
    assert star.crawl_delay == 3.0
    # Request-rate 1/60 is slower than Crawl-delay 30: the slower one wins.
    assert RobotsRules.parse(ROBOTS, "SlowBot").crawl_delay == 60.0


def test_sitemap_lines_are_absolute_and_unique() -> None:
    rules = RobotsRules.parse(ROBOTS, DEFAULT_USER_AGENT, url="https://example.com/robots.txt")
    assert rules.sitemaps == ["https://example.com/sitemap_index.xml", "https://example.com/relative-sitemap.xml"]


def test_allow_all_allows_everything() -> None:
    rules = RobotsRules.allow_all(DEFAULT_USER_AGENT, error="http_500")
    assert rules.allowed("https://example.com/private/")
    assert (rules.found, rules.error, rules.crawl_delay, rules.sitemaps) == (False, "http_500", None, [])


def test_an_empty_or_garbage_file_allows_everything() -> None:
    for text in ["", "<html><body>Not found</body></html>", "\x00\xff garbage"]:
        rules = RobotsRules.parse(text, DEFAULT_USER_AGENT)
        assert rules.allowed("https://example.com/anything")
