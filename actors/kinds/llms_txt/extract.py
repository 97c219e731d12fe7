"""Turn one fetched HTML page into a `PageInfo`: title, description, main content as Markdown, links.

One selectolax (lexbor) parse serves everything; only the main-content fragment is serialised again for
html-to-markdown (``markdown``), which keeps a typical 14 KB page near 1 ms in total
(see ``tests/bench/extract_speed.py``).
The selectolax tree is mutated while extracting, so it never leaves this module.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

import msgspec
from selectolax.lexbor import LexborHTMLParser, LexborNode

from actors.kinds.llms_txt.markdown import to_markdown
from actors.kinds.llms_txt.outline import BREADCRUMB_HINTS, OutlineEntry, breadcrumbs, page_outline
from actors.kinds.llms_txt.titles import one_line, shorten
from actors.kinds.llms_txt.urls import LinkResolver

# A first paragraph shorter than this is usually a byline, a date or a leftover menu label.
MIN_PARAGRAPH_CHARS = 40
# Long first paragraphs are cut here: a description is a line, not the article.
MAX_DESCRIPTION_CHARS = 500

# Removed from inside the main content as well: none of it is prose a reader needs.
_NOISE_TAGS = (
    "script", "style", "noscript", "template", "nav", "aside", "form", "iframe", "svg", "button", "dialog", "select"
)  # fmt: skip
_NOISE = ", ".join((*_NOISE_TAGS, "[hidden], [aria-hidden=true]"))
# Removed only when we fall back to <body>: site chrome and banners. Inside <main>/<article> a <header>
# usually holds the page's own <h1>, so it stays there.
_CHROME_ROLES = ("banner", "navigation", "contentinfo", "complementary", "dialog")
_CHROME_REST = "[id*=cookie i], [class*=cookie i], [id*=consent i], [class*=consent i]"
_CHROME = ", ".join(("header, footer", *(f"[role={role}]" for role in _CHROME_ROLES), _CHROME_REST))
_CHROME_AND_NOISE = f"{_CHROME}, {_NOISE}"
# What the body fallback queries: every attribute selector costs the query a few µs over a manual page's tree,
# so the five role values are one ``[role]``, whose matches are then checked against ``_CHROME_AND_NOISE``
# (``_matching``): 80 against 104 µs a page.
_CHROME_AND_NOISE_QUERY = f"header, footer, [role], {_CHROME_REST}, {_NOISE}"
_SURELY_MATCHING_TAGS = frozenset(("header", "footer", *_NOISE_TAGS))
_CHROME_ROLE_SET = frozenset(_CHROME_ROLES)
# What the main content, the base URL and the metadata are chosen from, found in one walk of the tree (each CSS
# query walks all of it: about 25 µs on a manual page), in document order.
_LANDMARKS = "main, [role=main], article, base[href], meta[content]"
# The same walk also answers whether the page may have breadcrumbs (``outline.BREADCRUMB_HINTS``): one query
# of the tree less (39 against 56 µs on a manual page). ``_Landmarks`` sorts the matches out.
_LANDMARKS_AND_HINTS = f"{_LANDMARKS}, {BREADCRUMB_HINTS}"
# Text a page shows when scripts are off or before consent: never a description.
_BOILERPLATE = re.compile(
    r"\b(cookies?|consent|enable javascript|javascript is (disabled|required)|your browser|"
    r"skip to (main )?content)\b",
    re.IGNORECASE,
)
_NOT_NAVIGABLE = ("#", "javascript:", "mailto:", "tel:", "data:", "about:", "blob:")


class PageInfo(msgspec.Struct, kw_only=True):
    """What the rest of the job needs from one page.

    Attributes:
        url: The page's URL (as fetched, after redirects).
        title: The raw ``<title>`` (whitespace collapsed), else ``og:title``, else the first ``<h1>``; may be "".
        description: Meta description, else ``og:description``/``twitter:description``, else the first
            meaningful paragraph of the main content; None when the page has none of these.
        markdown: The main content as Markdown, links made absolute, images left out.
        lang: The ``<html lang>`` value, if any.
        first_paragraph: The first meaningful paragraph of the main content (shortened), if any. Kept apart
            from ``description`` because many sites repeat one meta description on every page.
        links: Absolute http(s) URLs of every ``<a href>`` in the whole page (navigation included), without
            fragments, deduplicated in document order.
        site_name: The ``og:site_name`` meta value, if any.
        breadcrumbs: The page's breadcrumb trail (``outline.breadcrumbs``), [] when it has none.
        outline: The page's largest link outline (``outline.page_outline``) when it was asked for, else None.
    """

    url: str
    title: str
    description: str | None
    markdown: str
    lang: str | None = None
    links: list[str] = msgspec.field(default_factory=list)
    first_paragraph: str | None = None
    site_name: str | None = None
    breadcrumbs: list[str] = msgspec.field(default_factory=list)
    outline: list[OutlineEntry] | None = None


def extract_page(url: str, html: str | bytes, outline: bool = False, links: bool = True) -> PageInfo:
    """Extract title, description, main content and links from one HTML page.

    Args:
        url: The page's final URL; relative links and Markdown links resolve against it (or ``<base href>``).
        html: The page. ``bytes`` have their encoding detected (BOM, ``<meta charset>``); pass ``str`` when
            the HTTP ``Content-Type`` charset is known.
        outline: Also read the page's link outline (a home page, a docs index, a sample page's sidebar).
        links: Collect the page's links (``PageInfo.links``); a crawl that knows its pages skips them.

    Returns:
        The page's `PageInfo`.
    """
    tree = LexborHTMLParser(html, encoding=isinstance(html, bytes))
    # Read before anything is cut out of the tree.
    landmarks = _Landmarks(tree.css(_LANDMARKS_AND_HINTS))
    metas = _meta_contents(landmarks.metas)
    base = _base_url(landmarks.nodes, url)
    found = _links(tree, base) if links else []
    title = _title(tree, metas)
    lang = _lang(tree)
    trail = breadcrumbs(tree, title, hinted=landmarks.hinted)
    # Before the main content is cut out: a table of contents often sits in <nav> or <aside>.
    tree_outline = page_outline(tree, base) if outline else None

    content = _main_content(tree, landmarks)
    paragraph = _first_paragraph(content) if content is not None else None
    if paragraph:
        paragraph = shorten(paragraph, MAX_DESCRIPTION_CHARS)
    description = metas.get("description") or metas.get("og:description") or metas.get("twitter:description")
    description = description or paragraph
    markdown = to_markdown(content, base) if content is not None else ""
    return PageInfo(
        url=url,
        title=title,
        description=description or None,
        markdown=markdown,
        lang=lang,
        links=found,
        first_paragraph=paragraph,
        site_name=metas.get("og:site_name"),
        breadcrumbs=trail,
        outline=tree_outline,
    )


class _Landmarks:
    """The matches of ``_LANDMARKS`` among those of ``_LANDMARKS_AND_HINTS`` (``nodes``, in document order), the
    attributes of its ``<meta>`` elements (``metas``), the first that matches ``[role=main]`` (``role_main``),
    and whether any match of ``BREADCRUMB_HINTS`` may be there (``hinted``, never False when there is one)."""

    def __init__(self, found: list[LexborNode]) -> None:
        self.nodes: list[LexborNode] = []
        self.metas: list[dict[str, str | None]] = []
        self.role_main: LexborNode | None = None
        self.hinted = False
        for node in found:
            tag = node.tag
            if tag == "meta" or tag == "base":
                attrs = node.attributes
                # A landmark by its attribute; also by a role=main, or a hint by a class or a label, as it rarely is.
                maybe_main = "role" in attrs and node.css_matches("[role=main]")
                if ("content" if tag == "meta" else "href") in attrs or maybe_main:
                    self._add(node, maybe_main)
                    if tag == "meta":
                        self.metas.append(attrs)
                self.hinted = self.hinted or "class" in attrs or "aria-label" in attrs
            elif tag == "main" or tag == "article":
                self._add(node, node.css_matches("[role=main]"))
                self.hinted = self.hinted or node.css_matches(BREADCRUMB_HINTS)
            else:
                # Matched by [role=main] or by a hint (a script, a class, a label), or both.
                if node.css_matches("[role=main]"):
                    self._add(node, True)
                self.hinted = True

    def _add(self, node: LexborNode, role_main: bool) -> None:
        self.nodes.append(node)
        if role_main and self.role_main is None:
            self.role_main = node


def _meta_contents(metas: list[dict[str, str | None]]) -> dict[str, str]:
    # One pass over <meta>: names and properties are case-insensitive in practice ("Description").
    found: dict[str, str] = {}
    for attrs in metas:
        key = attrs.get("name") or attrs.get("property")
        content = attrs.get("content")
        if key and content:
            key = key.strip().lower()
            if key not in found and (value := one_line(content)):
                found[key] = value
    return found


def _base_url(landmarks: list[LexborNode], url: str) -> str:
    base = next((node for node in landmarks if node.tag == "base" and "href" in node.attributes), None)
    href = base.attributes.get("href") if base is not None else None
    if href and (resolved := urljoin(url, href.strip())).startswith(("http://", "https://")):
        return resolved
    return url


def _links(tree: LexborHTMLParser, base: str) -> list[str]:
    resolver = LinkResolver(base)
    seen: dict[str, None] = {}
    for anchor in tree.css("a[href]"):
        href = anchor.attributes.get("href")
        if not href:
            continue
        # Browsers drop surrounding whitespace and any tab/newline inside an href.
        href = href.strip().replace("\n", "").replace("\t", "").replace("\r", "")
        if not href or href.lower().startswith(_NOT_NAVIGABLE):
            continue
        absolute = resolver.resolve(href)
        if not absolute.startswith(("https://", "http://")):
            continue
        absolute = absolute.partition("#")[0]
        if " " in absolute:
            # What a browser sends for a space inside an href.
            absolute = absolute.replace(" ", "%20")
        seen.setdefault(absolute)
    return list(seen)


def _title(tree: LexborHTMLParser, metas: dict[str, str]) -> str:
    # Only the <head> title: an inline <svg> carries <title> elements of its own.
    node = tree.head.css_first("title") if tree.head is not None else None
    title = one_line(node.text()) if node is not None else ""
    if not title:
        title = metas.get("og:title", "")
    if not title and (h1 := tree.css_first("h1")) is not None:
        title = one_line(h1.text())
    return title


def _lang(tree: LexborHTMLParser) -> str | None:
    root = tree.root
    lang = root.attributes.get("lang") if root is not None else None
    return lang.strip() or None if lang else None


def _main_content(tree: LexborHTMLParser, landmarks: _Landmarks) -> LexborNode | None:
    """The element holding the page's own content, with noise removed (mutates the tree)."""
    content = next((node for node in landmarks.nodes if node.tag == "main"), None) or landmarks.role_main
    if content is None:
        articles = [node for node in landmarks.nodes if node.tag == "article"]
        # Several <article>s are a listing (a blog index): the body is the better whole.
        if len(articles) == 1:
            content = articles[0]
    if content is not None and not content.text(strip=True):
        content = None
    if content is None:
        content = tree.body
        if content is None:
            return None
        # One pass for both lists: every CSS query walks the whole subtree (about 25 µs on a manual page).
        _remove(content, _matching(content.css(_CHROME_AND_NOISE_QUERY)))
    else:
        _remove(content, content.css(_NOISE))
    return content


def _matching(found: list[LexborNode]) -> list[LexborNode]:
    """The nodes of ``found`` (matches of ``_CHROME_AND_NOISE_QUERY``) that match ``_CHROME_AND_NOISE``."""
    kept = []
    for node in found:
        if node.tag in _SURELY_MATCHING_TAGS or node.attributes.get("role") in _CHROME_ROLE_SET:
            kept.append(node)
        elif node.css_matches(_CHROME_AND_NOISE):
            # Lexbor's own answer for the rest (it compares a role case-insensitively, for one).
            kept.append(node)
    return kept


def _remove(root: LexborNode, matches: list[LexborNode]) -> None:
    """Decompose every node of ``matches`` (CSS matches under ``root``, in document order), outermost first and
    each exactly once."""
    doomed = {node.mem_id for node in matches}
    # Decomposing frees a whole subtree: a match nested in another match must not be touched afterwards,
    # so the outermost matches are chosen before anything is freed.
    outermost = []
    for node in matches:
        parent = node.parent
        while parent is not None and parent.mem_id not in doomed:
            parent = parent.parent
        if parent is None:
            outermost.append(node)
    for node in outermost:
        node.decompose()


def _first_paragraph(content: LexborNode) -> str | None:
    # Usually the first paragraph will do: found without making a node of every <p> of the page.
    first = content.css_first("p")
    if first is None:
        return None
    text = one_line(first.text())
    if len(text) >= MIN_PARAGRAPH_CHARS and not _BOILERPLATE.search(text):
        return text
    for paragraph in content.css("p"):
        text = one_line(paragraph.text())
        if len(text) >= MIN_PARAGRAPH_CHARS and not _BOILERPLATE.search(text):
            return text
    return None
