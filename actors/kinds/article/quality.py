"""The quality check of a generated text: a pure function of the Markdown and what the order asks for.

A text passes when:

* the backlink appears exactly once, as a Markdown link with the exact anchor text and the exact target URL;
* the keyword (if the order has one) appears in the title or the first paragraph;
* its word count is within the order's range;
* it has a title (``# ...``) and at least one ``## `` section;
* its internal links (to the domain) go only to the domain's catalog URLs;
* no placeholder or prompt text is left ("As an AI", "[insert", "Lorem ipsum", ...);
* it links nowhere else, unless the order allows other external links.

Every failed rule is one problem with a code and a sentence; the sentences go back into the next attempt's
prompt, so they speak to the writer.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec

# [text](url) or [text](url "title"), not images (![alt](src)).
_LINK = re.compile(r"(?<!!)\[([^\[\]]*)\]\(\s*<?([^\s<>()]+(?:\([^\s()]*\))?[^\s<>()]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LEFTOVERS = (
    "as an ai",
    "as a language model",
    "as an ai language model",
    "[insert",
    "[placeholder",
    "lorem ipsum",
    "{{",
    "<your ",
)


class Problem(msgspec.Struct, frozen=True):
    code: str
    message: str


class QcRules(msgspec.Struct, frozen=True):
    """What the order asks of the text."""

    target_url: str
    anchor_text: str
    domain_host: str
    catalog_urls: frozenset[str] = frozenset()
    keyword: str = ""
    min_words: int = 800
    max_words: int = 2000
    allow_external_links: bool = False


class QcReport(msgspec.Struct, frozen=True):
    passed: bool
    problems: tuple[Problem, ...]
    title: str
    word_count: int
    backlinks: int
    internal_links: int
    external_links: int


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _normal(url: str) -> str:
    """A URL compared loosely for catalog membership: no fragment, no trailing slash."""
    return url.split("#", 1)[0].rstrip("/")


def title_of(markdown: str) -> str:
    """The text of the first ``# `` heading ("" without one)."""
    for line in markdown.splitlines():
        match = _HEADING.match(line.strip())
        if match and len(match.group(1)) == 1:
            return match.group(2).strip()
    return ""


def first_paragraph(markdown: str) -> str:
    """The first block of text that is not a heading."""
    for block in re.split(r"\n\s*\n", markdown.strip()):
        text = block.strip()
        if text and not text.startswith("#"):
            return text
    return ""


def count_words(markdown: str) -> int:
    """Words of the text as a reader sees it: link targets and Markdown marks do not count."""
    text = _LINK.sub(lambda m: m.group(1), markdown)
    text = _AUTOLINK.sub("", text)
    return len(_WORD.findall(text))


def check_quality(markdown: str, rules: QcRules) -> QcReport:
    """Check ``markdown`` against ``rules``; pure (no I/O), so it is tested on its own."""
    problems: list[Problem] = []
    links = [(m.group(1), m.group(2)) for m in _LINK.finditer(markdown)]
    urls = [url for _, url in links] + _AUTOLINK.findall(markdown)

    to_target = [(text, url) for text, url in links if url == rules.target_url]
    exact = [text for text, _ in to_target if text == rules.anchor_text]
    bare_target = markdown.count(rules.target_url) - len(to_target)
    if len(exact) != 1 or len(to_target) != 1 or bare_target > 0:
        if not to_target:
            message = (
                f"The backlink is missing: include exactly one Markdown link [{rules.anchor_text}]({rules.target_url})."
            )
        elif not exact:
            message = (
                f"The backlink's anchor text must be exactly {rules.anchor_text!r}: write "
                f"[{rules.anchor_text}]({rules.target_url})."
            )
        else:
            message = f"Link to {rules.target_url} exactly once (found {len(to_target) + max(bare_target, 0)} times)."
        problems.append(Problem("backlink", message))

    title = title_of(markdown)
    if not title:
        problems.append(Problem("title", "Start with a title as a level-1 heading (# Title)."))
    keyword = rules.keyword.strip().lower()
    if keyword and keyword not in title.lower() and keyword not in first_paragraph(markdown).lower():
        problems.append(Problem("keyword", f"Use the keyword {rules.keyword!r} in the title or the first paragraph."))

    words = count_words(markdown)
    if not rules.min_words <= words <= rules.max_words:
        problems.append(
            Problem(
                "word_count",
                f"The text has {words} words; it must have between {rules.min_words} and {rules.max_words}.",
            )
        )
    if not any((m := _HEADING.match(line.strip())) and len(m.group(1)) == 2 for line in markdown.splitlines()):
        problems.append(Problem("headings", "Organise the text in sections with at least one ## heading."))

    domain = rules.domain_host.lower().removeprefix("www.")
    catalog = {_normal(u) for u in rules.catalog_urls}
    internal = [u for u in urls if _host(u) == domain]
    wrong_internal = sorted({u for u in internal if _normal(u) not in catalog and u != rules.target_url})
    if wrong_internal:
        problems.append(
            Problem(
                "internal_links",
                "Link only to the site's existing articles listed in the instructions; remove: "
                + ", ".join(wrong_internal[:5]),
            )
        )
    external = [u for u in urls if u != rules.target_url and _host(u) != domain]
    if external and not rules.allow_external_links:
        problems.append(
            Problem("external_links", "Remove every other external link: " + ", ".join(sorted(set(external))[:5]))
        )

    lowered = markdown.lower()
    leftovers = [marker for marker in _LEFTOVERS if marker in lowered]
    if leftovers:
        problems.append(
            Problem(
                "leftovers",
                "Remove placeholder or prompt text (" + ", ".join(repr(m) for m in leftovers) + ").",
            )
        )
    return QcReport(
        passed=not problems,
        problems=tuple(problems),
        title=title,
        word_count=words,
        backlinks=len(to_target),
        internal_links=len(internal),
        external_links=len(external),
    )
