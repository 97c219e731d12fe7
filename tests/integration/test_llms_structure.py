"""llms.txt structured like the site itself: one real job per structure source, on generated sites on 127.0.0.1.

- a manual in one folder with a table of contents on its home page (``/`` redirects to it);
- a docs site in one folder whose structure is its sidebar;
- a help centre whose structure is its articles' breadcrumbs;
- a site with folders (Acme Cloud), where folder sections still come out.

Every file is read back with the reference parser, and every page fetched is listed exactly once.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.support.llms_jobs import (
    create_llms_job,
    duplicates,
    link_urls,
    parse_llms,
    parsed_urls,
    source_urls,
    wait_until_terminal,
)
from tests.support.testsite.docsites import (
    HELP_CATEGORIES,
    SIDEBAR_GROUPS,
    build_breadcrumb_site,
    build_sidebar_site,
)
from tests.support.testsite.manual import MANUAL, SUMMARY, build_manual_site
from tests.support.testsite.serving import RunningSite, ServeSite

pytestmark = pytest.mark.usefixtures("worker")
pytest_plugins = ("tests.support.testsite.fixtures",)

MakeUser = Callable[..., Awaitable[ApiUser]]


async def generate(user: ApiUser, db_engine: Engine, site: RunningSite, **params: Any) -> tuple[dict[str, Any], str]:
    """Run a job on ``site`` to success; returns (its result, llms.txt)."""
    job_id = await create_llms_job(user.client, hostname=urlsplit(site.base_url).netloc, max_urls=2000, **params)
    row = await wait_until_terminal(db_engine, job_id, timeout=120)
    assert row["status"] == "succeeded", (row["status"], row["error"])
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")
    assert response.status_code == 200
    return row["result"], response.text


def sections_of(llms: str) -> list[tuple[str, list[str]]]:
    """(section name, link URLs) in file order."""
    out: list[tuple[str, list[str]]] = []
    for block in llms.split("\n## ")[1:]:
        name, _, body = block.partition("\n")
        out.append((name.strip(), link_urls(body)))
    return out


@pytest.fixture(scope="module")
def manual_site(serve_site: ServeSite) -> RunningSite:
    return serve_site(build_manual_site, pages=240)


async def test_a_manual_in_one_folder_gets_its_table_of_contents_as_sections_in_reading_order(
    make_user: MakeUser, db_engine: Engine, manual_site: RunningSite
) -> None:
    spec = manual_site.spec
    # Given a manual whose URLs are all /docs/<slug>.html, whose / redirects to /docs/index.html
    user = await make_user()

    # When it becomes llms.txt
    result, llms = await generate(user, db_engine, manual_site)

    # Then the table of contents was the structure, the H1 is the manual's name, the summary its home page's
    assert result["structure_source"] == "toc"
    assert result["home_url"] == manual_site.url("/docs/index.html")
    assert llms.startswith(f"# {MANUAL}\n\n> {SUMMARY}\n")
    parsed = parse_llms(llms)
    assert parsed.title == MANUAL
    # and there are 3-12 sections named after the manual's parts, Optional (release notes, index) last
    sections = sections_of(llms)
    names = [name for name, _ in sections]
    assert 3 <= len(names) <= 12, names
    assert names[-1] == "Optional"
    for part in spec.top_level:
        if part != "Preface" and "Appendix" not in part:
            assert any(name.startswith(part) for name in names), (part, names)
    optional = {urlsplit(u).path for u in sections[-1][1]}
    assert set(spec.optional) <= optional
    # and every page is listed once, in the manual's own order outside Optional
    listed = [u for _, urls in sections for u in urls]
    assert duplicates(listed) == {}
    assert {urlsplit(u).path for u in listed} == set(spec.pages)
    assert parsed_urls(parsed) == listed
    order = [urlsplit(u).path for name, urls in sections[:-1] for u in urls if name != "Overview"]
    expected = [p for p in spec.reading_order if p in set(order)]
    assert order == expected
    # and the result gives sizes: tokens of both files and of each section
    tokens = result["tokens"]
    assert tokens["llms_txt"] > 0 and tokens["llms_full_txt"] > tokens["llms_txt"]
    assert set(tokens["sections"]) == set(names)


async def test_a_too_large_full_text_is_also_written_per_section(
    make_user: MakeUser, db_engine: Engine, manual_site: RunningSite
) -> None:
    # Given a manual whose full text is larger than the split size asked for
    user = await make_user()

    # When it becomes llms.txt with a 200 KB split size
    job_id = await create_llms_job(
        user.client, hostname=urlsplit(manual_site.base_url).netloc, max_urls=2000, split_full_bytes=200_000
    )
    row = await wait_until_terminal(db_engine, job_id, timeout=120)
    assert row["status"] == "succeeded", row["error"]

    # Then llms.txt says where the section files are, and the bundle holds one per section, whole
    assert row["result"]["llms_full_split"] is True
    llms = (await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")).text
    assert "llms-full/" in llms.split("\n## ")[0]
    parse_llms(llms)
    full = (await user.client.get(f"/api/jobs/{job_id}/artifacts/llms-full.txt")).text
    bundle = (await user.client.get(f"/api/jobs/{job_id}/artifacts/bundle.zip")).content
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        parts = sorted(n for n in archive.namelist() if n.startswith("llms-full/"))
        assert len(parts) == len(row["result"]["sections"])
        in_parts = [u for name in parts for u in source_urls(archive.read(name).decode())]
    assert sorted(in_parts) == sorted(source_urls(full))


async def test_a_docs_site_in_one_folder_gets_its_sidebar_groups_as_sections(
    make_user: MakeUser, db_engine: Engine, serve_site: ServeSite
) -> None:
    site = serve_site(build_sidebar_site)
    user = await make_user()

    result, llms = await generate(user, db_engine, site)

    assert result["structure_source"] == "navigation"
    assert llms.startswith("# Brightline\n")
    sections = sections_of(llms)
    by_name = dict(sections)
    for group, titles in SIDEBAR_GROUPS:
        # each sidebar group is a section holding its pages in the sidebar's order
        assert [urlsplit(u).path for u in by_name[group]] == [f"/docs/{'-'.join(t.lower().split())}/" for t in titles]
    assert [n for n, _ in sections if n in dict(SIDEBAR_GROUPS)] == [g for g, _ in SIDEBAR_GROUPS]
    # and the pages in no sidebar are listed too
    listed = {urlsplit(u).path for _, urls in sections for u in urls}
    assert listed == set(site.spec.pages)
    parse_llms(llms)


async def test_a_help_centre_gets_its_breadcrumb_categories_as_sections(
    make_user: MakeUser, db_engine: Engine, serve_site: ServeSite
) -> None:
    site = serve_site(build_breadcrumb_site)
    user = await make_user()

    result, llms = await generate(user, db_engine, site)

    assert result["structure_source"] == "breadcrumbs"
    assert llms.startswith("# Northwind Help\n\n> Northwind help centre.\n")
    by_name = dict(sections_of(llms))
    for index, category in enumerate(HELP_CATEGORIES):
        expected = {p for p, c in site.spec.depths.items() if c == index}
        assert {urlsplit(u).path for u in by_name[category]} == expected, category
    parse_llms(llms)


async def test_a_site_with_folders_still_gets_folder_sections(
    make_user: MakeUser, db_engine: Engine, acme_site: RunningSite
) -> None:
    user = await make_user()

    result, llms = await generate(user, db_engine, acme_site)

    assert result["structure_source"] == "folders"
    names = [name for name, _ in sections_of(llms)]
    assert {"Docs", "API", "Blog"} <= set(names) and names[-1] == "Optional"
    assert llms.startswith("# Acme Cloud\n")
