"""The interface every description provider implements, and the errors behind its fallbacks.

ProviderError
 ├── UnknownProviderError   ``make_describer`` got a name it does not know (also a ValueError)
 ├── ProviderConfigError    a provider is missing what it needs, e.g. a Gemini API key (also a ValueError)
 └── ProviderCallError      one call failed; ``cause`` says how. Never escapes a Describer: the batch's
                            pages fall back to their extracted descriptions and the cause is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import msgspec

from actors.kinds.llms_txt.extract import PageInfo

# Causes counted in DescribeResult.errors: the shared ones of every model call (re-exported), and the
# describer's own below.
from actors.llm.errors import (
    BAD_RESPONSE,
    CONNECTION,
    HTTP_4XX,
    HTTP_5XX,
    RATE_LIMITED,
    TIMEOUT,
    ProviderCallError,
    ProviderError,
)

__all__ = [
    "BAD_RESPONSE",
    "CONNECTION",
    "HTTP_4XX",
    "HTTP_5XX",
    "RATE_LIMITED",
    "TIMEOUT",
    "ProviderCallError",
    "ProviderError",
]

INCOMPLETE: Final = "incomplete"  # usable answer that left out some pages of the batch
SKIPPED: Final = "skipped"  # batch not sent because the provider kept failing (see batching.py)

# Called after each batch with (pages done, pages total). It runs in the describing coroutine, so an
# exception it raises (JobCancelled from progress()) stops describing and propagates unchanged.
ProgressCallback = Callable[[int, int], None]


class UnknownProviderError(ProviderError, ValueError):
    """The provider name is not one ``make_describer`` knows."""


class ProviderConfigError(ProviderError, ValueError):
    """The provider's configuration cannot work (for example, no API key)."""


class DescribeResult(msgspec.Struct, kw_only=True):
    """Descriptions for a set of pages and how they were obtained.

    Attributes:
        descriptions: One entry per page URL: a single line, possibly "" when nothing describes the page.
        fallbacks: Pages whose provider call failed (or whose answer left them out) and that got their
            extracted description instead.
        errors: Failed calls (or skipped batches) by cause, e.g. ``{"timeout": 2, "http_5xx": 1}``.
    """

    descriptions: dict[str, str] = msgspec.field(default_factory=dict)
    fallbacks: int = 0
    errors: dict[str, int] = msgspec.field(default_factory=dict)


class Describer(Protocol):
    """Writes the one-line page descriptions and the site summary of an llms.txt."""

    async def describe(self, pages: list[PageInfo], on_batch: ProgressCallback | None = None) -> DescribeResult:
        """Describe every page; never raises for provider failures (they fall back and are counted).

        Args:
            pages: The pages to describe.
            on_batch: Optional progress callback, called after each batch.

        Returns:
            A description for every page URL, with fallback and error counts.
        """
        ...

    async def summarize(self, site_name: str, pages: list[PageInfo], home: PageInfo | None = None) -> str:
        """Write the one-paragraph summary for the ``>`` line; falls back to an extractive one on error.

        Args:
            site_name: The site's name.
            pages: The site's pages (the home page, if present, weighs most).
            home: The page the site's root answered with (after redirects); when given, the extractive
                summary is its text only, never another page's.

        Returns:
            One line of text; "" only when nothing at all describes the site.
        """
        ...
