"""The main content of a page as Markdown, with html-to-markdown (a Rust core, actively maintained; about
1 ms for a 14 KB page where markdownify takes 12 ms, see ``tests/bench/extract_speed.py``).
"""

from __future__ import annotations

import dataclasses
import re

import html_to_markdown
from html_to_markdown import ConversionOptions, convert
from selectolax.lexbor import LexborNode

# Icon-only links lose their image (images are skipped) and become "[](url)": drop them.
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)]*\)")
_BLANK_RUNS = re.compile(r"\n{3,}")
_ENUM_OPTIONS = {
    "heading_style": html_to_markdown.HeadingStyle,
    "list_indent_type": html_to_markdown.ListIndentType,
    "highlight_style": html_to_markdown.HighlightStyle,
    "whitespace_mode": html_to_markdown.WhitespaceMode,
    "newline_style": html_to_markdown.NewlineStyle,
    "code_block_style": html_to_markdown.CodeBlockStyle,
    "inline_data_media": html_to_markdown.InlineDataMedia,
    "hidden_content": html_to_markdown.HiddenContent,
    "url_escape_style": html_to_markdown.UrlEscapeStyle,
    "link_style": html_to_markdown.LinkStyle,
    "output_format": html_to_markdown.OutputFormat,
    "tier_strategy": html_to_markdown.TierStrategy,
}


def _options_template() -> ConversionOptions:
    """Our conversion options with their enum fields already the native enums.

    html-to-markdown turns string option values ("atx") into its native enums on every call, by trying
    name spellings: about 40 µs a page. A value that is already the enum passes straight through.
    """
    # Compact tables: column padding is only whitespace tokens for a model reading the file.
    options = ConversionOptions(extract_metadata=False, skip_images=True, compact_tables=True)
    native = {}
    for name, enum in _ENUM_OPTIONS.items():
        value = getattr(options, name)
        if isinstance(value, str) and (member := getattr(enum, value.upper().replace("-", "_"), None)) is not None:
            native[name] = member
    return dataclasses.replace(options, **native)


_OPTIONS = _options_template()


def to_markdown(content: LexborNode, base: str) -> str:
    """The element's HTML as Markdown: links absolute against ``base``, images and empty links left out."""
    html = content.html or ""
    try:
        markdown = convert(html, dataclasses.replace(_OPTIONS, base_url=base)).content or ""
    except Exception:
        # A native converter failure on one hostile page must not fail the job: plain text still helps.
        markdown = content.text(separator="\n\n", strip=True, skip_empty=True)
    # The substring checks skip two regex passes over the whole text on the usual clean output.
    if "[" in markdown and "](" in markdown and _EMPTY_LINK.search(markdown):
        markdown = _EMPTY_LINK.sub("", markdown)
    if "\n\n\n" in markdown:
        markdown = _BLANK_RUNS.sub("\n\n", markdown)
    return markdown.strip()
