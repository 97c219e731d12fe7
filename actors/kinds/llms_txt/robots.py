"""robots.txt: what the site lets our user agent fetch, how slowly, and which sitemaps it declares.

Rules are matched with protego against our user agent (``FetchConfig.user_agent``): the site's group for
``genjobs-llms-txt`` applies when there is one, else the ``*`` group. When robots.txt is missing (4xx) or
cannot be read (5xx, timeout, refused), everything is allowed and ``found`` is False; ``error`` keeps the
cause. Like Google, only the first 500 KiB are read.
"""

from __future__ import annotations

from urllib.parse import urljoin

from protego import Protego

from actors.kinds.llms_txt.fetcher import Fetcher

MAX_ROBOTS_BYTES = 500 * 1024


class RobotsRules:
    """The robots.txt rules for one site and one user agent.

    Attributes:
        found: A robots.txt was read (a 2xx answer).
        crawl_delay: Seconds between requests the site asks of us (``Crawl-delay``, or ``Request-rate``
            as seconds per request, whichever is slower), None when it asks nothing.
        sitemaps: Absolute URLs of the ``Sitemap:`` lines, in file order, without duplicates.
        url: The robots.txt URL.
        error: Why it could not be read (a fetch cause code), None when read or simply absent.
    """

    def __init__(
        self,
        parser: Protego | None,
        user_agent: str,
        *,
        url: str = "",
        found: bool = False,
        error: str | None = None,
    ) -> None:
        """Args:
        parser: The parsed file, None to allow everything.
        user_agent: Our user agent, as sent.
        url: Where the file was read (sitemap lines are resolved against it).
        found: Whether a file was read.
        error: The fetch cause code when reading failed for another reason than absence.
        """
        self._parser = parser
        self._agent = user_agent
        self.url = url
        self.found = found
        self.error = error
        self.crawl_delay = _delay(parser, user_agent) if parser else None
        sitemaps = [urljoin(url, line.strip()) for line in parser.sitemaps] if parser else []
        self.sitemaps = list(dict.fromkeys(s for s in sitemaps if s.startswith(("http://", "https://"))))

    @classmethod
    def allow_all(cls, user_agent: str = "*", *, url: str = "", error: str | None = None) -> RobotsRules:
        """Rules that allow everything (no robots.txt, or it could not be read)."""
        return cls(None, user_agent, url=url, error=error)

    @classmethod
    def parse(cls, text: str, user_agent: str, *, url: str = "") -> RobotsRules:
        """Rules from the text of a robots.txt file."""
        return cls(Protego.parse(text), user_agent, url=url, found=True)

    def allowed(self, url: str) -> bool:
        """Whether our user agent may fetch ``url`` (an absolute URL on this site)."""
        return self._parser is None or bool(self._parser.can_fetch(url, self._agent))


def _delay(parser: Protego, user_agent: str) -> float | None:
    delays: list[float] = []
    crawl_delay = parser.crawl_delay(user_agent)
    if crawl_delay is not None:
        delays.append(float(crawl_delay))
    rate = parser.request_rate(user_agent)
    if rate is not None and rate.requests > 0:
        delays.append(rate.seconds / rate.requests)
    return max(delays) if delays else None


async def load_robots(fetcher: Fetcher, base_url: str, user_agent: str) -> RobotsRules:
    """Fetch and parse ``<base_url>robots.txt``; never raises for network or HTTP problems.

    Args:
        fetcher: The crawl's fetcher (redirects, e.g. to https or www, are followed and checked).
        base_url: The site's base URL, as from ``targets.parse_target``.
        user_agent: Our user agent string (its group is honoured).

    Returns:
        The rules; allow-all with ``found`` False when the file is absent (4xx) or unreadable (5xx, a
        network error), the latter with ``error`` set.
    """
    url = urljoin(base_url, "/robots.txt")
    result = await fetcher.fetch(url, kind="text")
    if result.ok:
        text = result.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return RobotsRules.parse(text, user_agent, url=result.final_url)
    absent = result.error is not None and result.error.startswith("http_4")
    return RobotsRules.allow_all(user_agent, url=url, error=None if absent else result.error)
