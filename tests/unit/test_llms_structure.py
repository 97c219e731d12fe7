"""Sections from the site's own structure: choosing the source, reading order, sizes, and no page dropped."""

from __future__ import annotations

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.grouping import MAX_SECTIONS, SPLIT_AT, Group, finish, low_value
from actors.kinds.llms_txt.outline import OutlineEntry
from actors.kinds.llms_txt.sections import DescribedPage
from actors.kinds.llms_txt.siteinfo import home_summary, site_name
from actors.kinds.llms_txt.structure import Navigation, build_structure

BASE = "https://quill.example/"


def page(path: str, title: str = "") -> DescribedPage:
    return DescribedPage(url=BASE.rstrip("/") + path, title=title or path)


def urls(sections: list) -> list[str]:  # type: ignore[type-arg]
    return [p.url for s in sections for p in s.pages]


def test_toc_order_wins_over_url_order_and_unlisted_numbered_pages_go_under_their_number() -> None:
    # Given a flat manual whose URLs sort differently from its table of contents
    toc = [
        OutlineEntry(1, "I. Tutorial", BASE + "docs/zeta.html"),
        OutlineEntry(2, "1. Start", BASE + "docs/yak.html"),
        OutlineEntry(3, "1.1. Install", BASE + "docs/xray.html"),
        OutlineEntry(3, "1.2. Run", BASE + "docs/walrus.html"),
        OutlineEntry(1, "II. Language", BASE + "docs/alpha.html"),
        OutlineEntry(2, "2. Syntax", BASE + "docs/beta.html"),
        OutlineEntry(2, "3. Types", BASE + "docs/gamma.html"),
        OutlineEntry(1, "Release Notes", BASE + "docs/releases.html"),
        OutlineEntry(2, "Release 1.0", BASE + "docs/release-1-0.html"),
    ]
    pages = [
        page("/docs/index.html", "Quill Manual"),
        *[page(f"/docs/{n}.html", t) for n, t in (("alpha", "II. Language"), ("beta", "2. Syntax"))],
        page("/docs/gamma.html", "3. Types"),
        page("/docs/release-1-0.html", "Release 1.0"),
        page("/docs/releases.html", "Release Notes"),
        page("/docs/walrus.html", "1.2. Run"),
        page("/docs/xray.html", "1.1. Install"),
        page("/docs/xray-more.html", "1.1.1. Install from source"),  # not in the TOC
        page("/docs/yak.html", "1. Start"),
        page("/docs/zeta.html", "I. Tutorial"),
        page("/docs/stray.html", "Stray page"),  # in nothing at all
    ]
    navigation = Navigation(home_url=BASE + "docs/index.html", toc=[toc])

    structure = build_structure(pages, BASE, navigation)

    assert structure.source == "toc"
    by_name = {s.name: [p.url.rsplit("/", 1)[1] for p in s.pages] for s in structure.sections}
    assert by_name["I. Tutorial"] == ["zeta.html", "yak.html", "xray.html", "xray-more.html", "walrus.html"]
    assert by_name["II. Language"] == ["alpha.html", "beta.html", "gamma.html"]
    assert by_name["Optional"] == ["releases.html", "release-1-0.html"]
    assert structure.sections[0].name == "Overview" and by_name["Overview"][0] == "index.html"
    assert "stray.html" in [u.rsplit("/", 1)[1] for u in urls(structure.sections)]
    assert sorted(urls(structure.sections)) == sorted(p.url for p in pages)


def test_an_outline_that_places_too_few_pages_is_not_used() -> None:
    pages = [page(f"/docs/guide/p{i}/") for i in range(20)] + [page(f"/api/r{i}/") for i in range(20)]
    toc = [OutlineEntry(1, f"P{i}", BASE + f"docs/guide/p{i}/") for i in range(8)]

    structure = build_structure(pages, BASE, Navigation(toc=[toc]))

    assert structure.source == "folders"


def test_breadcrumbs_group_pages_by_their_first_crumb() -> None:
    pages = [page("/")] + [page(f"/a/{i}/", f"Article {i}") for i in range(9)]
    trails = {p.url: [("Billing", "Shipping", "Returns")[i % 3]] for i, p in enumerate(pages[1:])}

    structure = build_structure(pages, BASE, Navigation(home_url=BASE, breadcrumbs=trails))

    assert structure.source == "breadcrumbs"
    assert [s.name for s in structure.sections] == ["Overview", "Billing", "Shipping", "Returns"]
    assert [len(s.pages) for s in structure.sections] == [1, 3, 3, 3]


def test_numbered_titles_group_chapters_in_number_order() -> None:
    titles = ["10.1. Late", "Chapter 2. Second", "2.1. B", "Chapter 10. Tenth", "A.1. Extra", "Appendix A. Extra"]
    titles += [f"2.{i}. More" for i in range(2, 6)] + ["Part I. Start"]
    pages = [page(f"/p{i}.html", t) for i, t in enumerate(titles)]

    structure = build_structure(pages, BASE, Navigation())

    assert structure.source == "numbering"
    names = [s.name for s in structure.sections]
    assert names == ["Overview", "Chapter 2. Second", "Chapter 10. Tenth", "Appendix A. Extra"]
    second = next(s for s in structure.sections if s.name == "Chapter 2. Second")
    assert [p.title for p in second.pages] == [
        "Chapter 2. Second",
        "2.1. B",
        "2.2. More",
        "2.3. More",
        "2.4. More",
        "2.5. More",
    ]


def test_too_many_groups_are_merged_and_too_large_ones_split_along_their_parts() -> None:
    def group(name: str, parts: int, size: int) -> Group:
        return Group(
            [name], [(f"Chapter {n}. C{n}", [page(f"/{name}/{n}/{i}") for i in range(size)]) for n in range(parts)]
        )

    many = [group(f"g{i}", 1, 3) for i in range(20)]
    merged = finish([], many, [])
    assert len(merged) <= MAX_SECTIONS
    assert sum(len(s.pages) for s in merged) == 60

    big = finish([], [group("Part II. Big", 8, 40)], [])
    assert len(big) >= 2 and all(len(s.pages) <= 2 * SPLIT_AT for s in big)
    assert big[0].name.startswith("Part II. Big (Chapters 0")
    assert sum(len(s.pages) for s in big) == 320


def test_low_value_pages_are_recognised_by_title_or_url() -> None:
    for title in (
        "Release Notes",
        "E. Release Notes",
        "Appendix E. Release Notes",
        "Index",
        "Changelog",
        "Privacy Policy",
    ):
        assert low_value(title), title
    for title in ("Indexes", "Installing", "Release engineering guide", "Terms used in this manual"):
        assert not low_value(title), title
    assert low_value("Anything", "https://x.example/legal/privacy/")


def test_the_site_name_and_summary_come_from_the_home_page() -> None:
    home = PageInfo(url=BASE, title="Quill 4 Manual", description="Quill stores events.", markdown="")
    titles = ["Chapter 1. Start | Quill 4 Manual", "1.1. Install | Quill 4 Manual", "Quill 4 Manual"]
    assert site_name(home, titles, BASE) == "Quill 4 Manual"
    assert home_summary(home) == "Quill stores events."
    named = PageInfo(url=BASE, title="Welcome!", description=None, markdown="", site_name="Quill")
    assert site_name(named, titles, BASE) == "Quill"
    assert site_name(None, ["A | Acme", "B | Acme"], BASE) == "Acme"
    assert site_name(None, [], BASE) == "quill.example"
    bare = PageInfo(url=BASE, title="", description=None, markdown="", first_paragraph="First words.")
    assert home_summary(bare) == "First words." and home_summary(None) == ""


def test_a_flat_list_of_links_is_not_taken_for_a_structure() -> None:
    pages = [page("/")] + [page(f"/docs/guide/p{i}/") for i in range(15)] + [page(f"/api/r{i}/") for i in range(15)]
    flat = [OutlineEntry(1, p.title, p.url) for p in pages[1:]]

    structure = build_structure(pages, BASE, Navigation(home_url=BASE, toc=[flat]))

    assert structure.source == "folders"
    assert {"Docs", "API"} <= {s.name for s in structure.sections}
