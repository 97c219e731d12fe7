"""The main content of a page as Markdown, with html-to-markdown (a Rust core, actively maintained).

html-to-markdown has two converters: Tier 2 parses a DOM and walks it; Tier 1 is a single-pass byte
scanner that hands a page back to Tier 2 by itself when it meets a construct it does not support. Its
``auto`` choice never picks Tier 1 with our options, so we ask for it: on the benchmark's manual pages it
takes 0.28 ms a page against Tier 2's 0.87 ms (mdream, the Node peer's converter, 0.41 ms), with the same
Markdown except that Tier 1 ignores ``compact_tables`` and pads table columns, which ``_compact_tables``
undoes for about 0.14 ms (padding is only whitespace tokens for a model). See ``tests/bench/extract_speed.py``.
"""

from __future__ import annotations

import dataclasses
import re

import html_to_markdown
from html_to_markdown import ConversionOptions, convert
from selectolax.lexbor import LexborNode

# Icon-only links lose their image (images are skipped) and become "[](url)": drop them.
_EMPTY_LINK = re.compile(r"\[\s*\]\([^)]*\)")
# Each pattern below starts with a literal string of two or more characters ("\n\n\n", two spaces, " ----"),
# which the regex engine looks for with a fast scan before it tries a match; written as ``\n{3,}``,
# `` {2,}\|`` and `` -{4,}`` they start with a repeat, and a match is tried at every newline, space or dash
# (``_compact_tables`` took 72 against 50 µs a page on the benchmark's manual, the blank runs 10 against 2).
_BLANK_RUNS = re.compile(r"\n\n\n+")
# Tier 1's table padding: the spaces before a cell's closing pipe (two or more), and a delimiter cell's extra
# dashes (five or more).
_CELL_PADDING = re.compile(r"   *\|")
_LONG_DELIMITER = re.compile(r" -----*(?= )")
# A run of consecutive lines that start a table row ("|"), with the line break before it: both paddings above
# stay within a line, so they are removed from the whole run at once. The pattern starts with a literal, which
# the regex engine looks for with a fast scan: ``^\|`` in multiline mode was tried at every position of the
# text (64 against 16 µs a page on the benchmark's manual).
_TABLE_ROWS = re.compile(r"\n\|[^\n]*(?:\n\|[^\n]*)*")
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
    options = ConversionOptions(
        extract_metadata=False, skip_images=True, compact_tables=True, tier_strategy=html_to_markdown.TierStrategy.TIER1
    )
    native = {}
    for name, enum in _ENUM_OPTIONS.items():
        value = getattr(options, name)
        if isinstance(value, str) and (member := getattr(enum, value.upper().replace("-", "_"), None)) is not None:
            native[name] = member
    return dataclasses.replace(options, **native)


_OPTIONS = _options_template()


def conversion_options() -> ConversionOptions:
    """The options ``to_markdown`` converts with (without a ``base_url``), for benchmarks."""
    return _OPTIONS


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
    if "  |" in markdown or " ----" in markdown:
        markdown = _compact_tables(markdown)
    if "\n\n\n" in markdown:
        markdown = _BLANK_RUNS.sub("\n\n", markdown)
    return markdown.strip()


def _compact_tables(markdown: str) -> str:
    """Table rows without column padding ("| a | b |", an empty cell "| |"); code is left alone."""
    # Even parts are outside fenced code blocks (the converter fences code with ```); only lines that start
    # a table row are rewritten, a run of them at a time (one regex call per table, not per row).
    parts = markdown.split("```")
    for i in range(0, len(parts), 2):
        if "|" in parts[i]:
            # A part's first line counts as a line start too (as it did for ``^`` in multiline mode).
            parts[i] = _TABLE_ROWS.sub(_unpad, "\n" + parts[i])[1:]
    return "```".join(parts)


def _unpad(rows: re.Match[str]) -> str:
    # Neither pattern holds a pipe or a line break, and a delimiter's dashes keep a space after them once the
    # padding is gone: on the whole run of rows they do what they would do cell by cell.
    text = rows.group()
    if "  |" in text:
        text = _CELL_PADDING.sub(" |", text)
    if " ----" in text:
        text = _LONG_DELIMITER.sub(" ---", text)
    return text
