"""The provider without a model: descriptions and summary taken from the pages themselves.

It is also every other provider's fallback, so its output must always be usable as-is: one line,
at most ``DESCRIPTION_CHARS`` characters, cut at a word boundary.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.providers.base import DescribeResult, ProgressCallback
from actors.kinds.llms_txt.titles import one_line, shorten

DESCRIPTION_CHARS = 160
SUMMARY_CHARS = 400
# A description on this many pages is the site's template text, not a description of any one page.
SHARED_DESCRIPTION_PAGES = 3


def shared_descriptions(pages: list[PageInfo]) -> frozenset[str]:
    """Descriptions that `SHARED_DESCRIPTION_PAGES` or more pages carry (a site-wide meta description)."""
    counts = Counter(one_line(page.description) for page in pages if page.description)
    return frozenset(text for text, count in counts.items() if count >= SHARED_DESCRIPTION_PAGES)


def extractive_description(page: PageInfo, shared: frozenset[str] = frozenset()) -> str:
    """The page's extracted description as one line of at most ``DESCRIPTION_CHARS`` characters ("" if none).

    Args:
        page: The page.
        shared: Site-wide descriptions (see `shared_descriptions`): on any page but the home page, the
            page's first paragraph replaces one of them when there is a first paragraph.
    """
    text = one_line(page.description or "")
    if text in shared and page.first_paragraph and urlsplit(page.url).path not in ("", "/"):
        text = one_line(page.first_paragraph)
    return shorten(text, DESCRIPTION_CHARS)


def home_page(pages: list[PageInfo]) -> PageInfo | None:
    """The page with the shortest path (the home page when it was fetched), or None when there are no pages."""
    if not pages:
        return None
    return min(pages, key=lambda page: (len(urlsplit(page.url).path.strip("/")), page.url))


def extractive_summary(pages: list[PageInfo], home: PageInfo | None = None) -> str:
    """A one-line summary from the home page's description, else the first page that has one.

    Args:
        pages: The site's pages.
        home: The known home page (after redirects): only its description or first paragraph is used.

    Returns:
        One line of at most ``SUMMARY_CHARS`` characters, or "" when no page has a description.
    """
    if home is not None:
        return shorten(one_line(home.description or home.first_paragraph or ""), SUMMARY_CHARS)
    home = home_page(pages)
    candidates = ([home] if home is not None else []) + pages
    for page in candidates:
        if text := one_line(page.description or ""):
            return shorten(text, SUMMARY_CHARS)
    return ""


class ExtractiveDescriber:
    """`Describer` that uses each page's extracted description; never calls anything, never fails."""

    async def describe(self, pages: list[PageInfo], on_batch: ProgressCallback | None = None) -> DescribeResult:
        """Describe pages from their own metadata (see `extractive_description`)."""
        shared = shared_descriptions(pages)
        result = DescribeResult(descriptions={page.url: extractive_description(page, shared) for page in pages})
        if on_batch is not None:
            on_batch(len(pages), len(pages))
        return result

    async def summarize(self, site_name: str, pages: list[PageInfo], home: PageInfo | None = None) -> str:
        """Summarise the site from its home page (see `extractive_summary`)."""
        return extractive_summary(pages, home)
