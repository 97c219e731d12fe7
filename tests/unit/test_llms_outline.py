"""Reading a page's own navigation: link outlines (tables of contents, sidebars) and breadcrumb trails."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from actors.kinds.llms_txt.extract import extract_page
from actors.kinds.llms_txt.numbering import number_key, roman_value, title_number
from actors.kinds.llms_txt.outline import OutlineEntry, breadcrumbs, page_outline

BASE = "https://docs.example.com/docs/index.html"

MANUAL_TOC = """<html><body><div class="navheader"><a href="/">Home</a> <a href="next.html">Next</a></div>
<div class="toc"><dl class="toc">
 <dt><span class="preface"><a href="preface.html">Preface</a></span></dt>
 <dt><span class="part"><a href="tutorial.html">I. Tutorial</a></span></dt>
 <dd><dl>
   <dt><span class="chapter"><a href="start.html">1. Getting Started</a></span></dt>
   <dd><dl><dt><a href="install.html#s1">1.1. Installation</a></dt>
     <dt><a href="arch.html">1.2. Architecture</a></dt></dl></dd>
   <dt><span class="chapter"><a href="sql.html">2. The SQL Language</a></span></dt>
 </dl></dd>
 <dt><span class="part"><a href="admin.html">II. Administration</a></span></dt>
 <dd><dl><dt><a href="backup.html">3. Backup</a></dt><dt><a href="https://elsewhere.example.org/x">Elsewhere</a></dt></dl></dd>
</dl></div></body></html>"""

SIDEBAR = """<html><body><header><nav><a href="/">Home</a><a href="/pricing">Pricing</a></nav></header>
<aside><nav class="sidebar"><ul>
 <li><span>Getting started</span><ul><li><a href="/docs/install/">Install</a></li>
   <li><a href="/docs/first/">First job</a></li></ul></li>
 <li><div class="group"><a href="/docs/guides/">Guides</a></div>
   <ul><li><a href="/docs/retries/">Retries</a></li><li><a href="/docs/webhooks/">Webhooks</a></li>
   <li><a href="/docs/limits/">Limits</a></li></ul></li>
 <li><button>API</button><ul><li><a href="/docs/jobs-api/">Jobs API</a></li>
   <li><a href="/docs/keys/">Keys</a></li></ul></li>
</ul></nav></aside><main><p>Text</p></main></body></html>"""


def test_a_nested_definition_list_toc_reads_as_an_outline_with_depths_in_document_order() -> None:
    tree = LexborHTMLParser(MANUAL_TOC)

    outline = page_outline(tree, BASE)

    assert outline == [
        OutlineEntry(1, "Preface", "https://docs.example.com/docs/preface.html"),
        OutlineEntry(1, "I. Tutorial", "https://docs.example.com/docs/tutorial.html"),
        OutlineEntry(2, "1. Getting Started", "https://docs.example.com/docs/start.html"),
        OutlineEntry(3, "1.1. Installation", "https://docs.example.com/docs/install.html"),
        OutlineEntry(3, "1.2. Architecture", "https://docs.example.com/docs/arch.html"),
        OutlineEntry(2, "2. The SQL Language", "https://docs.example.com/docs/sql.html"),
        OutlineEntry(1, "II. Administration", "https://docs.example.com/docs/admin.html"),
        OutlineEntry(2, "3. Backup", "https://docs.example.com/docs/backup.html"),
    ]  # the other site's link is left out, the fragment dropped, the two-link header is not the outline


def test_a_sidebar_keeps_group_labels_that_are_not_links_so_their_pages_keep_a_parent() -> None:
    outline = page_outline(LexborHTMLParser(SIDEBAR), "https://docs.example.com/docs/install/")

    assert [(e.depth, e.title, e.url is not None) for e in outline] == [
        (1, "Getting started", False),
        (2, "Install", True),
        (2, "First job", True),
        (1, "Guides", True),
        (2, "Retries", True),
        (2, "Webhooks", True),
        (2, "Limits", True),
        (1, "API", False),
        (2, "Jobs API", True),
        (2, "Keys", True),
    ]


def test_headings_between_lists_in_one_container_become_group_labels() -> None:
    links = "".join(f'<li><a href="/g{i}">G{i}</a></li>' for i in range(5))
    more = "".join(f'<li><a href="/r{i}">R{i}</a></li>' for i in range(5))
    html = f"<body><nav><h3>Guides</h3><ul>{links}</ul><h3>Reference</h3><ul>{more}</ul></nav></body>"

    outline = page_outline(LexborHTMLParser(html), "https://x.example/")

    assert [(e.depth, e.title) for e in outline][:2] == [(0, "Guides"), (1, "G0")]
    assert (0, "Reference") in [(e.depth, e.title) for e in outline]
    assert len([e for e in outline if e.url]) == 10


def test_a_menu_of_a_few_links_is_no_outline() -> None:
    html = '<body><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li><li><a href="/c">C</a></li></ul></body>'
    assert page_outline(LexborHTMLParser(html), "https://x.example/") == []


def test_breadcrumbs_come_from_json_ld_without_home_and_the_page_itself() -> None:
    html = """<html><head><script type="application/ld+json">{"@context": "https://schema.org",
      "@type": "BreadcrumbList", "itemListElement": [
      {"@type": "ListItem", "position": 2, "name": "Billing", "item": "https://x.example/billing"},
      {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://x.example/"},
      {"@type": "ListItem", "position": 3, "name": "Invoices", "item": "https://x.example/billing/invoices"},
      {"@type": "ListItem", "position": 4, "name": "Paying an invoice"}]}</script></head><body></body></html>"""

    assert breadcrumbs(LexborHTMLParser(html), "Paying an invoice | Northwind Help") == ["Billing", "Invoices"]


def test_breadcrumbs_come_from_an_html_trail_when_there_is_no_json_ld() -> None:
    html = """<body><nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li>
      <li><a href="/account/">Account</a></li><li>Two-factor login</li></ol></nav></body>"""

    assert breadcrumbs(LexborHTMLParser(html), "Two-factor login") == ["Account"]
    assert breadcrumbs(LexborHTMLParser("<body><p>no trail</p></body>"), "x") == []


def test_extract_page_reads_the_outline_only_when_asked_and_the_site_name_and_trail_always() -> None:
    html = MANUAL_TOC.replace("<html>", '<html><head><meta property="og:site_name" content="Quill"></head>')

    plain = extract_page(BASE, html)
    asked = extract_page(BASE, html, outline=True)

    assert plain.outline is None and plain.site_name == "Quill"
    assert asked.outline is not None and len(asked.outline) == 8
    # The outline is read before the navigation is cut out of the main content.
    assert "Getting Started" not in asked.markdown or asked.outline[2].title == "1. Getting Started"


def test_title_numbers_of_a_manual() -> None:
    assert title_number("Chapter 9. Functions and Operators") == title_number("Chapter 9. Functions and Operators")
    chapter = title_number("Chapter 9. Functions and Operators")
    assert chapter is not None and (chapter.kind, chapter.parts, chapter.chapter) == ("chapter", ("9",), "9")
    section = title_number("9.3. Mathematical Functions")
    assert section is not None and section.parts == ("9", "3") and section.chapter == "9"
    appendix = title_number("F.1. adminpack")
    assert appendix is not None and appendix.parts == ("F", "1") and appendix.chapter == "F"
    part = title_number("Part III. Server Administration")
    assert part is not None and part.kind == "part" and part.chapter == ""
    for plain in ("A guide to queues", "I am a title", "2024 in review", "Webhooks"):
        assert title_number(plain) is None, plain
    assert sorted([("10",), ("9", "3"), ("F",), ("9",), ("A", "2")], key=number_key) == [
        ("9",),
        ("9", "3"),
        ("10",),
        ("A", "2"),
        ("F",),
    ]
    assert roman_value("XIV") == 14 and roman_value("F") is None
