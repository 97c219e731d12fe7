"""Links of an HTML page, for discovering a site that has no sitemap.

Only ``<a href>`` counts (not scripts, styles or images). ``<base href>`` is honoured; links marked
``rel="nofollow"``, pages whose robots meta tag says ``nofollow``, fragments-only links and
``mailto:``/``javascript:``/``tel:``/``data:`` links are left out. Paths ending in a file extension that is
never an HTML page (``.pdf``, ``.png``, ``.zip`` ...) are recognisable without a request: ``looks_like_page``.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

_SKIPPED_SCHEMES = ("mailto:", "javascript:", "tel:", "data:", "ftp:", "sms:", "file:")
NON_PAGE_SUFFIXES = frozenset(
    {
        ".7z", ".atom", ".avi", ".bmp", ".bz2", ".css", ".csv", ".dmg", ".doc", ".docx", ".eot", ".epub",
        ".exe", ".gif", ".gz", ".ico", ".iso", ".jpeg", ".jpg", ".js", ".json", ".m4a", ".mov", ".mp3",
        ".mp4", ".msi", ".odt", ".ogg", ".otf", ".pdf", ".png", ".ppt", ".pptx", ".rar", ".rss", ".svg",
        ".tar", ".tgz", ".tif", ".tiff", ".ttf", ".txt", ".wasm", ".wav", ".webm", ".webp", ".woff",
        ".woff2", ".xls", ".xlsx", ".xml", ".zip",
    }
)  # fmt: skip


def looks_like_page(url: str) -> bool:
    """False when the URL's path ends in an extension that is never an HTML page."""
    path = urlsplit(url).path
    last = path.rsplit("/", 1)[-1]
    dot = last.rfind(".")
    return dot < 0 or last[dot:].lower() not in NON_PAGE_SUFFIXES


def extract_links(body: bytes | str, page_url: str) -> list[str]:
    """The absolute URLs of the followable ``<a href>`` links of a page, in document order (with repeats).

    Args:
        body: The page's HTML.
        page_url: The URL the page was served from (after redirects): relative links resolve against it.
    """
    tree = LexborHTMLParser(body)
    robots = tree.css_first('meta[name="robots" i]')
    if robots is not None and "nofollow" in (robots.attributes.get("content") or "").lower():
        return []
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = urljoin(page_url, (base_node.attributes.get("href") or "").strip())
    links: list[str] = []
    for node in tree.css("a[href]"):
        attributes = node.attributes
        href = (attributes.get("href") or "").strip()
        if not href or href.startswith("#") or href.lower().startswith(_SKIPPED_SCHEMES):
            continue
        if "nofollow" in (attributes.get("rel") or "").lower():
            continue
        links.append(urljoin(base, href))
    return links
