"""Write ``llms.txt`` and ``llms-full.txt`` (https://llmstxt.org) from described pages.

``llms.txt``::

    # Name
    > One-paragraph summary
    Optional details paragraph(s)
    ## Section
    - [Title](url): description

Every line is written so the reference parser (``llms_txt.parse_llms_file``) reads it back: it splits
sections on any line starting with ``##`` and reads a link title as ``[^\\]]+`` and a URL as ``[^)]+``, so
square brackets in titles become parentheses (a backslash-escaped ``\\]`` still ends its title), and
``(``, ``)`` and spaces in URLs are percent-encoded (the same address).

``llms-full.txt`` is the same header followed by every page's Markdown under ``## Title`` with a
``Source: url`` line, pages separated by ``---``, in llms.txt order. Headings inside a page are demoted
two levels (``#`` -> ``###``) so a page can never open a new top-level part of the file.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec

from actors.kinds.llms_txt.sections import DescribedPage, Section, group_sections
from actors.kinds.llms_txt.titles import one_line

__all__ = [
    "DescribedPage",
    "Section",
    "SiteInfo",
    "build_llms_full",
    "build_llms_txt",
    "full_text_head",
    "group_sections",
    "join_full_text",
    "render_llms_full",
    "render_llms_txt",
]

_URL_ESCAPES = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
_TITLE_ESCAPES = str.maketrans({"[": "(", "]": ")", "\\": "\\\\"})
_ATX_HEADING = re.compile(r"^( {0,3})(#{1,6})(?=\s|$)")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# A line that may open or close a fence or be a heading (up to three spaces, then "#", "`" or "~"), with the
# line break before it: the lines ``demote_headings`` looks at, found by the regex engine's scan for the line
# break rather than by a Python loop over every line.
_MAY_START_BLOCK = re.compile(r"\n( {0,3}[#`~][^\n]*)")
# A line a Markdown reader (or the llms.txt parser) would take as a heading or a quote: escaped in details.
_BLOCK_START = re.compile(r"^(\s*)([#>])")


class SiteInfo(msgspec.Struct, kw_only=True):
    """The header of both files.

    Attributes:
        name: The ``# H1``; falls back to the base URL's host when empty.
        base_url: The site's root URL.
        summary: One paragraph for the ``>`` line (newlines are collapsed); omitted when empty.
        details: Extra paragraphs between the summary and the first section; omitted when empty.
    """

    name: str
    base_url: str
    summary: str = ""
    details: str | None = None


def build_llms_txt(site: SiteInfo, pages: list[DescribedPage]) -> str:
    """Render ``llms.txt`` with sections from the pages' URL folders (``sections.group_sections``).

    Args:
        site: Name, base URL, summary and details.
        pages: The pages; each URL appears exactly once (duplicates keep the first).

    Returns:
        The file's text, ending with a newline.
    """
    return render_llms_txt(site, group_sections(pages, site.base_url))


def render_llms_txt(site: SiteInfo, sections: list[Section]) -> str:
    """Render ``llms.txt``: header, then one ``## Section`` per group with one link line per page.

    Args:
        site: Name, base URL, summary and details.
        sections: The sections in output order, each page in exactly one.

    Returns:
        The file's text, ending with a newline.
    """
    if summary_only(site):
        # The reference parser reads the "> summary" line only when text follows it before the first
        # section, so a file without details gets a short one that is useful to a reader anyway.
        pages = sum(len(section.pages) for section in sections)
        count = f"{pages} page" + ("" if pages == 1 else "s")
        site = msgspec.structs.replace(site, details=f"This file lists {count} of {site.base_url}, by section.")
    parts = [_header(site)]
    for section in sections:
        lines = [f"## {one_line(section.name)}", ""]
        lines.extend(_link_line(page) for page in section.pages)
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def build_llms_full(site: SiteInfo, pages: list[DescribedPage]) -> str:
    """Render ``llms-full.txt`` with sections from the pages' URL folders (see `render_llms_full`)."""
    return render_llms_full(site, group_sections(pages, site.base_url))


def render_llms_full(site: SiteInfo, sections: list[Section]) -> str:
    """Render ``llms-full.txt``: the header, then every page's Markdown in llms.txt order.

    Args:
        site: Name, base URL, summary and details.
        sections: The sections in output order.

    Returns:
        The file's text, ending with a newline.
    """
    return join_full_text(site, [full_text_block(page) for section in sections for page in section.pages])


# Between the head and the first page block of llms-full.txt, and between two page blocks.
BLOCK_SEPARATOR = "\n\n---\n\n"


def join_full_text(site: SiteInfo, blocks: list[str]) -> str:
    """``llms-full.txt`` from the header and already rendered page blocks (`full_text_block`)."""
    return BLOCK_SEPARATOR.join([full_text_head(site, len(blocks)), *blocks]) + "\n"


def full_text_head(site: SiteInfo, count: int) -> str:
    """The start of ``llms-full.txt``: the header and a line saying how many pages follow."""
    intro = f"This file holds the full text of {count} page{'s' if count != 1 else ''} of {site.base_url}."
    return _header(site) + "\n\n" + intro


def full_text_block(page: DescribedPage) -> str:
    """One page in ``llms-full.txt``: ``## Title``, its ``Source:`` line and its demoted Markdown."""
    title = one_line(page.title) or _fallback_title(page.url)
    body = demote_headings(_drop_leading_title(page.markdown.strip(), title))
    block = f"## {title}\n\nSource: {page.url}"
    return f"{block}\n\n{body}" if body else block


def demote_headings(markdown: str, levels: int = 2) -> str:
    """Push every ATX heading outside code fences down ``levels`` levels, capped at ``######``.

    Setext headings (underlined with ``===``/``---``) are left alone: html-to-markdown writes ATX ones, and
    they cannot be mistaken for a ``##`` line by a line-based reader.
    """
    # Most lines are prose, which neither a fence nor a heading starts like: only the others are looked at, in
    # order, and the text between the headings is copied as it is (46 against 29 ms on the benchmark's manual).
    text = "\n" + markdown
    out = []
    copied = 0
    fence: str | None = None
    for candidate in _MAY_START_BLOCK.finditer(text):
        line = candidate.group(1)
        if (match := _FENCE.match(line)) is not None:
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker) :].strip():
                fence = None
        elif fence is None and (heading := _ATX_HEADING.match(line)) is not None:
            start = candidate.start(1)
            out.append(text[copied:start])
            out.append("#" * min(6, len(heading.group(2)) + levels))
            copied = start + heading.end()
    out.append(text[copied:])
    return "".join(out)[1:]


def summary_only(site: SiteInfo) -> bool:
    """A summary and no details paragraph."""
    return bool(one_line(site.summary)) and not (site.details and site.details.strip())


def _header(site: SiteInfo) -> str:
    name = one_line(site.name) or urlsplit(site.base_url).netloc or site.base_url
    parts = [f"# {name}"]
    if summary := one_line(site.summary):
        parts.append(f"> {summary}")
    if site.details:
        paragraphs = [one_line(p) for p in re.split(r"\n\s*\n", site.details)]
        parts.extend(_BLOCK_START.sub(r"\1\\\2", p) for p in paragraphs if p)
    return "\n\n".join(parts)


def _link_line(page: DescribedPage) -> str:
    title = (one_line(page.title) or _fallback_title(page.url)).translate(_TITLE_ESCAPES)
    url = page.url.strip().translate(_URL_ESCAPES)
    line = f"- [{title}]({url})"
    description = one_line(page.description)
    return f"{line}: {description}" if description else line


def _fallback_title(url: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return path or parts.netloc or url


def _drop_leading_title(markdown: str, title: str) -> str:
    # The page's own H1 usually repeats the title just written as "## title": keep one of them.
    first, _, rest = markdown.partition("\n")
    heading = first[2:].strip().casefold() if first.startswith("# ") else ""
    folded = title.casefold()
    if heading and (folded == heading or folded.startswith(heading + " ") or folded.endswith(" " + heading)):
        return rest.strip()
    return markdown
