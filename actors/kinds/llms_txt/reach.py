"""Finding the address a site answers on: https first, then plain http when no scheme was given."""

from __future__ import annotations

from actors.kinds.llms_txt.fetcher import Fetcher, FetchResult

# Failures that mean "nothing speaks TLS there" rather than "the site is broken".
_TRY_HTTP_ON = frozenset({"connection", "timeout"})


async def reach(fetcher: Fetcher, typed: str, base_url: str) -> tuple[str, FetchResult]:
    """The base URL to crawl and the home page's fetch result.

    Args:
        fetcher: The crawl's fetcher.
        typed: What the user typed (a scheme in it is kept as given).
        base_url: ``targets.parse_target(typed)``, https when no scheme was typed.
    """
    home = await fetcher.fetch(base_url)
    if home.error in _TRY_HTTP_ON and "://" not in typed and base_url.startswith("https://"):
        plain = "http://" + base_url.removeprefix("https://")
        second = await fetcher.fetch(plain)
        if second.error not in _TRY_HTTP_ON:
            return plain, second
    return base_url, home
