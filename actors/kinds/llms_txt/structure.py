"""The sections of llms.txt, from the site's own structure, best source first.

1. ``toc``: a table of contents on the home page or a docs index (a nested list of same-site links);
2. ``navigation``: a sidebar or menu tree found on the site's pages;
3. ``breadcrumbs``: the pages' breadcrumb trails (HTML or JSON-LD), where most pages have one;
4. ``numbering``: numbered titles ("Chapter 9.", "9.3.", "Appendix F.", "F.1."), where most pages have one;
5. ``folders``: URL folders (``sections.group_sections``), the fallback.

An outline is used when it places at least half of the pages (directly, or by the number in a page's title
matching a numbered entry: "9.3.1." goes where "9.3." is). Pages keep the outline's order; pages it does
not place come after, grouped by URL folder, so no page is ever dropped. Branches and pages that a reader
may skip (release notes, indexes, legal pages) go to ``## Optional``. Sizes are evened out by
``grouping.finish``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import msgspec

from actors.kinds.llms_txt.grouping import OVERVIEW, Group, finish, low_value
from actors.kinds.llms_txt.numbering import number_key, title_number
from actors.kinds.llms_txt.outline import OutlineEntry
from actors.kinds.llms_txt.sections import OPTIONAL, DescribedPage, Section, group_sections
from actors.kinds.llms_txt.urls import normalize

StructureSource = Literal["toc", "navigation", "breadcrumbs", "numbering", "folders"]
# An outline, breadcrumbs or numbering must account for this share of the pages to be used.
MIN_COVERAGE = 0.5
# A top-level branch with fewer pages (or under 1% of the site) joins the overview.
MIN_BRANCH = 3
MIN_BRANCH_SHARE = 0.01
# Below this many pages, any outline that places them will do (a 12-page site needs no sections of its own).
SMALL_SITE = 20


class Navigation(msgspec.Struct, kw_only=True):
    """What the pages say about the site's structure.

    Attributes:
        home_url: The home page's URL (after redirects).
        toc: Outlines found on the home page or a docs index page, best first.
        menus: Outlines found on other pages (sidebars, menus).
        breadcrumbs: Page URL -> trail names (see ``outline.breadcrumbs``), for pages that have one.
    """

    home_url: str | None = None
    toc: list[list[OutlineEntry]] = msgspec.field(default_factory=list)
    menus: list[list[OutlineEntry]] = msgspec.field(default_factory=list)
    breadcrumbs: dict[str, list[str]] = msgspec.field(default_factory=dict)


class Structure(msgspec.Struct):
    """The sections in output order and the source they came from."""

    source: StructureSource
    sections: list[Section]


def build_structure(pages: Sequence[DescribedPage], base_url: str, navigation: Navigation) -> Structure:
    """Sections for ``pages`` (in discovery order) from the best structure source that fits."""
    unique: dict[str, DescribedPage] = {}
    for page in pages:
        unique.setdefault(_key(page.url), page)
    home = _key(navigation.home_url) if navigation.home_url else None
    for source, outlines in (("toc", navigation.toc), ("navigation", navigation.menus)):
        best: tuple[int, list[Section]] | None = None
        for outline in outlines:
            placed, sections = _from_outline(outline, unique, home, base_url)
            # A flat list of links (no groups) orders pages but does not section them: not a structure.
            grouped = sum(s.name not in (OVERVIEW, OPTIONAL) for s in sections) >= 2 or len(unique) < SMALL_SITE
            if grouped and placed >= MIN_COVERAGE * len(unique) and (best is None or placed > best[0]):
                best = (placed, sections)
        if best is not None:
            return Structure(source, best[1])  # type: ignore[arg-type]
    trails = {k: t for k, t in ((_key(u), t) for u, t in navigation.breadcrumbs.items()) if t and k in unique}
    if len(trails) >= MIN_COVERAGE * len(unique) and len(unique) > 1:
        return Structure("breadcrumbs", _from_breadcrumbs(unique, trails, home, base_url))
    numbered = sum(title_number(p.title) is not None for p in unique.values())
    if numbered >= MIN_COVERAGE * len(unique) and len(unique) > 1:
        return Structure("numbering", _from_numbering(unique, home, base_url))
    return Structure("folders", group_sections(unique.values(), base_url))


@functools.lru_cache(maxsize=1 << 16)
def _key(url: str) -> str:
    # Cached: every page's URL is looked up again from each outline and breadcrumb trail.
    return normalize(url) or url


@dataclass
class _Node:
    title: str
    url: str | None
    children: list[_Node] = field(default_factory=list)


def _tree(outline: list[OutlineEntry]) -> list[_Node]:
    roots: list[_Node] = []
    stack: list[tuple[int, _Node]] = []
    for entry in outline:
        node = _Node(entry.title, _key(entry.url) if entry.url else None)
        while stack and stack[-1][0] >= entry.depth:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((entry.depth, node))
    while len(roots) == 1 and roots[0].children:
        # One wrapper entry ("Contents", the product's name) around everything: its children are the top.
        roots = [_Node(roots[0].title, roots[0].url), *roots[0].children]
    return roots


class _Placer:
    """Hands out each page once, in outline order, and remembers where numbered pages went."""

    def __init__(self, unique: dict[str, DescribedPage], home: str | None) -> None:
        self.unique = unique
        self.taken: set[str] = {home} if home else set()
        self.numbers: dict[tuple[str, ...], list[DescribedPage]] = {}

    def take(self, node: _Node, into: list[DescribedPage]) -> None:
        for current in _preorder(node):
            if current.url is None or current.url in self.taken or current.url not in self.unique:
                continue
            self.taken.add(current.url)
            page = self.unique[current.url]
            into.append(page)
            number = title_number(current.title) or title_number(page.title)
            if number is not None:
                self.numbers.setdefault(number.parts, into)


def _preorder(node: _Node) -> list[_Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out


def _from_outline(
    outline: list[OutlineEntry], unique: dict[str, DescribedPage], home: str | None, base_url: str
) -> tuple[int, list[Section]]:
    """(pages placed by the outline, the sections)."""
    placer = _Placer(unique, home)
    overview: list[DescribedPage] = [unique[home]] if home in unique else []
    optional: list[DescribedPage] = []
    groups: list[Group] = []
    for root in _tree(outline):
        if low_value(root.title):
            placer.take(root, optional)
            continue
        group = Group([_section_name(root.title)])
        own: list[DescribedPage] = []
        if root.url is not None:
            placer.take(_Node(root.title, root.url), own)
        group.parts.append(("", own))
        for child in root.children:
            pages: list[DescribedPage] = []
            placer.take(child, optional if low_value(child.title) else pages)
            group.parts.append((_section_name(child.title), pages))
        groups.append(group)
    placed = len(placer.taken & unique.keys())
    rest = [page for key, page in unique.items() if key not in placer.taken]
    unplaced = _attach_numbered(rest, placer.numbers)
    placed += len(rest) - len(unplaced)
    # Small branches join the overview only now: numbered pages may have been attached to them.
    smallest = max(MIN_BRANCH, MIN_BRANCH_SHARE * len(unique))
    for group in [g for g in groups if g.size < smallest]:
        overview.extend(group.pages())
    groups = [g for g in groups if g.size >= smallest]
    optional_urls = [p for p in overview if low_value(p.title, p.url) and _key(p.url) != home]
    overview = [p for p in overview if p not in optional_urls]
    optional.extend(optional_urls)
    for section in group_sections(unplaced, base_url):
        if section.name == OPTIONAL:
            optional.extend(section.pages)
        else:
            groups.append(Group([section.name], [("", section.pages)]))
    return placed, finish(overview, groups, optional)


def _attach_numbered(
    rest: list[DescribedPage], numbers: dict[tuple[str, ...], list[DescribedPage]]
) -> list[DescribedPage]:
    """Put each page whose title number extends a placed one ("9.3.1." under "9.3.") right there."""
    unplaced = []
    for page in rest:
        number = title_number(page.title)
        target = None
        if number is not None:
            for n in range(len(number.parts), 0, -1):
                if (target := numbers.get(number.parts[:n])) is not None:
                    break
        if target is None or number is None:
            unplaced.append(page)
            continue
        key = number_key(number.parts)
        at = len(target)
        for i in range(len(target) - 1, -1, -1):
            other = title_number(target[i].title)
            if other is not None and number_key(other.parts) <= key:
                at = i + 1
                break
        target.insert(at, page)
    return unplaced


def _from_breadcrumbs(
    unique: dict[str, DescribedPage], trails: dict[str, list[str]], home: str | None, base_url: str
) -> list[Section]:
    groups: dict[str, Group] = {}
    overview: list[DescribedPage] = [unique[home]] if home in unique else []
    optional: list[DescribedPage] = []
    loose: list[DescribedPage] = []
    for key, page in unique.items():
        if key == home:
            continue
        trail = trails.get(key)
        if low_value(page.title, page.url) or (trail and low_value(trail[0])):
            optional.append(page)
        elif not trail:
            loose.append(page)
        else:
            group = groups.setdefault(trail[0], Group([trail[0]]))
            sub = trail[1] if len(trail) > 1 else ""
            for name, pages in group.parts:
                if name == sub:
                    pages.append(page)
                    break
            else:
                group.parts.append((sub, [page]))
    for section in group_sections(loose, base_url):
        if section.name == OPTIONAL:
            optional.extend(section.pages)
        elif len(section.pages) < MIN_BRANCH:
            overview.extend(section.pages)
        else:
            groups.setdefault(section.name, Group([section.name], [("", section.pages)]))
    return finish(overview, list(groups.values()), optional)


def _from_numbering(unique: dict[str, DescribedPage], home: str | None, base_url: str) -> list[Section]:
    chapters: dict[str, list[tuple[tuple[str, ...], DescribedPage]]] = {}
    names: dict[str, str] = {}
    overview: list[DescribedPage] = [unique[home]] if home in unique else []
    optional: list[DescribedPage] = []
    loose: list[DescribedPage] = []
    for key, page in unique.items():
        number = title_number(page.title)
        if key == home:
            continue
        if number is None or number.kind == "part":
            loose.append(page)
            continue
        chapters.setdefault(number.chapter, []).append((number.parts, page))
        if len(number.parts) == 1:
            names[number.chapter] = page.title
    groups: list[Group] = []
    for chapter in sorted(chapters, key=lambda c: number_key((c,))):
        members = [page for _, page in sorted(chapters[chapter], key=lambda item: number_key(item[0]))]
        name = _section_name(names.get(chapter, f"Chapter {chapter}"))
        if low_value(name):
            optional.extend(members)
        else:
            groups.append(Group([name], [(name, members)]))
    for section in group_sections(loose, base_url):
        (optional if section.name == OPTIONAL else overview).extend(section.pages)
    return finish(overview, groups, optional)


def _section_name(title: str) -> str:
    return " ".join(title.split()).rstrip(" .:")
