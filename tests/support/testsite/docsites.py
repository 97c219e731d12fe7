"""Two more generated sites whose structure is not in their URLs, one per structure source.

``build_sidebar_site``: "Brightline", a docs site whose pages are all ``/docs/<slug>/`` (one folder) and
whose every page carries the same sidebar: groups with labels that are not links ("Getting started",
"Guides" …), in the order a reader should take them. The home page is a landing page with a few links
and ``og:site_name``. Two pages are in the sitemap but in no sidebar (they must still be listed).

``build_breadcrumb_site``: "Northwind Help", a help centre whose articles are ``/articles/<id>-<slug>``
(flat) and whose only structure is each article's breadcrumb trail: JSON-LD ``BreadcrumbList`` on half of
them, an HTML ``<nav aria-label="breadcrumb">`` on the other half (Home > Category > Article).
"""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

from tests.support.testsite.builder import SiteSpec, _urlset
from tests.support.testsite.content import paragraph, sentence

SIDEBAR_GROUPS = (
    ("Getting started", ("Introduction", "Installation", "First pipeline", "Core ideas")),
    ("Guides", ("Scheduling runs", "Retries", "Secrets", "Webhooks", "Backfills", "Alerts", "Testing pipelines")),
    ("Concepts", ("Pipelines", "Runs", "Workers", "Queues", "Artifacts")),
    ("API reference", ("Authentication", "Pipelines API", "Runs API", "Workers API", "Errors", "Rate limits")),
    ("Operations", ("Deploying", "Scaling", "Monitoring", "Backups", "Upgrading")),
)
HELP_CATEGORIES = ("Billing", "Your account", "Shipping", "Returns", "Integrations")


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def _write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    if path.endswith("/"):
        target = target / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def _document(title: str, head: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>{head}'
        f"</head><body>{body}</body></html>"
    )


def build_sidebar_site(root: Path) -> SiteSpec:
    """Write "Brightline" under ``root``; ``spec.listed`` is the sidebar's reading order, then the extras."""
    spec = SiteSpec(root=root)
    rng = random.Random("brightline")
    items = "".join(
        f"<li><span class='group-label'>{group}</span><ul>"
        + "".join(f'<li><a href="/docs/{_slug(t)}/">{t}</a></li>' for t in titles)
        + "</ul></li>"
        for group, titles in SIDEBAR_GROUPS
    )
    sidebar = f'<aside class="sidebar"><nav aria-label="Docs"><ul>{items}</ul></nav></aside>'
    header = (
        '<header><a href="/">Brightline</a><nav><a href="/docs/introduction/">Docs</a> '
        '<a href="/pricing/">Pricing</a></nav></header>'
    )
    head = '<meta property="og:site_name" content="Brightline">'
    landing = (
        f"{header}<main><h1>Pipelines that never lose a run</h1>"
        "<p>Brightline schedules, runs and retries your data pipelines, and tells you when one needs you.</p>"
        '<p><a href="/docs/introduction/">Read the docs</a> or <a href="/pricing/">see pricing</a>.</p></main>'
    )
    _write(root, "/", _document("Brightline: pipelines that never lose a run", head, landing))
    spec.pages.append("/")
    extras = [("/docs/legacy-cli/", "Legacy CLI"), ("/docs/glossary/", "Glossary")]
    pages = [(f"/docs/{_slug(t)}/", t) for _, titles in SIDEBAR_GROUPS for t in titles]
    for path, title in [*pages, *extras]:
        text = "".join(f"<h2>{sentence(rng, 4)[:-1]}</h2><p>{paragraph(rng)}</p>" for _ in range(3))
        body = f"{header}<div class='layout'>{sidebar}<main><h1>{title}</h1>{text}</main></div>"
        _write(root, path, _document(f"{title} | Brightline Docs", head, body))
        spec.pages.append(path)
    _write(root, "/pricing/", _document("Pricing | Brightline", head, f"{header}<main><h1>Pricing</h1></main>"))
    spec.pages.append("/pricing/")
    spec.listed = [p for p, _ in pages] + [p for p, _ in extras] + ["/", "/pricing/"]
    _write(root, "/sitemap.xml", _urlset(sorted(spec.listed)).decode())
    return spec


def _trail_json_ld(category: str, title: str, path: str) -> str:
    elements = [
        {"@type": "ListItem", "position": 1, "name": "Home", "item": "__BASE__/"},
        {"@type": "ListItem", "position": 2, "name": category, "item": f"__BASE__/categories/{_slug(category)}"},
        {"@type": "ListItem", "position": 3, "name": title, "item": f"__BASE__{path}"},
    ]
    data = {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": elements}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def build_breadcrumb_site(root: Path, per_category: int = 6) -> SiteSpec:
    """Write "Northwind Help" under ``root``; ``spec.depths`` maps each article path to its category index."""
    spec = SiteSpec(root=root)
    rng = random.Random("northwind")
    home_links = []
    number = 100
    for c, category in enumerate(HELP_CATEGORIES):
        for i in range(per_category):
            number += rng.randint(1, 40)
            title = f"{category}: {sentence(rng, 4)[:-1]}"
            path = f"/articles/{number}-{_slug(title.replace(':', ''))}/"
            if i % 2 == 0:
                head, crumbs = _trail_json_ld(category, title, path), ""
            else:
                head = ""
                crumbs = (
                    '<nav aria-label="breadcrumb"><ol><li><a href="/">Home</a></li>'
                    f'<li><a href="/categories/{_slug(category)}">{category}</a></li>'
                    f"<li>{html.escape(title)}</li></ol></nav>"
                )
            body = f"{crumbs}<main><h1>{html.escape(title)}</h1><p>{paragraph(rng)}</p><p>{paragraph(rng)}</p></main>"
            _write(root, path, _document(f"{title} – Northwind Help", head, body))  # noqa: RUF001
            spec.pages.append(path)
            spec.depths[path] = c
            if i == 0:
                home_links.append(f'<li><a href="{path}">{html.escape(title)}</a></li>')
    home = (
        "<main><h1>Northwind Help</h1>"
        "<p>Answers about orders, billing and your Northwind account, from our team.</p>"
        f"<h2>Popular</h2><ul>{''.join(home_links)}</ul></main>"
    )
    _write(root, "/", _document("Northwind Help", '<meta name="description" content="Northwind help centre.">', home))
    spec.pages.insert(0, "/")
    spec.listed = sorted(spec.pages)
    _write(root, "/sitemap.xml", _urlset(spec.listed).decode())
    return spec
