"""llms.txt and llms-full.txt: read back with the reference parser (``llms_txt.parse_llms_file``)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from llms_txt import parse_llms_file  # type: ignore[import-untyped]

from actors.kinds.llms_txt.assemble import (
    DescribedPage,
    SiteInfo,
    build_llms_full,
    build_llms_txt,
    group_sections,
)
from actors.kinds.llms_txt.sections import GENERAL, MAX_SECTIONS, OPTIONAL, humanise, is_optional_url

BASE = "https://acme.test/"
SITE = SiteInfo(
    name="Acme",
    base_url=BASE,
    summary="Acme turns websites into\nllms.txt files.",
    details="Acme is self-hosted.\n\nIt runs jobs with Dramatiq.",
)

PATHS = {
    # path: expected section
    "/": GENERAL,
    "/about": GENERAL,
    "/pricing": GENERAL,
    "/docs/": "Docs",
    "/docs/install": "Docs",
    "/docs/guides/first-job": "Docs",
    "/api/jobs": "API",
    "/api/events": "API",
    "/getting-started/": "Getting Started",
    "/getting-started/cli": "Getting Started",
    "/blog/launch": "Blog",
    "/blog/sse-at-scale": "Blog",
    "/integrations/stripe": "Integrations",
    "/integrations/gemini": "Integrations",
    "/lonely/deep/page": GENERAL,
    "/privacy": OPTIONAL,
    "/legal/terms-of-service": OPTIONAL,
    "/cookie-policy": OPTIONAL,
    "/impressum": OPTIONAL,
    "/blog/tag/python": OPTIONAL,
    "/blog/category/news": OPTIONAL,
    "/blog/page/2": OPTIONAL,
    "/blog/2024/": OPTIONAL,
    "/changelog": OPTIONAL,
    "/docs/release-notes": OPTIONAL,
    "/author/jane": OPTIONAL,
    "/login": OPTIONAL,
}


def page(path: str, title: str | None = None, description: str = "", markdown: str = "", **kw: Any) -> DescribedPage:
    return DescribedPage(
        url=BASE.rstrip("/") + path,
        title=title if title is not None else f"Title of {path}",
        description=description,
        markdown=markdown,
        **kw,
    )


def site_pages() -> list[DescribedPage]:
    return [page(p, description=f"About {p}.") for p in PATHS]


def parsed_urls(parsed: Any) -> list[str]:
    return [link["url"] for links in parsed.sections.values() for link in links]


def test_llms_txt_parses_with_title_summary_details_and_every_url_once() -> None:
    pages = site_pages()
    text = build_llms_txt(SITE, pages)

    parsed = parse_llms_file(text)

    assert parsed.title == "Acme"
    assert parsed.summary == "Acme turns websites into llms.txt files."
    assert parsed.info == "Acme is self-hosted.\n\nIt runs jobs with Dramatiq."
    urls = parsed_urls(parsed)
    assert Counter(urls) == Counter(p.url for p in pages)
    for links in parsed.sections.values():
        for link in links:
            assert link["desc"] == f"About {link['url'].removeprefix('https://acme.test')}."
    assert text.endswith("\n")
    assert "\n\n\n" not in text


def test_sections_follow_site_structure_in_importance_order_with_optional_last() -> None:
    parsed = parse_llms_file(build_llms_txt(SITE, site_pages()))

    assert list(parsed.sections) == ["Docs", "Getting Started", "API", "Integrations", GENERAL, "Blog", OPTIONAL]
    by_url = {link["url"]: name for name, links in parsed.sections.items() for link in links}
    for path, expected in PATHS.items():
        assert by_url[BASE.rstrip("/") + path] == expected, path


def test_pages_are_ordered_by_path_with_the_home_page_first() -> None:
    sections = group_sections(reversed(site_pages()), BASE)
    general = next(s for s in sections if s.name == GENERAL)
    assert [p.url for p in general.pages] == [
        "https://acme.test/",
        "https://acme.test/about",
        "https://acme.test/lonely/deep/page",
        "https://acme.test/pricing",
    ]
    docs = next(s for s in sections if s.name == "Docs")
    assert [p.url.removeprefix("https://acme.test") for p in docs.pages] == [
        "/docs/",
        "/docs/guides/first-job",
        "/docs/install",
    ]


TRICKY_TITLES = [
    "Arrays [beta] and [[wiki]] links",
    "Ratio: 3:2 — notes: here",
    "Ünïcödé 日本語 🚀 título",
    "",
    "   ",
    "Path C:\\Users\\",
    "Multi\nline\ttitle",
    "] starts with a bracket",
    "ends with [",
    "- [Fake](https://evil.test): link",
    "## Not a heading",
]


def test_tricky_titles_and_descriptions_round_trip_through_the_parser() -> None:
    pages = [
        page(f"/docs/t{i}", title=title, description=f"Desc: with [brackets] and\nnewline {i}")
        for i, title in enumerate(TRICKY_TITLES)
    ]
    text = build_llms_txt(SITE, pages)

    parsed = parse_llms_file(text)

    links = {link["url"]: link for links in parsed.sections.values() for link in links}
    assert set(links) == {p.url for p in pages}
    assert len(parsed_urls(parsed)) == len(pages)
    for i, original in enumerate(TRICKY_TITLES):
        link = links[f"https://acme.test/docs/t{i}"]
        assert link["desc"] == f"Desc: with [brackets] and newline {i}"
        assert "\n" not in link["title"]
        assert "]" not in link["title"]
        if not original.strip():
            # Empty titles fall back to the URL path.
            assert link["title"] == f"/docs/t{i}"
    assert links["https://acme.test/docs/t0"]["title"] == "Arrays (beta) and ((wiki)) links"
    assert links["https://acme.test/docs/t1"]["title"] == "Ratio: 3:2 — notes: here"
    assert links["https://acme.test/docs/t2"]["title"] == "Ünïcödé 日本語 🚀 título"
    assert links["https://acme.test/docs/t6"]["title"] == "Multi line title"
    # A title that looks like a heading or a link line cannot create a section or a page.
    assert set(parsed.sections) == {"Docs"}


def test_urls_with_parentheses_and_spaces_are_percent_encoded() -> None:
    pages = [page("/wiki/Foo_(bar)", title="Foo"), page("/wiki/with space", title="Space")]
    parsed = parse_llms_file(build_llms_txt(SITE, pages))
    assert sorted(parsed_urls(parsed)) == [
        "https://acme.test/wiki/Foo_%28bar%29",
        "https://acme.test/wiki/with%20space",
    ]


def test_empty_description_is_omitted_and_home_title_falls_back_to_host() -> None:
    text = build_llms_txt(SITE, [page("/", title=""), page("/about", title="About", description="   ")])
    assert "- [acme.test](https://acme.test/)\n" in text
    assert "- [About](https://acme.test/about)\n" in text
    parsed = parse_llms_file(text)
    assert [link["desc"] for link in parsed.sections[GENERAL]] == [None, None]


def test_duplicate_urls_appear_once() -> None:
    pages = [page("/docs/a", title="First"), page("/docs/a", title="Second"), page("/docs/b")]
    parsed = parse_llms_file(build_llms_txt(SITE, pages))
    assert Counter(parsed_urls(parsed)) == {"https://acme.test/docs/a": 1, "https://acme.test/docs/b": 1}
    assert parsed.sections["Docs"][0]["title"] == "First"


def test_header_without_summary_and_hostile_details_still_parses() -> None:
    site = SiteInfo(name="", base_url=BASE, summary="", details="## Sneaky section\n\n> quote\n\n# h1")
    text = build_llms_txt(site, [page("/docs/a"), page("/docs/b")])
    parsed = parse_llms_file(text)
    assert parsed.title == "acme.test"
    assert parsed.summary is None
    assert list(parsed.sections) == ["Docs"]
    assert "Sneaky section" in parsed.info


def test_section_override_wins() -> None:
    pages = [page("/docs/a"), page("/docs/b"), page("/misc/x", section="Docs"), page("/docs/c", section="Optional")]
    sections = {s.name: [p.url for p in s.pages] for s in group_sections(pages, BASE)}
    assert sections == {
        "Docs": ["https://acme.test/docs/a", "https://acme.test/docs/b", "https://acme.test/misc/x"],
        OPTIONAL: ["https://acme.test/docs/c"],
    }


def test_shared_prefix_is_skipped_for_section_names() -> None:
    # Every page lives under /en-us/: sections come from the next segment.
    pages = [page(p) for p in ("/en-us/", "/en-us/docs/a", "/en-us/docs/b", "/en-us/blog/x", "/en-us/blog/y")]
    names = [s.name for s in group_sections(pages, BASE)]
    assert names == ["Docs", GENERAL, "Blog"]


def test_base_path_is_stripped() -> None:
    base = "https://host.test/project/"
    pages = [DescribedPage(url=f"{base}{p}", title=p) for p in ("", "guide/a", "guide/b", "reference/x", "reference/y")]
    names = [s.name for s in group_sections(pages, base)]
    assert names == ["Guide", "Reference", GENERAL]


def test_small_groups_fold_into_general_and_section_count_is_capped() -> None:
    pages = [page("/")]
    for g in range(MAX_SECTIONS + 6):
        pages += [page(f"/area{g}/one"), page(f"/area{g}/two")]
    pages.append(page("/big/" + "x"))
    sections = group_sections(pages, BASE)
    assert len(sections) <= MAX_SECTIONS
    assert sum(len(s.pages) for s in sections) == len(pages)
    assert GENERAL in [s.name for s in sections]


def test_single_page_site() -> None:
    text = build_llms_txt(SITE, [page("/", title="Home", description="The only page.")])
    parsed = parse_llms_file(text)
    assert parsed.sections == {GENERAL: [{"title": "Home", "url": "https://acme.test/", "desc": "The only page."}]}


@pytest.mark.parametrize(
    ("path", "optional"),
    [
        ("/privacy-policy", True), ("/en/legal/privacy", True), ("/tags/python", True), ("/category/x/page/3", True),
        ("/blog/page-2", True), ("/news?page=2", True), ("/2023/05/", True), ("/docs/changelog.html", True),
        ("/blog/authors/jane", True), ("/sign-in", True), ("/docs/security/privacy/controls/deep", False),
        ("/docs/cookies-api", False), ("/docs/page/layout", False), ("/blog/2023/05/my-post", False),
        ("/docs/tagging", False), ("/", False), ("/pricing", False),
    ],
)  # fmt: skip
def test_is_optional_url(path: str, optional: bool) -> None:
    assert is_optional_url("https://acme.test" + path) is optional


@pytest.mark.parametrize(
    ("segment", "name"),
    [("api", "API"), ("getting-started", "Getting Started"), ("terms_of_use.html", "Terms of Use"),
     ("graphql-apis", "GraphQL APIs"), ("%E6%96%87%E6%A1%A3", "文档"), ("faq", "FAQ"), ("ios-sdk", "iOS SDK")],
)  # fmt: skip
def test_humanise(segment: str, name: str) -> None:
    assert humanise(segment) == name


# --- llms-full.txt ------------------------------------------------------------------------------------

PAGE_MD = """# Install

Intro text.

## Requirements

- Python

```bash
# a shell comment, not a heading
pip install acme
```

~~~
## also not a heading
~~~

###### Deepest"""


def test_llms_full_has_header_every_page_once_with_source_and_demoted_headings() -> None:
    pages = [
        page("/docs/install", title="Install", markdown=PAGE_MD),
        page("/about", title="About us", markdown="About text."),
        page("/privacy", title="Privacy", markdown=""),
        page("/docs/install", title="Duplicate", markdown="dup"),
    ]
    text = build_llms_full(SITE, pages)

    assert text.startswith("# Acme\n\n> Acme turns websites into llms.txt files.\n\nAcme is self-hosted.")
    assert "full text of 3 pages of https://acme.test/" in text
    # Pages in llms.txt order (a lone /docs page folds into the general section, Optional last), each under
    # its own "## title" with its source
    outside_code = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.MULTILINE | re.DOTALL)
    level2 = re.findall(r"^## (.*)$", outside_code, flags=re.MULTILINE)
    assert level2 == ["About us", "Install", "Privacy"]
    assert [line for line in text.splitlines() if line.startswith("Source: ")] == [
        "Source: https://acme.test/about",
        "Source: https://acme.test/docs/install",
        "Source: https://acme.test/privacy",
    ]
    assert "dup" not in text
    # The page's own H1 repeats the title and is dropped; other headings move down two levels
    assert "### Install" not in text
    assert "#### Requirements" in text
    assert "###### Deepest" in text
    assert "# a shell comment, not a heading" in text
    assert "## also not a heading" in text
    assert not re.search(r"^# ", outside_code[len("# Acme") :], flags=re.MULTILINE)
    assert text.count("\n---\n") == 3
    assert text.endswith("\n")


def test_a_summary_without_details_still_parses_as_the_summary() -> None:
    # The reference parser needs text between the "> summary" line and the first section.
    site = SiteInfo(name="Acme", base_url="https://acme.example/", summary="Acme runs jobs.")
    pages = [DescribedPage(url="https://acme.example/docs/a", title="A", description="the a page")]
    parsed = parse_llms_file(build_llms_txt(site, pages))
    assert parsed["summary"] == "Acme runs jobs."
    assert parsed["info"] and "1 page of" in parsed["info"]
    assert [link["url"] for links in parsed["sections"].values() for link in links] == ["https://acme.example/docs/a"]
