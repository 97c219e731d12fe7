"""The model's Markdown as HTML a browser can show without running anything from it.

markdown-it-py's CommonMark preset with raw HTML turned off: ``<script>``, ``<img onerror=...>`` and every
other tag in the text are escaped, not passed through; its link validation drops ``javascript:``,
``vbscript:``, ``file:`` and ``data:`` URLs (but images'). Links also get ``rel="nofollow noopener"``.
"""

from __future__ import annotations

import uuid
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


@lru_cache(maxsize=128)
def version_html(version_id: uuid.UUID, markdown: str) -> str:
    """``markdown_to_html`` of an order version, rendered once per API process while it is among the 128 last
    shown: versions never change, and an order's page and its JSON clients read the latest one again on every
    look (rendering a 900-word article took 6.9 % of the API's CPU in the ``article_orders`` benchmark, whose
    clients poll). The text is part of the key, so a version is never shown with another's HTML."""
    return markdown_to_html(markdown)
