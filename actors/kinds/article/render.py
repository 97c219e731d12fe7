"""The model's Markdown as HTML a browser can show without running anything from it.

markdown-it-py's CommonMark preset with raw HTML turned off: ``<script>``, ``<img onerror=...>`` and every
other tag in the text are escaped, not passed through; its link validation drops ``javascript:``,
``vbscript:``, ``file:`` and ``data:`` URLs (but images'). Links also get ``rel="nofollow noopener"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


def markdown_to_html(markdown: str) -> str:
    """Safe HTML of ``markdown``."""
    return str(_parser().render(markdown))
