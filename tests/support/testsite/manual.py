"""A generated manual in one folder, shaped like a real exported documentation manual ("Quill 4 Manual").

Every page is ``/docs/<slug>.html`` (flat: the URL says nothing about the structure); ``/`` answers 301 to
``/docs/index.html``, whose meta description and first paragraph describe the product and whose nested
``<dl class="toc">`` lists the preface, the parts with their numbered chapters and sections ("Part III.",
"Chapter 9.", "9.3."), the appendices ("Appendix F.", "F.1."), the release notes of old versions, the
bibliography and the index. Sub-section pages ("9.3.1.") are not in the table of contents: only their
title numbers place them. A sitemap lists every page alphabetically.

Pages look like a DocBook export: a navigation header and footer (prev/up/home/next), a chapter's own
table of contents, paragraphs, tables and code. Sizes follow real documentation: a median near 14 KB and a
long tail up to 500 KB (a few huge reference tables). The text comes from a seeded generator: the same
site on every run, generated, never downloaded.
"""

from __future__ import annotations

import html
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.testsite.builder import SiteSpec, _urlset
from tests.support.testsite.content import WORDS

PRODUCT = "Quill"
MANUAL = "Quill 4 Manual"
SUMMARY = "Quill is an open-source event store that keeps every change to your data as an ordered, replayable log."
PART_NAMES = (
    "Tutorial", "The Quill Language", "Server Administration", "Client Interfaces", "Server Programming",
    "Reference", "Internals",
)  # fmt: skip
# Relative number of chapters per part, as in a real manual (a short tutorial, long language and admin parts).
PART_WEIGHTS = (3, 11, 14, 3, 12, 3, 14)
APPENDICES = (
    "Error Codes", "Date and Time Support", "Keywords", "Feature Conformance", "Release Notes",
    "Additional Modules", "Additional Programs", "External Projects", "Source Code Repository",
    "Documentation", "Limits",
)  # fmt: skip
RELEASE_NOTES = "E"
# Of the generated content: the page around it adds about 2 KB, for a median page near 14 KB.
MEDIAN_BYTES = 12_000


@dataclass
class Entry:
    """One page of the manual: its number ("9.3", "F", "II", ""), title, path and children."""

    number: str
    title: str
    path: str
    kind: str  # "part", "chapter", "appendix", "section", "subsection", "other"
    children: list[Entry] = field(default_factory=list)
    in_toc: bool = True

    @property
    def file(self) -> str:
        """The path relative to /docs/, as the manual's own links write it."""
        return self.path.rsplit("/", 1)[1]

    @property
    def heading(self) -> str:
        prefix = {"part": "Part ", "chapter": "Chapter ", "appendix": "Appendix "}.get(self.kind, "")
        return f"{prefix}{self.number}. {self.title}" if self.number else self.title


@dataclass
class ManualSpec(SiteSpec):
    """A manual site's description: reading order, top-level parts and the pages a reader may skip."""

    site_name: str = MANUAL
    summary: str = SUMMARY
    home: str = "/docs/index.html"
    reading_order: list[str] = field(default_factory=list)  # every page in the manual's own order
    top_level: list[str] = field(default_factory=list)  # headings of the preface, parts and appendices part
    optional: list[str] = field(default_factory=list)  # release notes and the index
    sizes: dict[str, int] = field(default_factory=dict)


class _Words:
    """Seeded sentences, drawn from a pool so a 20 MB site is generated in about a second."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = [self._make(rng.randint(6, 20)) for _ in range(3000)]

    def _make(self, n: int) -> str:
        text = " ".join(self.rng.choice(WORDS) for _ in range(n))
        return text[0].upper() + text[1:] + "."

    def sentence(self) -> str:
        return self.rng.choice(self.pool)

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 7)))

    def slug(self, taken: set[str]) -> str:
        while True:
            slug = "-".join(self.rng.sample(WORDS, self.rng.randint(1, 3)))
            if slug not in taken:
                taken.add(slug)
                return slug


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _plan(pages: int, words: _Words) -> list[Entry]:
    """The manual's tree, about ``pages`` pages in all."""
    rng, taken = words.rng, {"index"}
    release_pages = max(2, pages // 9)
    # About 4% of chapter pages are sub-sections that the budget does not count.
    chapter_budget = max(len(PART_NAMES) * 3, int((pages - 20 - release_pages - 2 * len(APPENDICES)) * 0.96))
    chapters = max(len(PART_NAMES), round(chapter_budget / 17))
    weights = sum(PART_WEIGHTS)
    per_part = [max(1, round(chapters * w / weights)) for w in PART_WEIGHTS]
    sections_left = chapter_budget - sum(per_part)

    def page(number: str, title: str, kind: str) -> Entry:
        return Entry(number, title, f"/docs/{words.slug(taken)}.html", kind)

    def title() -> str:
        return " ".join(w.capitalize() for w in rng.sample(WORDS, rng.randint(2, 4)))

    preface = page("", "Preface", "other")
    preface.children = [page("", t, "section") for t in ("What Is Quill?", "A Brief History", "Conventions")]
    tree, chapter_no = [preface], 0
    total_chapters = sum(per_part)
    for p, (name, count) in enumerate(zip(PART_NAMES, per_part, strict=True)):
        part = page(_roman(p + 1), name, "part")
        for _ in range(count):
            chapter_no += 1
            chapter = page(str(chapter_no), title(), "chapter")
            share = max(1, round(sections_left / max(1, total_chapters - chapter_no + 1) * rng.uniform(0.5, 1.5)))
            share = min(share, sections_left) if sections_left > 0 else 0
            sections_left -= share
            for s in range(1, share + 1):
                section = page(f"{chapter_no}.{s}", title(), "section")
                if rng.random() < 0.08 and share > 3:
                    # Sub-section pages exist but only their numbers say where they belong.
                    for k in range(1, rng.randint(2, 3) + 1):
                        sub = page(f"{chapter_no}.{s}.{k}", title(), "subsection")
                        sub.in_toc = False
                        section.children.append(sub)
                chapter.children.append(section)
            part.children.append(chapter)
        tree.append(part)
    appendices = page(_roman(len(PART_NAMES) + 1), "Appendixes", "part")
    for i, name in enumerate(APPENDICES):
        letter = chr(ord("A") + i)
        appendix = page(letter, name, "appendix")
        count = release_pages if letter == RELEASE_NOTES else rng.randint(1, 3)
        for s in range(1, count + 1):
            if letter == RELEASE_NOTES:
                version = f"{4 - s // 40}.{(s // 8) % 5}.{s % 8}"
                path = f"/docs/release-{version.replace('.', '-')}.html"
                child = Entry(f"{letter}.{s}", f"Release {version}", path, "section")
            else:
                child = page(f"{letter}.{s}", title(), "section")
            appendix.children.append(child)
        appendices.children.append(appendix)
    tree.append(appendices)
    tree.append(page("", "Bibliography", "other"))
    tree.append(Entry("", "Index", "/docs/bookindex.html", "other"))
    return tree


def _walk(entries: list[Entry]) -> list[Entry]:
    out = []
    for entry in entries:
        out.append(entry)
        out.extend(_walk(entry.children))
    return out


def _toc(entries: list[Entry], depth: int = 0) -> str:
    items = []
    for entry in entries:
        if not entry.in_toc:
            continue
        link = f'<span class="{entry.kind}"><a href="{entry.file}">{html.escape(entry.heading)}</a></span>'
        shown = [c for c in entry.children if c.in_toc]
        nested = f"<dd>{_toc(shown, depth + 1)}</dd>" if shown and depth < 3 else ""
        items.append(f"<dt>{link}</dt>{nested}")
    return f'<dl class="toc">{"".join(items)}</dl>'


def _table(words: _Words, rows: int) -> str:
    body = "".join(
        f'<tr><td><code class="function">{words.rng.choice(WORDS)}_{words.rng.choice(WORDS)}()</code></td>'
        f'<td><code class="type">{words.rng.choice(WORDS)}</code></td><td>{words.sentence()}</td></tr>'
        for _ in range(rows)
    )
    return (
        '<div class="table"><table class="table" summary="Functions" border="1"><colgroup><col><col><col></colgroup>'
        f"<thead><tr><th>Function</th><th>Return Type</th><th>Description</th></tr></thead><tbody>{body}</tbody>"
        "</table></div>"
    )


def _content(words: _Words, target: int) -> str:
    parts: list[str] = []
    size = 0
    while size < target:
        roll = words.rng.random()
        if roll < 0.55:
            block = f'<p>{words.paragraph()} See <code class="literal">{words.rng.choice(WORDS)}</code>.</p>'
        elif roll < 0.75:
            lines = "\n".join(f"{words.rng.choice(WORDS)} = {words.rng.randint(1, 999)};" for _ in range(6))
            block = f'<pre class="programlisting">{html.escape(lines)}</pre>'
        elif roll < 0.9:
            block = _table(words, words.rng.randint(4, 12) if target < 100_000 else 60)
        else:
            items = "".join(f'<li class="listitem"><p>{words.sentence()}</p></li>' for _ in range(4))
            block = f'<div class="itemizedlist"><ul class="itemizedlist">{items}</ul></div>'
        parts.append(block)
        size += len(block)
    return "\n".join(parts)


def _nav(prev: Entry | None, up: Entry | None, nxt: Entry | None, where: str) -> str:
    def link(entry: Entry | None, key: str, text: str) -> str:
        if entry is None:
            return "<td> </td>"
        title = html.escape(entry.heading)
        return f'<td><a accesskey="{key}" href="{entry.file}" title="{title}">{text}</a></td>'

    return (
        f'<table width="100%" summary="Navigation"><tr>{link(prev, "p", "Prev")}{link(up, "u", "Up")}'
        f'<th width="60%" align="center">{html.escape(where)}</th><td><a accesskey="h" href="index.html">Home</a></td>'
        f"{link(nxt, 'n', 'Next')}</tr></table>"
    )


def _page(entry: Entry, parent: Entry | None, prev: Entry | None, nxt: Entry | None, body: str) -> str:
    own_toc = f'<div class="toc"><p><b>Table of Contents</b></p>{_toc(entry.children)}</div>' if entry.children else ""
    where = parent.heading if parent is not None else MANUAL
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<title>{html.escape(entry.heading)} | {MANUAL}</title>
<link rel="stylesheet" type="text/css" href="stylesheet.css">
<meta name="generator" content="DocBook XSL Stylesheets V1.79.2">
<link rel="prev" href="{(prev or entry).file}"><link rel="next" href="{(nxt or entry).file}">
</head><body id="docContent" class="container-fluid col-10">
<div class="navheader">{_nav(prev, parent, nxt, where)}<hr></div>
<div class="{entry.kind}" id="{entry.path[6:-5]}"><div class="titlepage"><div><div>
<h2 class="title" style="clear: both">{html.escape(entry.heading)}</h2></div></div></div>
{own_toc}
{body}
</div>
<div class="navfooter"><hr>{_nav(prev, parent, nxt, where)}</div>
</body></html>
"""


def _home(tree: list[Entry]) -> str:
    return f"""<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><title>{MANUAL}</title>
<meta name="description" content="{html.escape(SUMMARY)}">
<link rel="stylesheet" type="text/css" href="stylesheet.css"></head>
<body id="docContent" class="container-fluid col-10">
<div class="navheader"><table width="100%"><tr><th align="center">{MANUAL}</th>
<td><a accesskey="n" href="{tree[0].file}">Next</a></td></tr></table><hr></div>
<div class="book" id="quill"><div class="titlepage"><div><h1 class="title">{MANUAL}</h1></div>
<div><h3 class="corpauthor">The Quill Project</h3></div>
<div><div class="legalnotice"><p class="legalnotice-title"><b>Legal Notice</b></p>
<p>Copyright 2024 The Quill Project.</p></div></div>
<div><div class="abstract"><p>{html.escape(SUMMARY)} This manual covers installing, using and running Quill 4.</p>
</div></div>
</div><hr>
<div class="toc"><p><strong>Table of Contents</strong></p>{_toc(tree)}</div>
</div></body></html>
"""


def _size(rng: random.Random, tail: bool) -> int:
    if tail:
        return rng.randint(150_000, 500_000)
    return int(min(140_000, max(3_000, rng.lognormvariate(math.log(MEDIAN_BYTES), 0.55))))


def build_manual_site(root: Path, pages: int = 1169, seed: int = 11) -> ManualSpec:
    """Write the manual (about ``pages`` HTML pages) under ``root`` and describe it."""
    planned = pages
    for _ in range(3):
        # The plan's random chapter sizes miss the asked count a little: re-plan with a corrected target.
        rng = random.Random(seed)
        words = _Words(rng)
        tree = _plan(planned, words)
        order = _walk(tree)
        if abs(len(order) + 1 - pages) <= max(2, pages // 100):
            break
        planned = max(30, round(planned * pages / (len(order) + 1)))
    parents: dict[str, Entry] = {}
    for entry in order:
        for child in entry.children:
            parents[child.path] = entry
    spec = ManualSpec(root=root)
    tail = set(rng.sample(range(len(order)), max(1, len(order) // 200)))
    for i, entry in enumerate(order):
        prev = order[i - 1] if i else None
        nxt = order[i + 1] if i + 1 < len(order) else None
        text = _page(entry, parents.get(entry.path), prev, nxt, _content(words, _size(rng, i in tail)))
        _write(root, entry.path, text.encode())
        spec.sizes[entry.path] = len(text.encode())
    _write(root, "/docs/index.html", _home(tree).encode())
    spec.pages = ["/docs/index.html", *(e.path for e in order)]
    spec.reading_order = [e.path for e in order]
    spec.top_level = [e.heading for e in tree if e.children]
    release = next(a for a in tree[-3].children if a.number == RELEASE_NOTES)
    spec.optional = [c.path for c in release.children] + ["/docs/bookindex.html"]
    spec.listed = sorted(spec.pages)
    spec.sitemaps = ["/sitemap.xml"]
    spec.redirects = {"/": "/docs/index.html"}
    _write(root, "/sitemap.xml", _urlset(spec.listed))
    _write(root, "/robots.txt", b"User-agent: *\nAllow: /\n\nSitemap: __BASE__/sitemap.xml\n")
    manifest = {"gzip_responses": True, "redirects": {"/": [301, "/docs/index.html"]}}
    _write(root, "/_site.json", json.dumps(manifest).encode())
    return spec


def _write(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
