"""Generators of the two test sites, written as files that ``server`` serves.

``build_site``: "Acme Cloud", a documentation site with a sitemap index (one child gzipped, one a nested
index), robots.txt with a ``Disallow`` for everyone, a group for our user agent and a ``Crawl-delay`` for
another one, 301 redirects to canonical URLs and a 301 -> 302 chain, broken pages (404, 500), a PDF, and
sections /docs, /blog/2023|2024, /api, /legal, /tags, /private, /drafts.

``build_linked_site``: a small site with neither robots.txt nor sitemap, whose pages are only found by
following links, with pages at depth 4 (too deep), a page linked only with ``rel="nofollow"``, and links
the walk must ignore (other sites, mailto, javascript, fragments, a PDF).
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from tests.support.testsite.content import Page, render

DOC_SECTIONS = ("getting-started", "guides", "reference", "tutorials", "deployment", "troubleshooting")
API_RESOURCES = ("users", "projects", "jobs", "webhooks", "tokens", "billing", "events", "files", "teams", "audit")
TAGS = ("python", "security", "performance", "release", "tutorial", "architecture", "kubernetes", "billing")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ROBOTS_TXT = """# Acme Cloud robots.txt
User-agent: *
Disallow: /private/

User-agent: genjobs-llms-txt
Disallow: /private/
Disallow: /drafts/

User-agent: SlowBot
Crawl-delay: 30
Disallow: /

Sitemap: __BASE__/sitemap_index.xml
"""


@dataclass
class SiteSpec:
    """What a generated site contains, for tests to compare against (paths, not URLs)."""

    root: Path
    pages: list[str] = field(default_factory=list)  # every HTML page served with 200
    listed: list[str] = field(default_factory=list)  # every page URL path in the sitemaps
    disallowed: list[str] = field(default_factory=list)  # listed paths robots.txt forbids to us
    redirects: dict[str, str] = field(default_factory=dict)  # path -> final path
    broken: dict[str, int] = field(default_factory=dict)  # path -> status
    not_html: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # sitemap files, the index first
    gzipped_sitemap: str | None = None
    depths: dict[str, int] = field(default_factory=dict)  # link distance from the home page
    unreachable: list[str] = field(default_factory=list)  # pages a depth-3 link walk must not find


class _Writer:
    def __init__(self, root: Path, site_name: str, nav: list[tuple[str, str]], footer: list[tuple[str, str]]) -> None:
        self.root, self.site_name, self.nav, self.footer = root, site_name, nav, footer
        self.rng = random.Random(site_name)

    def page(self, page: Page, spec: SiteSpec) -> None:
        if page.paragraphs == 6:
            page.paragraphs = self.rng.randint(6, 24)
        text = render(page, site_name=self.site_name, nav=self.nav, footer=self.footer, seed=7)
        self.file(page.path + "index.html" if page.path.endswith("/") else page.path, text.encode())
        spec.pages.append(page.path)

    def file(self, path: str, data: bytes) -> None:
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _urlset(paths: list[str]) -> bytes:
    entries = []
    for i, path in enumerate(paths):
        image = "<image:image><image:loc>__BASE__/img/cover.png</image:loc></image:image>" if i == 0 else ""
        entries.append(
            f"<url><loc>__BASE__{escape(path)}</loc><lastmod>2024-0{1 + i % 9}-15</lastmod>"
            f"<changefreq>weekly</changefreq>{image}</url>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">\n' + "\n".join(entries) + "\n</urlset>\n"
    ).encode()


def _index(paths: list[str]) -> bytes:
    entries = "\n".join(f"<sitemap><loc>__BASE__{p}</loc><lastmod>2024-06-01</lastmod></sitemap>" for p in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{entries}\n</sitemapindex>\n'
    ).encode()


def _title(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


def build_site(root: Path, pages: int = 300) -> SiteSpec:
    """Write "Acme Cloud" (about ``pages`` HTML pages) under ``root`` and describe it."""
    spec = SiteSpec(root=root)
    nav = [("/", "Home"), ("/docs/", "Docs"), ("/blog/", "Blog"), ("/api/", "API"), ("/about/", "About")]
    footer = [("/legal/privacy/", "Privacy"), ("/legal/terms/", "Terms"), ("/legal/cookies/", "Cookies")]
    w = _Writer(root, "Acme Cloud", nav, footer)
    rng = random.Random(pages)
    budget = max(pages - 30, 30)
    docs, blog, api = [], [], []
    for i in range(int(budget * 0.45)):
        section = DOC_SECTIONS[i % len(DOC_SECTIONS)]
        slug = "quickstart" if i == 0 else f"{rng.choice(('using', 'configuring', 'scaling', 'securing'))}-{i}"
        docs.append(f"/docs/{section}/{slug}/")
    for i in range(int(budget * 0.35)):
        blog.append(f"/blog/{2023 + i % 2}/post-{i}-{rng.choice(('launch', 'update', 'deep-dive', 'howto'))}/")
    for i in range(budget - len(docs) - len(blog)):
        verb = ("list", "get", "create", "update", "delete")[i // 10 % 5]
        api.append(f"/api/{API_RESOURCES[i % len(API_RESOURCES)]}/{verb}-{i}/")
    sections = [f"/docs/{s}/" for s in DOC_SECTIONS]
    tags = [f"/tags/{t}/" for t in TAGS]
    legal = ["/legal/privacy/", "/legal/terms/", "/legal/cookies/"]
    private = ["/private/roadmap/", "/private/salaries/", "/private/board-minutes/"]
    drafts = ["/drafts/new-pricing/", "/drafts/launch-post/"]

    home_links = [("/docs/", "Documentation"), ("/docs/guides", "Guides"), ("/blog/", "Blog"), ("/api/", "API")]
    w.page(Page("/", "Acme Cloud", "Acme Cloud runs your jobs, queues and webhooks.", links=home_links), spec)
    pdf_link = '<p>Read the <a href="/files/whitepaper.pdf">whitepaper (PDF)</a>.</p>'
    section_links = [(s, _title(s.split("/")[2])) for s in sections]
    w.page(Page("/docs/", "Documentation", "Everything about Acme Cloud.", section_links, extra_html=pdf_link), spec)
    for section in sections:
        children = [(d, _title(d.split("/")[3])) for d in docs if d.startswith(section)]
        w.page(Page(section, _title(section.split("/")[2]), f"The {section} section.", sidebar=children), spec)
    for path in docs:
        siblings = [(d, _title(d.split("/")[3])) for d in docs if d.split("/")[2] == path.split("/")[2]][:12]
        related = [(rng.choice(docs), "Related guide"), (rng.choice(tags), "Tag")]
        w.page(Page(path, _title(path.split("/")[3]), f"How to {path.split('/')[3]}.", related, siblings), spec)
    w.page(Page("/blog/", "Blog", "News from Acme.", links=[(b, _title(b.split("/")[3])) for b in blog[:20]]), spec)
    for path in blog:
        links = [(rng.choice(tags), "Tag"), (rng.choice(docs), "Docs")]
        w.page(Page(path, _title(path.split("/")[3]), f"Blog post {path.split('/')[3]}.", links), spec)
    w.page(Page("/api/", "API reference", "The REST API.", links=[(f"/api/{r}/", r) for r in API_RESOURCES]), spec)
    for resource in API_RESOURCES:
        methods = [(a, a.split("/")[3]) for a in api if a.split("/")[2] == resource]
        w.page(Page(f"/api/{resource}/", f"{resource} API", f"The {resource} resource.", sidebar=methods), spec)
    for path in api:
        w.page(Page(path, path.split("/")[3], f"API method {path.split('/')[3]}.", paragraphs=rng.randint(8, 20)), spec)
    for path in tags + legal + private + drafts + ["/tags/", "/about/"]:
        w.page(Page(path, _title(path.strip("/").split("/")[-1]), f"The {path} page."), spec)
    w.file("/files/whitepaper.pdf", PDF)
    w.file("/robots.txt", ROBOTS_TXT.encode())

    spec.redirects = {
        "/docs/old-quickstart/": "/docs/getting-started/quickstart/",
        "/blog/legacy/": "/blog/",  # 301 to /blog/archive/, which answers 302 to /blog/
    }
    spec.broken = {"/blog/2023/deleted-post/": 404, "/api/flaky/": 500}
    spec.not_html = ["/files/whitepaper.pdf"]
    manifest = {
        "gzip_responses": True,
        "redirects": {
            "/docs/old-quickstart/": [301, "__BASE__/docs/getting-started/quickstart/"],
            "/blog/legacy/": [301, "/blog/archive/"],
            "/blog/archive/": [302, "/blog/"],
        },
        "statuses": spec.broken,
    }
    w.file("/_site.json", json.dumps(manifest).encode())

    listed_docs = ["/docs/", *sections, *docs, "/docs/old-quickstart/", "/files/whitepaper.pdf"]
    listed_blog = ["/blog/", *blog, "/blog/legacy/", "/blog/2023/deleted-post/"]
    listed_pages = [
        "/",
        "/api/",
        *[f"/api/{r}/" for r in API_RESOURCES],
        *api,
        *legal,
        *private,
        *drafts,
        "/api/flaky/",
    ]
    listed_tags = ["/tags/", *tags]
    child_sitemaps = ["/sitemaps/docs.xml", "/sitemaps/blog.xml.gz", "/sitemaps/pages.xml", "/sitemaps/more.xml"]
    w.file("/sitemap_index.xml", _index(child_sitemaps))
    w.file("/sitemaps/docs.xml", _urlset(listed_docs))
    w.file("/sitemaps/blog.xml.gz", gzip.compress(_urlset(listed_blog), mtime=0))
    w.file("/sitemaps/pages.xml", _urlset(listed_pages))
    w.file("/sitemaps/more.xml", _index(["/sitemaps/tags.xml"]))
    w.file("/sitemaps/tags.xml", _urlset(listed_tags))
    spec.sitemaps = ["/sitemap_index.xml", *child_sitemaps, "/sitemaps/tags.xml"]
    spec.gzipped_sitemap = "/sitemaps/blog.xml.gz"
    spec.listed = listed_docs + listed_blog + listed_pages + listed_tags
    spec.disallowed = private + drafts
    return spec


def build_linked_site(root: Path, sections: int = 3, items: int = 4, parts: int = 2) -> SiteSpec:
    """Write a site without robots.txt or sitemap, whose pages are found only through links."""
    spec = SiteSpec(root=root)
    names = ("guide", "news", "products", "team", "events")[:sections]
    w = _Writer(root, "Linked Co", [("/", "Home")], [("/contact/", "Contact")])
    odd_links = (
        '<p><a href="https://example.org/elsewhere/">Elsewhere</a> <a href="http://localhost:9/">Local</a> '
        '<a href="mailto:team@example.com">Mail</a> <a href="javascript:alert(1)">JS</a> <a href="#top">Top</a> '
        '<a href="/hidden/" rel="nofollow">Hidden</a> <a href="/files/manual.pdf">Manual</a> '
        f'<a href="/{names[0]}/#intro">Intro</a></p>'
    )
    home_links = [(f"/{n}/", _title(n)) for n in names] + [("/contact/", "Contact")]
    w.page(Page("/", "Linked Co", "A site without a sitemap.", home_links, extra_html=odd_links), spec)
    spec.depths["/"] = 0
    w.page(Page("/contact/", "Contact", "Write to us."), spec)
    spec.depths["/contact/"] = 1
    for name in names:
        section = f"/{name}/"
        item_links = [(f"item-{i}/", f"Item {i}") for i in range(1, items + 1)]
        w.page(Page(section, _title(name), f"The {name} section.", item_links), spec)
        spec.depths[section] = 1
        for i in range(1, items + 1):
            item = f"{section}item-{i}/"
            links = [(f"part-{j}/", f"Part {j}") for j in range(1, parts + 1)] + [("../", "Up")]
            w.page(Page(item, f"{_title(name)} item {i}", f"Item {i} of {name}.", links), spec)
            spec.depths[item] = 2
            for j in range(1, parts + 1):
                part = f"{item}part-{j}/"
                w.page(Page(part, f"Part {j}", f"Part {j} of item {i}.", [("deep/", "Deeper")]), spec)
                spec.depths[part] = 3
                w.page(Page(f"{part}deep/", "Deep", "Four links from home."), spec)
                spec.depths[f"{part}deep/"] = 4
                spec.unreachable.append(f"{part}deep/")
    w.page(Page("/hidden/", "Hidden", "Only linked with nofollow."), spec)
    spec.unreachable.append("/hidden/")
    w.file("/files/manual.pdf", PDF)
    spec.not_html = ["/files/manual.pdf"]
    return spec
