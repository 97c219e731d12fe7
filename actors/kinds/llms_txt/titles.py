"""Page titles and short texts: collapsing whitespace, shortening at a word, and the site name that page
titles share ("Guide | Acme")."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# En and em dashes are real title separators ("Guide \u2013 Acme"), hence the "ambiguous" characters.
_TITLE_SEPARATORS = re.compile(r"\s+(?:\||-|–|—|·|•|::|»|/)\s+")  # noqa: RUF001
_SEPARATOR_CHARS = " |-–—·•:»/"  # noqa: RUF001


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space and strip the ends."""
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """Return ``text`` cut to at most ``limit`` characters at a word boundary, with "…" when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    # Trim back to the last whole word unless the cut already falls on a space; a single huge "word"
    # (a URL, CJK text without spaces) is cut mid-word rather than dropped.
    if not text[limit - 1].isspace() and space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:" + _SEPARATOR_CHARS) + "…"


def site_name_from_titles(titles: Iterable[str]) -> str | None:
    """Find the site name that page titles share as a suffix ("Guide | Acme") or a prefix ("Acme - Guide").

    A candidate must be the last (or first) separated part of at least two titles and of at least half of
    the titles that have a separator; a title that is exactly the candidate (a home page) also counts.

    Args:
        titles: Raw page titles.

    Returns:
        The shared part, or None when the titles do not agree on one.
    """
    cleaned = [one_line(t) for t in titles if t and t.strip()]
    suffixes: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    separated = 0
    for title in cleaned:
        parts = _TITLE_SEPARATORS.split(title)
        if len(parts) < 2:
            continue
        separated += 1
        suffixes[parts[-1]] = suffixes.get(parts[-1], 0) + 1
        prefixes[parts[0]] = prefixes.get(parts[0], 0) + 1
    if not separated:
        return None
    exact = Counter(cleaned)
    best: tuple[int, str] | None = None
    for counts in (suffixes, prefixes):
        for name, count in counts.items():
            score = count + exact.get(name, 0)
            if count * 2 >= separated and score >= 2 and (best is None or score > best[0]):
                best = (score, name)
    return best[1] if best else None


def strip_site_name(title: str, site_name: str | None) -> str:
    """Remove a site-name suffix or prefix (with its separator) from ``title``; keep it when nothing is left."""
    title = one_line(title)
    if not site_name:
        return title
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) >= 2 and parts[-1] == site_name:
        return title[: title.rfind(site_name)].rstrip(_SEPARATOR_CHARS)
    if len(parts) >= 2 and parts[0] == site_name:
        return title[len(site_name) :].lstrip(_SEPARATOR_CHARS)
    return title
