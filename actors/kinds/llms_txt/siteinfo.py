"""The llms.txt header from the home page: the site's name for the ``# H1`` and its ``>`` summary.

The home page is the page the site's root answers with, after redirects (``/`` -> ``/docs/index.html``).
Name: its ``og:site_name``, else the part of its ``<title>`` that the other pages' titles share, else its
whole title, else the shared part of all titles, else the host name. Summary: its meta description (or
``og:description``), else its first substantial paragraph; never another page's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.providers.extractive import SUMMARY_CHARS
from actors.kinds.llms_txt.titles import one_line, shorten, site_name_from_titles

# A home page title longer than this is a tagline, not a name.
MAX_NAME_CHARS = 80


def site_name(home: PageInfo | None, titles: Iterable[str], base_url: str) -> str:
    """The site's name (see the module docstring)."""
    if home is not None and home.site_name:
        return one_line(home.site_name)
    shared = site_name_from_titles(titles)
    own = one_line(home.title) if home is not None else ""
    if own and shared and shared in own:
        return shared
    if own and len(own) <= MAX_NAME_CHARS:
        return own
    return shared or urlsplit(base_url).hostname or base_url


def home_summary(home: PageInfo | None) -> str:
    """The home page's description or first paragraph as one line, "" when it has neither."""
    if home is None:
        return ""
    return shorten(one_line(home.description or home.first_paragraph or ""), SUMMARY_CHARS)
