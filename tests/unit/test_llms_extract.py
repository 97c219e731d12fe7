"""extract_page: title, description, main content as Markdown, links; site names from titles."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from actors.kinds.llms_txt.extract import PageInfo, extract_page
from actors.kinds.llms_txt.outline import breadcrumbs
from actors.kinds.llms_txt.titles import one_line, shorten, site_name_from_titles, strip_site_name
from tests.bench import extract_speed

URL = "https://docs.example.com/docs/guide/start"

DOC_PAGE = """<!doctype html>
<html lang="en-GB"><head>
<meta charset="utf-8">
<title>
  Getting started | Example Docs
</title>
<meta name="Description" content="Install the tool and
run your first job.">
<meta property="og:description" content="OG text that should lose to the meta description.">
<script>var tracking = "SCRIPT TEXT";</script>
<style>.x { color: red }</style>
</head><body>
<header><a href="/">Home</a><nav><a href="/docs/">Docs</a> <a href="/blog/">Blog</a></nav></header>
<div class="cookie-banner"><p>We use cookies to make this site work. Accept all cookies?</p></div>
<main>
  <nav class="breadcrumbs"><a href="/docs/">Docs</a> / Guide</nav>
  <h1>Getting started</h1>
  <p>Short intro.</p>
  <p>Install the package, then create a project with <code>example init</code> and run <a href="../reference#run">the
  first job</a>.</p>
  <h2>Options</h2>
  <table><thead><tr><th>Name</th><th>Meaning</th></tr></thead>
  <tbody><tr><td>quick</td><td>Run fast</td></tr></tbody></table>
  <pre><code class="language-python">import example
example.run()
</code></pre>
  <p><img src="/img/diagram.png" alt="diagram"> <a href="https://other.example.org/page#top">External</a></p>
  <form><input name="q"><button>Search</button></form>
  <aside>Related: SIDEBAR TEXT</aside>
  <svg><title>SVG TITLE</title></svg>
</main>
<footer><a href="/privacy">Privacy</a> <a href="mailto:hi@example.com">Mail</a>
<a href="javascript:void(0)">JS</a> <a href="tel:+123">Call</a> <a href="#top">Top</a></footer>
</body></html>"""


@pytest.fixture(scope="module")
def doc_page() -> PageInfo:
    return extract_page(URL, DOC_PAGE)


def test_title_is_raw_title_with_whitespace_collapsed(doc_page: PageInfo) -> None:
    assert doc_page.title == "Getting started | Example Docs"
    assert doc_page.lang == "en-GB"
    assert doc_page.url == URL


def test_meta_description_wins_case_insensitively(doc_page: PageInfo) -> None:
    assert doc_page.description == "Install the tool and run your first job."


def test_main_content_markdown_keeps_structure_and_drops_noise(doc_page: PageInfo) -> None:
    md = doc_page.markdown
    assert md.startswith("# Getting started")
    assert "## Options" in md
    assert "| Name | Meaning |" in md
    assert "```python\nimport example\nexample.run()\n```" in md
    # Relative links resolve against the page URL; images are left out.
    assert "[the first job](https://docs.example.com/docs/reference#run)" in md
    assert "diagram" not in md
    for noise in ("SCRIPT TEXT", "SIDEBAR TEXT", "SVG TITLE", "cookies", "Search", "Privacy", "Blog", "Docs /"):
        assert noise not in md, noise
    assert 20 < len(md.split()) < 60


def test_links_are_absolute_deduplicated_and_navigable_only(doc_page: PageInfo) -> None:
    assert doc_page.links == [
        "https://docs.example.com/",
        "https://docs.example.com/docs/",
        "https://docs.example.com/blog/",
        "https://docs.example.com/docs/reference",
        "https://other.example.org/page",
        "https://docs.example.com/privacy",
    ]


def test_description_falls_back_to_og_then_first_meaningful_paragraph() -> None:
    og = extract_page(URL, '<head><meta property="og:description" content="From OG."></head><main><p>x</p></main>')
    assert og.description == "From OG."

    html = """<title>T</title><body><div id="consent"><p>This site uses cookies to improve your experience.</p></div>
    <main><p>By Jane, 3 May</p><p>Please enable JavaScript to view all of the comments on this page ok.</p>
    <p>The scheduler re-sends lost messages and re-claims jobs whose worker stopped.</p></main></body>"""
    page = extract_page(URL, html)
    assert page.description == "The scheduler re-sends lost messages and re-claims jobs whose worker stopped."


def test_long_first_paragraph_is_shortened_and_missing_description_is_none() -> None:
    long = extract_page(URL, "<main><p>" + "word " * 300 + "</p></main>")
    assert long.description is not None
    assert len(long.description) <= 500
    assert long.description.endswith("…")
    assert extract_page(URL, "<main><h1>Only a heading</h1></main>").description is None


def test_body_fallback_drops_site_chrome() -> None:
    html = """<html><head><title>Blog</title></head><body>
    <header>SITE HEADER</header><nav>NAV</nav>
    <article><h2>Post one</h2><p>First post body text.</p></article>
    <article><h2>Post two</h2><p>Second post body text.</p></article>
    <div class="CookieConsent">COOKIE BAR</div><footer>FOOTER</footer></body></html>"""
    page = extract_page("https://blog.example.com/", html)
    assert "## Post one" in page.markdown
    assert "## Post two" in page.markdown
    for noise in ("SITE HEADER", "NAV", "COOKIE BAR", "FOOTER"):
        assert noise not in page.markdown


def test_role_main_and_single_article_are_main_content() -> None:
    role = extract_page(URL, '<body><div>OUTSIDE</div><div role="main"><p>Inside role main.</p></div></body>')
    assert role.markdown == "Inside role main."
    article = extract_page(URL, "<body><div>OUTSIDE</div><article><p>Inside the article.</p></article></body>")
    assert article.markdown == "Inside the article."


def test_empty_main_falls_back_to_body() -> None:
    page = extract_page(URL, "<body><main> </main><div><p>Real content lives here.</p></div></body>")
    assert page.markdown == "Real content lives here."


def test_title_fallbacks_ignore_svg_titles() -> None:
    og = extract_page(URL, '<head><meta property="og:title" content="OG Title"></head><body><h1>H</h1></body>')
    assert og.title == "OG Title"
    h1 = extract_page(URL, "<body><svg><title>icon</title></svg><h1> The  Heading </h1></body>")
    assert h1.title == "The Heading"
    assert extract_page(URL, "<body><p>nothing</p></body>").title == ""


def test_base_href_and_odd_hrefs() -> None:
    html = """<head><base href="https://cdn.example.com/root/"></head><body>
    <a href="page">rel</a><a href=" /abs ">abs</a><a href="//other.example.com/x">proto</a>
    <a href="../up/./here">dots</a><a href="ftp://files.example.com/f">ftp</a><a href="data:text/html,hi">data</a>
    <a href="pa\nge\t2">newline</a><a href="with space">space</a><a href="">empty</a></body>"""
    page = extract_page(URL, html)
    assert page.links == [
        "https://cdn.example.com/root/page",
        "https://cdn.example.com/abs",
        "https://other.example.com/x",
        "https://cdn.example.com/up/here",
        "https://cdn.example.com/root/page2",
        "https://cdn.example.com/root/with%20space",
    ]


def test_bytes_input_detects_declared_encoding() -> None:
    html = '<html><head><meta charset="windows-1252"><title>Caf\xe9 cr\xe8me</title></head><body><main><p>na\xefve'
    page = extract_page(URL, html.encode("cp1252") + b"</p></main></body></html>")
    assert page.title == "Café crème"
    assert page.markdown == "naïve"
    utf8 = extract_page(URL, "<title>Zürich ✓</title><main><p>日本語のテキスト</p></main>".encode())
    assert utf8.title == "Zürich ✓"
    assert utf8.markdown == "日本語のテキスト"


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "not html at all", b"\xff\xfe\x00garbage"])
def test_degenerate_input_gives_an_empty_page(html: str | bytes) -> None:
    page = extract_page(URL, html)
    assert page.url == URL
    assert page.links == []
    assert page.description is None or page.description


def test_deeply_nested_input_does_not_crash() -> None:
    html = "<main>" + "<div>" * 5000 + "<p>deep text here</p>" + "</div>" * 5000 + "</main>"
    page = extract_page(URL, html)
    assert isinstance(page.markdown, str)


def test_nested_noise_is_removed_once() -> None:
    # A <form> inside a <nav> inside <main>: both match the noise selector; removing both must be safe.
    html = "<main><nav><form><button>x</button><nav><script>1</script></nav></form></nav><p>keep me</p></main>"
    assert extract_page(URL, html).markdown == "keep me"


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        (["Getting started | Acme Docs", "API | Acme Docs", "Blog | Acme Docs", "Acme Docs"], "Acme Docs"),
        (["Acme - Pricing", "Acme - About us", "Acme - Home"], "Acme"),
        (["Guide \u2013 Acme", "Install \u2014 Acme", "FAQ \u2013 Acme"], "Acme"),
        (["Home", "About | Acme", "Contact | Acme", "Acme"], "Acme"),
        (["Alpha | One", "Beta | Two", "Gamma | Three"], None),
        (["Only one | Site"], None),
        (["Plain", "Titles", "Without separators"], None),
        ([], None),
    ],
)
def test_site_name_from_titles(titles: list[str], expected: str | None) -> None:
    assert site_name_from_titles(titles) == expected


def test_strip_site_name() -> None:
    assert strip_site_name("Getting started | Acme Docs", "Acme Docs") == "Getting started"
    assert strip_site_name("Acme - Pricing", "Acme") == "Pricing"
    assert strip_site_name("Acme", "Acme") == "Acme"
    assert strip_site_name("Unrelated | Other", "Acme") == "Unrelated | Other"
    assert strip_site_name("  Spaced   title ", None) == "Spaced title"


def test_one_line_and_shorten() -> None:
    assert one_line("  a\n\tb  c \r\n") == "a b c"
    assert shorten("short", 10) == "short"
    cut = shorten("alpha beta gamma delta epsilon", 17)
    assert cut == "alpha beta gamma…"
    assert len(cut) <= 17
    assert shorten("x" * 50, 10) == "x" * 9 + "…"


def test_speed_benchmark_runs() -> None:
    figures = extract_speed.run(quick=True)
    assert isinstance(figures["page_bytes"], int)
    assert figures["page_bytes"] > 13_000
    assert isinstance(figures["extract_page_ms"], float)
    assert figures["goal_met"] is None


def test_first_paragraph_is_kept_apart_from_the_meta_description(doc_page: PageInfo) -> None:
    assert doc_page.first_paragraph == (
        "Install the package, then create a project with example init and run the first job."
    )


def test_tables_are_compact_and_code_keeps_its_spacing() -> None:
    # Tier 1 of the converter pads table columns to a common width; the padding is taken out again, but a
    # table-like block inside code (a database client's output) keeps its alignment.
    html = (
        "<main><table><tr><th>Option</th><th></th><th>Meaning of the option, at length</th></tr>"
        "<tr><td>a</td><td></td><td>short</td></tr></table>"
        "<pre><code>| id   | name  |\n| ---- | ----- |\n| 1    | alice |</code></pre></main>"
    )
    md = extract_page(URL, html).markdown
    assert "| Option | | Meaning of the option, at length |" in md
    assert "| --- | --- | --- |" in md
    assert "| a | | short |" in md
    assert "| id   | name  |\n| ---- | ----- |\n| 1    | alice |" in md


_TRAIL_ITEMS = '<li><a href="/">Home</a></li><li><a href="/billing/">Billing</a></li><li>Invoices</li>'
_JSON_LD_TRAIL = (
    '<script type="application/ld+json">{"@type": "BreadcrumbList", "itemListElement": ['
    '{"@type": "ListItem", "position": 1, "name": "Home"}, {"@type": "ListItem", "position": 2, "name": "Billing"},'
    '{"@type": "ListItem", "position": 3, "name": "Invoices"}]}</script>'
)


@pytest.mark.parametrize(
    "page",
    [
        f"<head>{_JSON_LD_TRAIL}</head><body><main><p>Paying an invoice.</p></main></body>",
        f'<body><nav class="breadcrumbs"><ul>{_TRAIL_ITEMS}</ul></nav><article><p>Text.</p></article></body>',
        f'<body><ol aria-label="Breadcrumb">{_TRAIL_ITEMS}</ol><div role="main"><p>Text.</p></div></body>',
        f'<body><main class="breadcrumbs"><ul>{_TRAIL_ITEMS}</ul><p>Text.</p></main></body>',
        '<head><meta name="description" content="Invoices."></head>'
        f'<body><ol class="breadcrumb">{_TRAIL_ITEMS}</ol></body>',
    ],
    ids=["json-ld", "nav-class", "aria-label", "landmark-with-the-class", "after-a-meta"],
)
def test_breadcrumbs_are_found_wherever_the_first_query_hints_at_them(page: str) -> None:
    # Given a page whose trail is found by a hint of the first query (a script, a class, a label)
    html = f"<!doctype html><html>{page}</html>"
    # When it is extracted
    info = extract_page(URL, html)
    # Then its trail is the one the breadcrumb reader finds on its own
    assert info.breadcrumbs == ["Billing", "Invoices"]
    assert info.breadcrumbs == breadcrumbs(LexborHTMLParser(html), info.title)
