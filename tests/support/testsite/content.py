"""Realistic page HTML for the test sites: head metadata, site chrome, and varied main content.

Every page has a ``<title>``, a meta description and ``og:description``, a canonical link, header
navigation, a sidebar, a footer (the boilerplate an extractor must drop) and a ``<main>`` article with
headings, paragraphs, lists, a code block and sometimes a table; sizes fall between about 5 and 20 KB.
Text is drawn from a fixed vocabulary by a seeded generator, so a site is the same on every run.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

_VOCABULARY = (
    "api request response client server token cache queue worker deploy config schema field index "
    "record stream event handler route session database migration backup metric alert trace log "
    "policy role account project team release version feature option default limit timeout retry "
    "payload header status error result page section guide example install update support build "
    "run test check value setting network storage region cluster node service endpoint webhook"
)
WORDS = tuple(_VOCABULARY.split())
LANGUAGES = ("python", "javascript", "bash", "json")


@dataclass
class Page:
    """One HTML page to render."""

    path: str
    title: str
    description: str
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text) in the main content
    sidebar: list[tuple[str, str]] = field(default_factory=list)
    extra_html: str = ""  # raw HTML appended to the article (special links for the tests)
    paragraphs: int = 6


def sentence(rng: random.Random, words: int = 12) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng, rng.randint(8, 18)) for _ in range(rng.randint(3, 6)))


def _code(rng: random.Random) -> str:
    language = rng.choice(LANGUAGES)
    lines = [f"{rng.choice(WORDS)}_{rng.choice(WORDS)} = {rng.randint(1, 999)}" for _ in range(rng.randint(4, 12))]
    body = html.escape("\n".join(lines))
    return f'<pre><code class="language-{language}">{body}</code></pre>'


def _table(rng: random.Random) -> str:
    rows = "".join(
        f"<tr><td><code>{rng.choice(WORDS)}</code></td><td>{rng.choice(WORDS)}</td><td>{sentence(rng, 6)}</td></tr>"
        for _ in range(rng.randint(3, 8))
    )
    return f"<table><thead><tr><th>Name</th><th>Type</th><th>Description</th></tr></thead><tbody>{rows}</tbody></table>"


def _article(page: Page, rng: random.Random) -> str:
    parts = [f"<h1>{html.escape(page.title)}</h1>", f'<p class="lead">{html.escape(page.description)}</p>']
    for index in range(page.paragraphs):
        if index % 2 == 0:
            parts.append(f"<h2>{sentence(rng, 4)[:-1]}</h2>")
        parts.append(f"<p>{paragraph(rng)}</p>")
        roll = rng.random()
        if roll < 0.35:
            parts.append(_code(rng))
        elif roll < 0.6:
            items = "".join(f"<li>{sentence(rng, 7)}</li>" for _ in range(rng.randint(3, 6)))
            parts.append(f"<ul>{items}</ul>")
        elif roll < 0.7:
            parts.append(_table(rng))
    if page.links:
        items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in page.links)
        parts.append(f"<h2>See also</h2><ul>{items}</ul>")
    parts.append(page.extra_html)
    return "\n".join(parts)


def render(page: Page, *, site_name: str, nav: list[tuple[str, str]], footer: list[tuple[str, str]], seed: int) -> str:
    """The full HTML document of ``page`` (``__BASE__`` stands for the server's origin)."""
    rng = random.Random(f"{seed}:{page.path}")
    title = html.escape(f"{page.title} | {site_name}")
    description = html.escape(page.description)
    nav_html = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in nav)
    side_html = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in page.sidebar)
    foot_html = " · ".join(f'<a href="{href}">{html.escape(text)}</a>' for href, text in footer)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<meta name="description" content="{description}">
<meta property="og:title" content="{html.escape(page.title)}">
<meta property="og:description" content="{description}">
<meta property="og:type" content="article">
<link rel="canonical" href="__BASE__{page.path}">
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/app.js" defer></script>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "WebPage", "name": "{title}"}}</script>
</head>
<body>
<a class="skip-link" href="#content">Skip to content</a>
<header class="site-header">
<a class="logo" href="/">{html.escape(site_name)}</a>
<nav aria-label="Main"><ul>{nav_html}</ul></nav>
<form class="search" action="/search" role="search"><input type="search" name="q" placeholder="Search"></form>
</header>
<div class="layout">
<aside class="sidebar"><nav aria-label="Section"><ul>{side_html}</ul></nav></aside>
<main id="content"><article>
{_article(page, rng)}
</article></main>
</div>
<footer class="site-footer">
<p>{foot_html}</p>
<p>© 2024 {html.escape(site_name)}, Inc. All rights reserved. <a href="https://github.com/acme">GitHub</a>
<a href="mailto:hello@example.com">Contact</a> <a href="javascript:void(0)">Cookie settings</a></p>
</footer>
</body>
</html>
"""
