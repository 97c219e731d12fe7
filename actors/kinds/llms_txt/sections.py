"""Group a site's pages into llms.txt ``## Section``s from the structure of their URLs.

- A section per first path segment below the site's base path ("/docs/..." -> "Docs", "/api/..." -> "API");
  when every page shares that segment ("/en-us/...", a docs-only site under "/docs/"), the next one is used.
- The home page, lone top-level pages ("/about", "/pricing") and groups of one page go to a general section.
- Low-value pages (legal, tags/categories/archives/pagination, changelogs, author pages, account and search
  pages) go to ``## Optional``, always last: the llms.txt convention for what a reader may skip.
- Sections are ordered by importance: documentation-like first, then the general section, then the other
  groups by size, then blog/news-like ones, then Optional. Pages are ordered by path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

import msgspec

OPTIONAL = "Optional"
GENERAL = "Pages"
# Beyond this many sections the smallest groups fold into the general one: a reader scans headings.
MAX_SECTIONS = 12

# Ordered: a docs site's sections appear in this order when several are present.
_IMPORTANT = (
    "docs", "doc", "documentation", "getting-started", "quickstart", "quick-start", "start", "guide", "guides",
    "tutorial", "tutorials", "learn", "manual", "handbook", "concepts", "reference", "references", "api",
    "api-reference", "apis", "sdk", "sdks", "cli", "examples", "cookbook", "recipes", "integrations", "plugins",
    "features", "product", "products", "solutions", "pricing", "faq", "faqs", "help", "support", "kb",
    "knowledge-base",
)  # fmt: skip
_LATE = (
    "blog", "news", "posts", "articles", "updates", "press", "events", "webinars", "podcast", "podcasts",
    "videos", "stories", "customers", "case-studies", "community", "careers", "jobs",
)  # fmt: skip
_LEGAL = frozenset((
    "privacy", "privacy-policy", "privacy-notice", "privacy-statement", "terms", "terms-of-service", "terms-of-use",
    "terms-and-conditions", "tos", "legal", "legal-notice", "cookies", "cookie-policy", "cookie-settings", "imprint",
    "impressum", "disclaimer", "gdpr", "dmca",
))  # fmt: skip
_TAXONOMY = frozenset(("tag", "tags", "category", "categories", "archive", "archives", "author", "authors"))
_CHANGELOG = frozenset((
    "changelog", "changelogs", "change-log", "release-notes", "releasenotes", "releases", "release-history",
))  # fmt: skip
_ACCOUNT = frozenset((
    "login", "log-in", "signin", "sign-in", "signup", "sign-up", "register", "logout", "cart", "checkout", "account",
    "search",
))  # fmt: skip
_INDEX_FILES = frozenset(["index.html", "index.htm", "index.php", "default.aspx", "default.htm"])
_EXTENSION = re.compile(r"\.(?:html?|php|aspx?|jsp)$")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_DIGITS = re.compile(r"(\d+)")
_ACRONYMS = {
    "api": "API", "apis": "APIs", "faq": "FAQ", "faqs": "FAQs", "sdk": "SDK", "sdks": "SDKs", "cli": "CLI",
    "ui": "UI", "ux": "UX", "ai": "AI", "ml": "ML", "llm": "LLM", "llms": "LLMs", "seo": "SEO", "css": "CSS",
    "html": "HTML", "http": "HTTP", "js": "JS", "json": "JSON", "rest": "REST", "graphql": "GraphQL",
    "ios": "iOS", "macos": "macOS", "sql": "SQL", "url": "URL", "urls": "URLs", "kb": "KB", "rss": "RSS",
    "cdn": "CDN", "dns": "DNS", "tls": "TLS", "ssl": "SSL", "oauth": "OAuth", "sso": "SSO", "saas": "SaaS",
    "id": "ID", "gpu": "GPU",
}  # fmt: skip
_SMALL_WORDS = frozenset(["a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"])


class DescribedPage(msgspec.Struct, kw_only=True):
    """One page as it appears in llms.txt and llms-full.txt.

    Attributes:
        url: Absolute URL.
        title: Link text; an empty title falls back to the URL path.
        description: One line after the link; omitted when empty.
        markdown: The page's main content (llms-full.txt only).
        section: Put the page in this section instead of the derived one ("Optional" is allowed).
    """

    url: str
    title: str
    description: str = ""
    markdown: str = ""
    section: str | None = None


class Section(msgspec.Struct, kw_only=True):
    """A ``## name`` group of pages, in output order."""

    name: str
    pages: list[DescribedPage]


def path_segments(url: str, base_path: str = "") -> list[str]:
    """The URL's path below ``base_path`` as lower-cased, percent-decoded segments, without index files."""
    path = unquote(urlsplit(url).path)
    base = base_path.rstrip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :]
    segments = [s.lower() for s in path.split("/") if s]
    if segments and segments[-1] in _INDEX_FILES:
        segments.pop()
    return segments


def is_optional_url(url: str, base_path: str = "") -> bool:
    """Whether a page is low-value for llms.txt: legal, taxonomy, pagination, changelog, author or account page."""
    segments = [_EXTENSION.sub("", s) for s in path_segments(url, base_path)]
    if any(s in _TAXONOMY or s in _CHANGELOG or s in _ACCOUNT for s in segments):
        return True
    # Deep pages named "privacy" are usually product docs ("/docs/security/privacy"), not the policy.
    if len(segments) <= 3 and any(s in _LEGAL or s.startswith(("privacy-", "terms-", "cookie-pol")) for s in segments):
        return True
    for i, segment in enumerate(segments):
        following = segments[i + 1] if i + 1 < len(segments) else ""
        if re.fullmatch(r"page-?\d+", segment) or (segment == "page" and following.isdigit()):
            return True
    # Date archives: "/2024/", "/blog/2024/05/"; a post below a date ("/2024/05/slug") is not one.
    if segments and (
        _YEAR.match(segments[-1]) or (len(segments) >= 2 and _YEAR.match(segments[-2]) and segments[-1].isdigit())
    ):
        return True
    query = dict(parse_qsl(urlsplit(url).query))
    return any(query.get(key, "").isdigit() for key in ("page", "paged", "p"))


def humanise(segment: str) -> str:
    """Turn a path segment into a section name: "getting-started" -> "Getting Started", "api" -> "API"."""
    words = [w for w in re.split(r"[-_+.\s]+", _EXTENSION.sub("", unquote(segment))) if w]
    named = []
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in _ACRONYMS:
            named.append(_ACRONYMS[lower])
        elif i and lower in _SMALL_WORDS:
            named.append(lower)
        else:
            named.append(word[:1].upper() + word[1:])
    return " ".join(named) or segment


def group_sections(pages: Iterable[DescribedPage], base_url: str) -> list[Section]:
    """Group pages into sections derived from the site's URL structure (see the module docstring).

    Args:
        pages: The pages; a URL seen twice keeps its first page only.
        base_url: The site's root; its path (if any) is stripped before reading segments.

    Returns:
        Non-empty sections in output order with unique names, ``Optional`` last; every page exactly once.
    """
    base_path = urlsplit(base_url).path
    unique: dict[str, DescribedPage] = {}
    for page in pages:
        unique.setdefault(page.url, page)
    segments = {url: path_segments(url, base_path) for url in unique}

    groups: dict[str, list[DescribedPage]] = {}
    structural: list[DescribedPage] = []
    for page in unique.values():
        if page.section and page.section.strip():
            groups.setdefault(" ".join(page.section.split()), []).append(page)
        elif is_optional_url(page.url, base_path):
            groups.setdefault(OPTIONAL, []).append(page)
        else:
            structural.append(page)

    # Below a prefix every page shares ("/en-us/"), sections come from the next segment, unless that leaves
    # fewer than two real groups: a docs-only site with flat pages is better one "Docs" section than "Pages".
    depth = _shared_prefix_depth([segments[p.url] for p in structural])
    while True:
        keyed = _structural_groups(structural, segments, depth)
        if depth == 0 or sum(len(members) >= 2 for name, (_, members) in keyed.items() if name != GENERAL) >= 2:
            break
        depth -= 1
    overridden = set(groups)
    keys: dict[str, str] = {}  # structural section name -> its path segment; overrides are never folded
    for name, (key, members) in keyed.items():
        if name not in overridden:
            keys[name] = key
        groups.setdefault(name, []).extend(members)

    _fold_small_groups(groups, keys)
    order = sorted(groups, key=lambda name: _rank(name, keys.get(name, name.lower()), len(groups[name])))
    return [
        Section(name=name, pages=sorted(groups[name], key=lambda p: (_natural(segments[p.url]), p.url)))
        for name in order
        if groups[name]
    ]


def _natural(segments: list[str]) -> list[tuple[tuple[int, int | str], ...]]:
    # "page-2" before "page-10": digit runs compare as numbers.
    return [
        tuple((0, int(part)) if part.isdecimal() else (1, part) for part in _DIGITS.split(segment) if part)
        for segment in segments
    ]


def _structural_groups(
    pages: list[DescribedPage], segments: dict[str, list[str]], depth: int
) -> dict[str, tuple[str, list[DescribedPage]]]:
    """Pages keyed by their segment at ``depth``, as {section name: (segment, pages)}."""
    keyed: dict[str, tuple[str, list[DescribedPage]]] = {}
    for page in pages:
        segs = segments[page.url]
        key = _EXTENSION.sub("", segs[depth]) if len(segs) > depth else ""
        name = humanise(key) if key else GENERAL
        if name == OPTIONAL:
            # "/optional/..." is a real part of the site, not the skippable section.
            name = "Optional Pages"
        keyed.setdefault(name, (key, []))[1].append(page)
    return keyed


def _shared_prefix_depth(all_segments: list[list[str]]) -> int:
    # Descend (at most twice) while every non-root page shares the segment: "/en-us/...", "/docs/...".
    depth = 0
    while depth < 2:
        below = [segs for segs in all_segments if len(segs) > depth]
        if len(below) < 2 or len({segs[depth] for segs in below}) != 1:
            break
        # Only descend if something lies below the shared segment, or all pages would become "general".
        if not any(len(segs) > depth + 1 for segs in below):
            break
        depth += 1
    return depth


def _fold_small_groups(groups: dict[str, list[DescribedPage]], keys: dict[str, str]) -> None:
    structural = [name for name in keys if name != GENERAL and name in groups]
    fold = {name for name in structural if len(groups[name]) < 2}
    kept = sorted((n for n in structural if n not in fold), key=lambda n: (len(groups[n]), n))
    # Sections that are not folded: overrides, Optional, and the general one (which folding creates).
    fixed = len({name for name in groups if name not in structural} | {GENERAL})
    # Too many sections: fold the smallest structural groups too until the count fits.
    while kept and len(kept) + fixed > MAX_SECTIONS:
        fold.add(kept.pop(0))
    for name in structural:
        if name in fold:
            groups.setdefault(GENERAL, []).extend(groups.pop(name))


def _rank(name: str, key: str, size: int) -> tuple[int, int, str]:
    if name == OPTIONAL:
        return (5, 0, "")
    if key in _IMPORTANT:
        return (0, _IMPORTANT.index(key), name)
    if name == GENERAL:
        return (1, 0, "")
    if key in _LATE:
        return (3, _LATE.index(key), name)
    return (2, -size, name)
