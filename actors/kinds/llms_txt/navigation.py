"""What the structure is read from: which pages' link outlines are read during the crawl (a sample), and the
`Navigation` (tables of contents, menus, breadcrumbs) gathered from the extracted pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.outline import OutlineEntry
from actors.kinds.llms_txt.structure import Navigation

# Pages besides the home page whose link outline is read (a sidebar present on most pages shows in a few).
OUTLINE_SAMPLE = 8


def is_index(path: str) -> bool:
    """A site's or a folder's front page: "/", "/docs/", "/docs/index.html" (one segment at most)."""
    segments = [s for s in path.split("/") if s]
    if segments and segments[-1].startswith(("index.", "default.")):
        segments.pop()
    return len(segments) <= 1 and (path.endswith("/") or len(segments) < len([s for s in path.split("/") if s]))


def outline_sample(urls: list[str]) -> list[str]:
    """The URLs whose pages' outlines are read: the home page, a few index pages and the first few others."""
    sample = urls[:1]
    indexes = others = 0
    for url in urls[1:]:
        if is_index(urlsplit(url).path):
            if indexes < OUTLINE_SAMPLE:
                sample.append(url)
                indexes += 1
        elif others < OUTLINE_SAMPLE:
            sample.append(url)
            others += 1
    return sample


def navigation(home: PageInfo | None, pages: list[PageInfo]) -> Navigation:
    """The outlines (the home page's and index pages' as tables of contents) and breadcrumbs of the pages."""
    toc: list[list[OutlineEntry]] = []
    menus: list[list[OutlineEntry]] = []
    for page in pages:
        if not page.outline:
            continue
        (toc if page is home or is_index(urlsplit(page.url).path) else menus).append(page.outline)
    crumbs = {page.url: page.breadcrumbs for page in pages if page.breadcrumbs}
    return Navigation(home_url=home.url if home is not None else None, toc=toc, menus=menus, breadcrumbs=crumbs)
