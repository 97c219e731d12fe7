"""A page's own navigation, read from its HTML: the link outline (table of contents) and the breadcrumb trail.

**Outline**: the largest tree of same-site links on the page, in document order. Candidates are the
outermost lists (``<ul>``, ``<ol>``, ``<dl>``) and containers holding two or more such lists under
headings (``<nav><h3>Guides</h3><ul>…</ul><h3>API</h3><ul>…</ul></nav>``). Nesting depth comes from the
lists: an ``<li>``'s nested ``<ul>`` (or a ``<dt>``'s following ``<dd>``) holds its children. A list item
or heading whose label is not a link (a collapsible group, "Getting started") becomes a label entry
(``url`` None), so its children still have a parent. A manual's home page (a nested ``<dl class="toc">``)
and a docs sidebar both read this way.

**Breadcrumbs**: the names of a page's trail from JSON-LD ``BreadcrumbList`` or an HTML breadcrumb
(``aria-label="breadcrumb"``, ``.breadcrumb(s)``), without the home entry and without the page itself.

Both work on a selectolax tree that has not yet been cut down to the main content.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import msgspec
from selectolax.lexbor import LexborHTMLParser, LexborNode

from actors.kinds.llms_txt.urls import LinkResolver

# Fewer same-site links than this is a menu, not a table of contents.
MIN_OUTLINE_LINKS = 8
MAX_LABEL_CHARS = 200
_LISTS = frozenset(("ul", "ol", "dl"))
_ITEMS = frozenset(("li", "dt", "dd"))
_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_SKIPPED = frozenset(("script", "style", "template", "svg", "form", "input", "select"))
_HOME_NAMES = frozenset(("home", "start", "index", "docs", "documentation"))
_BREADCRUMB = (
    "[aria-label*=breadcrumb i], nav.breadcrumb, nav.breadcrumbs, ol.breadcrumb, ul.breadcrumb, "
    "ol.breadcrumbs, ul.breadcrumbs, .breadcrumbs ol, .breadcrumbs ul"
)
_JSON_LD = 'script[type="application/ld+json"]'
_BREADCRUMB_OR_JSON_LD = f"{_JSON_LD}, {_BREADCRUMB}"
# What any match of ``_BREADCRUMB_OR_JSON_LD`` needs somewhere in the page (an ``ol``/``ul`` inside
# ``.breadcrumbs`` needs that ancestor): most pages have none of it, and three attribute selectors cost less
# than the nine (``extract`` asks them in its first query of the page, ``breadcrumbs`` when told to).
BREADCRUMB_HINTS = "script[type*=json i], [aria-label*=breadcrumb i], [class*=breadcrumb i]"


class OutlineEntry(msgspec.Struct, array_like=True):
    """One line of an outline.

    Attributes:
        depth: 0 for a heading outside any list, 1 for an item of an outermost list, +1 per nesting.
        title: The link text or the group label, whitespace collapsed.
        url: The absolute URL without fragment; None for a label that is not a link.
    """

    depth: int
    title: str
    url: str | None


def page_outline(tree: LexborHTMLParser, base: str) -> list[OutlineEntry]:
    """The page's largest outline of same-site links (see the module docstring), or [] when it has none."""
    body = tree.body
    if body is None:
        return []
    origin = _origin(base)
    resolver = LinkResolver(base)
    best: list[OutlineEntry] = []
    best_links = MIN_OUTLINE_LINKS - 1
    for candidate in _candidates(body):
        entries: list[OutlineEntry] = []
        _walk(candidate, 1 if candidate.tag in _LISTS else 0, resolver, entries)
        links = len({e.url for e in entries if e.url is not None and e.url.startswith(origin)})
        if links > best_links:
            best, best_links = entries, links
    return [e for e in best if e.url is None or e.url.startswith(origin)]


def breadcrumbs(tree: LexborHTMLParser, page_title: str = "", hinted: bool | None = None) -> list[str]:
    """The page's breadcrumb trail as names, without the home entry and the page itself ([] when none).

    ``hinted``: whether the page has a match of ``BREADCRUMB_HINTS`` (False: it has no trail), when the caller
    knows; None to find out here.
    """
    if hinted is None:
        hinted = tree.css_first(BREADCRUMB_HINTS) is not None
    if not hinted:
        return []
    # One walk of the tree finds both kinds (each CSS query walks all of it): JSON-LD first, whatever its place.
    found = tree.css(_BREADCRUMB_OR_JSON_LD)
    names = _json_ld_trail([node for node in found if _is_json_ld(node)])
    if names is None:
        node = next((node for node in found if not _is_json_ld(node) or node.css_matches(_BREADCRUMB)), None)
        if node is None:
            return []
        names = [_text(item) for item in (node.css("li") or node.css("a"))]
    names = [n for n in names if n]
    if names and names[0].casefold() in _HOME_NAMES:
        names = names[1:]
    if names and page_title and names[-1].casefold() in page_title.casefold():
        names = names[:-1]
    return names


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _candidates(body: LexborNode) -> list[LexborNode]:
    """Outermost lists, and containers of two or more outermost lists that have headings beside them."""
    outermost: list[LexborNode] = []
    for node in body.css("ul, ol, dl"):
        parent = node.parent
        while parent is not None and parent.tag not in _LISTS:
            parent = parent.parent
        if parent is None:
            outermost.append(node)
    containers: dict[int, LexborNode] = {}
    for node in outermost:
        parent = node.parent
        if parent is None or parent.tag in ("body", "html") or parent.mem_id in containers:
            continue
        children = [c.tag for c in parent.iter()]
        if sum(t in _LISTS for t in children) >= 2 and sum(t in _HEADINGS for t in children) >= 2:
            containers[parent.mem_id] = parent
    return outermost + list(containers.values())


def _walk(node: LexborNode, depth: int, base: LinkResolver, out: list[OutlineEntry]) -> None:
    for child in node.iter():
        tag = child.tag
        if tag in _SKIPPED:
            continue
        if tag == "a":
            _add_link(child, depth, base, out)
        elif tag in _LISTS:
            _walk(child, depth + 1, base, out)
        elif tag == "dd":
            # A <dd> holds the children of the <dt> before it; a list inside it counts that level itself.
            _walk(child, depth if child.css_first("ul, ol, dl") is not None else depth + 1, base, out)
        elif tag in _ITEMS:
            _item(child, depth, base, out)
        elif tag in _HEADINGS and child.css_first("a[href]") is None:
            if label := _text(child):
                out.append(OutlineEntry(depth, label, None))
        else:
            _walk(child, depth, base, out)


def _item(item: LexborNode, depth: int, base: LinkResolver, out: list[OutlineEntry]) -> None:
    """An ``<li>``/``<dt>``: its label (link or text), then whatever nested lists it holds."""
    before = len(out)
    label: list[str] = []
    for child in item.iter(include_text=True):
        tag = child.tag
        if tag in _LISTS or (tag not in ("-text", "a") and child.css_first("ul, ol, dl") is not None):
            if len(out) == before and (text := " ".join(label).strip()):
                # A group whose label is not a link ("Getting started" above its pages).
                out.append(OutlineEntry(depth, text[:MAX_LABEL_CHARS], None))
            _walk(child, depth + 1 if tag in _LISTS else depth, base, out)
        elif tag == "-text":
            label.append((child.text_content or "").strip())
        elif tag == "a":
            _add_link(child, depth, base, out)
        elif tag not in _SKIPPED:
            if child.css_first("a[href]") is not None:
                _walk(child, depth, base, out)
            else:
                label.append(_text(child))


def _add_link(anchor: LexborNode, depth: int, base: LinkResolver, out: list[OutlineEntry]) -> None:
    href = (anchor.attributes.get("href") or "").strip()
    if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
        return
    title = _text(anchor)
    if not title:
        return
    url = base.resolve(href)
    out.append(OutlineEntry(depth, title[:MAX_LABEL_CHARS], url.partition("#")[0]))


def _text(node: LexborNode) -> str:
    return " ".join(node.text(deep=True).split())


def _is_json_ld(node: LexborNode) -> bool:
    return node.tag == "script" and node.css_matches(_JSON_LD)


def _json_ld_trail(scripts: list[LexborNode]) -> list[str] | None:
    for script in scripts:
        text = script.text(deep=True)
        if "BreadcrumbList" not in text:
            continue
        try:
            data = msgspec.json.decode(text.encode())
        except msgspec.DecodeError:
            continue
        for item in data if isinstance(data, list) else [data, *(data.get("@graph") or [])]:
            if isinstance(item, dict) and item.get("@type") == "BreadcrumbList":
                elements = sorted(
                    (e for e in item.get("itemListElement") or [] if isinstance(e, dict)),
                    key=lambda e: e.get("position") or 0,
                )
                return [" ".join(str(_crumb_name(e)).split()) for e in elements]
    return None


def _crumb_name(element: dict[str, object]) -> object:
    name = element.get("name")
    if name is None and isinstance(item := element.get("item"), dict):
        name = item.get("name")
    return name or ""
