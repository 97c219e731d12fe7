"""The llms_txt kind end to end: the real API, the session's worker and a real test site on 127.0.0.1.

A job is started over HTTP, watched over SSE, and its files are downloaded and read back with the
reference parser (``llms_txt.parse_llms_file``). Also here: link discovery on a site without a sitemap,
include/exclude globs and ``max_urls``, site analysis, cancellation mid-crawl, artifact access rules and
the monthly quota. Tests that need other settings or kill workers live in ``test_llms_isolated.py`` and
``test_llms_recovery.py``.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text

from service.quota.service import next_reset
from service.settings import Settings
from tests.conftest import ApiUser
from tests.support.llms_jobs import (
    create_llms_job,
    duplicates,
    fetching,
    job_row,
    kept_paths,
    link_urls,
    parse_llms,
    parsed_urls,
    reachable_paths,
    source_urls,
    wait_for_row,
    wait_until_terminal,
)
from tests.support.services import free_port
from tests.support.sse import read_events
from tests.support.testsite.builder import build_linked_site, build_site
from tests.support.testsite.recording import RecordingSite
from tests.support.testsite.serving import RunningSite

# Every test here needs the session's worker; the test-site fixtures are registered for this module.
pytestmark = pytest.mark.usefixtures("worker")
pytest_plugins = ("tests.support.testsite.fixtures",)

MakeUser = Callable[..., Awaitable[ApiUser]]
STEPS = ["discover", "fetch", "describe", "assemble"]


def host_of(site: RunningSite | RecordingSite) -> str:
    """What a user types: ``127.0.0.1:PORT``, no scheme (the crawler tries https, then http)."""
    return urlsplit(site.base_url).netloc


async def run_to_end(user: ApiUser, db_engine: Engine, timeout: float = 60, **params: object) -> dict[str, Any]:
    job_id = await create_llms_job(user.client, **params)
    row = await wait_until_terminal(db_engine, job_id, timeout)
    assert row["status"] == "succeeded", (row["status"], row["error"])
    return row


async def download(user: ApiUser, job_id: object, name: str) -> bytes:
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/{name}")
    assert response.status_code == 200, response.text
    return response.content


# --- 1. The happy path -------------------------------------------------------------------------------


async def test_a_300_page_site_becomes_llms_txt_full_text_and_a_bundle(
    make_user: MakeUser, acme_site: RunningSite
) -> None:
    spec = acme_site.spec
    host = host_of(acme_site)
    kept = {acme_site.url(p) for p in kept_paths(spec)}
    disallowed = {acme_site.url(p) for p in spec.disallowed}
    broken = {acme_site.url(p) for p in [*spec.broken, *spec.not_html, *spec.redirects]}
    # Given a user and a ~300-page site with sitemaps, robots.txt, redirects and broken pages
    user = await make_user()

    # When they start a generation and watch its event stream to the end
    job_id = await create_llms_job(user.client, hostname=host, max_urls=500)
    received = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=90)

    # Then the stream ends with succeeded, after the steps in order (discovery on a local site can be over
    # before the stream's snapshot: the stream shows the steps from where it joined)
    assert received.ended
    final = received.events[-1]
    assert final.event == "status" and final.data["status"] == "succeeded", final.data
    progress = [e.data for e in received.of_type("progress")]
    steps = [p["step"] for p in progress]
    seen = [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]
    assert seen == STEPS[STEPS.index(seen[0]) :] and seen[0] in ("discover", "fetch"), steps
    # and the audit trail has every step, in order
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    assert [e["detail"]["step"] for e in history if e["type"] == "step"] == STEPS
    # and each counted step reached its total
    for step in ("fetch", "describe", "assemble"):
        last = [p for p in progress if p["step"] == step][-1]
        assert last["total"] and last["done"] == last["total"], (step, last)

    # and the result counts what the site holds
    result = final.data["result"]
    assert result["hostname"] == host
    assert result["base_url"] == acme_site.base_url  # http, after https failed
    assert result["discovery_source"] == "sitemaps" and result["discovery_complete"] is True
    assert result["urls_discovered"] == len(set(spec.listed)) - len(spec.disallowed)
    assert [p for p in progress if p["step"] == "fetch"][-1]["total"] == result["urls_discovered"]
    assert result["pages"] == len(kept)
    assert result["skipped_by_robots"] == len(spec.disallowed)
    assert result["errors"] == {"http_404": 1, "http_500": 1, "not_html": 1}
    assert result["resumed_pages"] == 0
    assert result["provider"] == "extractive" and result["provider_fallbacks"] == 0
    assert len(result["sections"]) > 1 and result["sections"][-1] == "Optional", result["sections"]
    assert {a["name"] for a in result["artifacts"]} == {"llms.txt", "llms-full.txt", "bundle.zip"}

    # When llms.txt is downloaded
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")
    assert response.status_code == 200, response.text
    llms = response.text
    # Then it is an attachment named after the host
    safe_host = host.replace(":", "-")
    assert response.headers["content-disposition"] == f'attachment; filename="llms-{safe_host}.txt"'
    assert response.headers["content-type"].startswith("text/plain")
    # and the reference parser reads its title and the result's sections, Optional last (the summary is
    # checked at the end of the test)
    parsed = parse_llms(llms)
    assert parsed.title == "Acme Cloud"
    assert list(parsed.sections) == result["sections"]
    # and every kept page is linked exactly once; nothing disallowed, broken or redirecting is
    urls = link_urls(llms)
    assert duplicates(urls) == {}
    assert sorted(parsed_urls(parsed)) == sorted(urls)
    assert set(urls) == kept, (sorted(kept - set(urls))[:5], sorted(set(urls) - kept)[:5])
    assert not set(urls) & disallowed
    assert not set(urls) & broken

    # When llms-full.txt is downloaded, Then every kept page is there once, with its Source line
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/llms-full.txt")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="llms-full-{safe_host}.txt"'
    full = response.text
    sources = source_urls(full)
    assert duplicates(sources) == {}
    assert set(sources) == kept
    assert full.startswith("# Acme Cloud\n")

    # When the bundle is downloaded, Then it holds both files and one Markdown file per page
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/bundle.zip")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="llms-{safe_host}.zip"'
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as bundle:
        names = bundle.namelist()
        assert bundle.read("llms.txt").decode() == llms
        assert bundle.read("llms-full.txt").decode() == full
        page_files = [n for n in names if n.startswith("pages/")]
        assert all(n.endswith(".md") for n in page_files)
        assert len(page_files) == len(set(page_files)) == len(kept)
        page_sources = [source_urls(bundle.read(n).decode())[0] for n in page_files]
    assert set(names) == {"llms.txt", "llms-full.txt", *page_files}
    assert sorted(page_sources) == sorted(kept)

    # Finally, the summary: written as a "> " line under the title, and read as the summary by the
    # reference parser (which needs a details paragraph after it to tell it from the details)
    assert llms.split("\n")[2].startswith("> "), llms[:300]
    assert parsed.summary and parsed.summary.strip(), f"the parser read no summary from {llms[:300]!r}"


# --- Artifact access ----------------------------------------------------------------------------------


@pytest.fixture
async def finished_small_job(
    make_user: MakeUser, acme_site: RunningSite, db_engine: Engine
) -> AsyncIterator[tuple[ApiUser, str]]:
    user = await make_user()
    row = await run_to_end(user, db_engine, hostname=host_of(acme_site), max_urls=5)
    yield user, str(row["id"])


async def test_another_user_cannot_see_a_jobs_files(
    make_user: MakeUser, finished_small_job: tuple[ApiUser, str]
) -> None:
    # Given a finished job of one user
    owner, job_id = finished_small_job
    await download(owner, job_id, "llms.txt")
    # When another user asks for its files
    stranger = await make_user()
    for name in ("llms.txt", "llms-full.txt", "bundle.zip"):
        response = await stranger.client.get(f"/api/jobs/{job_id}/artifacts/{name}")
        # Then the job does not exist for them: 404, not 403, and no content
        assert response.status_code == 404, (name, response.status_code)
        assert response.json()["error"]["code"] in {"not_found", "job_not_found"}
        assert "# Acme Cloud" not in response.text


def raw_get(base_url: str, raw_path: str, api_key: str) -> tuple[int, bytes]:
    """A GET with the path sent byte for byte: httpx would resolve ``..`` segments before sending."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        conn.request("GET", raw_path, headers={"Authorization": f"Bearer {api_key}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


async def test_unknown_names_and_path_traversal_get_404_and_nothing_outside_the_job_folder(
    make_user: MakeUser, finished_small_job: tuple[ApiUser, str], settings: Settings, api_url: str
) -> None:
    owner, job_id = finished_small_job
    # Given files next to the job's folder that must never be served through it
    artifacts = Path(settings.artifacts_dir)
    secret = "TOP-SECRET-" + uuid.uuid4().hex
    (artifacts / "secret.txt").write_text(secret)
    neighbour = artifacts / str(uuid.uuid4())
    neighbour.mkdir()
    (neighbour / "llms.txt").write_text(secret)
    (artifacts / job_id / "checkpoint" / "secret.txt").write_text(secret)
    attempts = [
        "secret.txt",
        "checkpoint",
        "discovery.json",
        "..%2Fsecret.txt",
        "..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"..%2F{neighbour.name}%2Fllms.txt",
        "%2E%2E%2Fsecret.txt",
        "checkpoint%2Fsecret.txt",
        "checkpoint%2Fpages.jsonl",
        "%2Fetc%2Fpasswd",
        "llms.txt%00",
        "llms.txt.tmp",
        "LLMS.TXT",
    ]
    # When the owner asks for unknown names and traversal paths
    for name in attempts:
        status, body = await asyncio.to_thread(raw_get, api_url, f"/api/jobs/{job_id}/artifacts/{name}", owner.api_key)
        # Then every answer is 404 and no byte of a file outside the job's known artifacts comes back
        assert status == 404, (name, status, body[:200])
        assert secret.encode() not in body and b"root:" not in body, name
    for raw in (f"/api/jobs/{job_id}/artifacts/../llms.txt", f"/api/jobs/{job_id}/artifacts/../../../../etc/passwd"):
        status, body = await asyncio.to_thread(raw_get, api_url, raw, owner.api_key)
        assert status == 404, (raw, status, body[:200])
        assert b"root:" not in body and b"# Acme Cloud" not in body, raw
    # and an unknown name says which names exist
    response = await owner.client.get(f"/api/jobs/{job_id}/artifacts/report.pdf")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "artifact_not_found" and "llms.txt" in error["message"]


# --- 2. Link discovery --------------------------------------------------------------------------------


async def test_a_site_without_sitemap_is_discovered_by_links_to_depth_3(
    make_user: MakeUser, linked_site: RunningSite, db_engine: Engine
) -> None:
    spec = linked_site.spec
    expected = {linked_site.url(p) for p in reachable_paths(spec, 3)}
    # Given a site with neither robots.txt nor sitemap
    user = await make_user()
    # When a generation runs
    row = await run_to_end(user, db_engine, hostname=host_of(linked_site))
    result = row["result"]
    # Then its pages were found by links: exactly those within three links of the home page
    assert result["discovery_source"] == "links"
    assert result["pages"] == len(expected)
    llms = (await download(user, row["id"], "llms.txt")).decode()
    urls = link_urls(llms)
    assert duplicates(urls) == {}
    assert set(urls) == expected
    # and none of the pages too deep or linked only with nofollow, nor other sites or files
    assert not set(urls) & {linked_site.url(p) for p in spec.unreachable}
    assert all(u.startswith(linked_site.base_url) for u in urls)
    assert not any(u.endswith(".pdf") for u in urls)


async def test_link_discovery_fetches_every_page_once(make_user: MakeUser, tmp_path: Path, db_engine: Engine) -> None:
    # Given a site with neither robots.txt nor sitemap, whose server records every request
    spec = build_linked_site(tmp_path)
    site = RecordingSite(tmp_path)
    await site.start()
    try:
        user = await make_user()
        # When a generation runs
        row = await run_to_end(user, db_engine, hostname=host_of(site))
    finally:
        await site.stop()
    result = row["result"]
    expected = set(reachable_paths(spec, 3))
    assert result["discovery_source"] == "links" and result["pages"] == len(expected)
    # Then no page was requested twice: the pages the link walk read are the ones written
    pages = [path for path in site.paths() if path not in ("/robots.txt", "/sitemap.xml", "/sitemap_index.xml")]
    assert duplicates(pages) == {}
    assert expected <= set(pages)
    # and the output is the one the sitemap path gives: every reachable page, once
    urls = link_urls((await download(user, row["id"], "llms.txt")).decode())
    assert duplicates(urls) == {} and set(urls) == {site.url(p) for p in expected}


# --- 3. include/exclude and max_urls ------------------------------------------------------------------


async def test_include_and_exclude_globs_are_honoured(
    make_user: MakeUser, acme_site: RunningSite, db_engine: Engine
) -> None:
    spec = acme_site.spec
    wanted = {
        p
        for p in kept_paths(spec)
        if p.startswith("/docs/") and not p.startswith(("/docs/guides/", "/docs/reference/"))
    }
    # Given a user who wants the docs but not the guides or the reference
    user = await make_user()
    # When they generate with include/exclude globs
    row = await run_to_end(
        user,
        db_engine,
        hostname=host_of(acme_site),
        include_paths=["/docs/*"],
        exclude_paths=["/docs/guides/*", "/docs/reference/*"],
    )
    result = row["result"]
    llms = (await download(user, row["id"], "llms.txt")).decode()
    paths = {urlsplit(u).path for u in link_urls(llms)}
    # Then only the wanted docs are there (and the home page, which is always kept for the title)
    assert paths - {"/"} == wanted
    assert result["pages"] == len(paths)
    assert not any(p.startswith(("/docs/guides/", "/docs/reference/", "/blog/", "/api/")) for p in paths)


async def test_max_urls_caps_the_crawl(make_user: MakeUser, acme_site: RunningSite, db_engine: Engine) -> None:
    # Given a site with about 300 pages
    user = await make_user()
    # When a generation asks for at most 12 URLs
    row = await run_to_end(user, db_engine, hostname=host_of(acme_site), max_urls=12)
    result = row["result"]
    # Then no more than 12 were fetched, and the result says the site has more
    assert result["urls_discovered"] == 12
    assert result["discovery_complete"] is False
    assert row["progress_total"] in (1, 12)  # assemble is the last step
    llms = (await download(user, row["id"], "llms.txt")).decode()
    urls = link_urls(llms)
    assert 1 <= len(urls) == result["pages"] <= 12
    assert acme_site.url("/") in urls


@pytest.mark.parametrize("max_urls", [0, 5001, -1, "10"])
async def test_max_urls_out_of_range_is_refused(make_user: MakeUser, acme_site: RunningSite, max_urls: object) -> None:
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "llms_txt", "params": {"hostname": host_of(acme_site), "max_urls": max_urls}}
    )
    assert response.status_code == 400, response.text
    assert "max_urls" in response.text


# --- 4. Analyze ---------------------------------------------------------------------------------------


async def test_analyze_counts_a_sites_pages(make_user: MakeUser, acme_site: RunningSite) -> None:
    spec = acme_site.spec
    # Given a site with a sitemap index and robots.txt
    user = await make_user()
    # When it is analyzed
    response = await user.client.get("/api/sites/analyze", params={"hostname": host_of(acme_site)})
    # Then the answer counts its listed pages, its sitemaps and what robots.txt forbids, within 10 s
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["hostname"] == host_of(acme_site)
    assert body["base_url"] == acme_site.base_url
    assert body["urls_count"] == len(set(spec.listed)) - len(spec.disallowed)
    assert body["is_complete"] is True
    assert body["robots_txt"] is True
    assert sorted(body["sitemaps"]) == sorted(acme_site.url(s) for s in spec.sitemaps)
    assert body["disallowed_count"] == len(spec.disallowed)
    assert 0 <= body["elapsed_ms"] < 10_000


@pytest.mark.parametrize(
    ("hostname", "words"),
    [("not a host", "spaces"), ("ftp://x.com", "ftp"), ("", "hostname"), ("http://", "hostname")],
)
async def test_analyze_refuses_an_invalid_hostname(make_user: MakeUser, hostname: str, words: str) -> None:
    user = await make_user()
    response = await user.client.get("/api/sites/analyze", params={"hostname": hostname})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert words in (error["message"] + str(error.get("details"))).lower(), error


async def test_analyze_of_a_site_nobody_answers_is_site_unreachable(make_user: MakeUser) -> None:
    # Given a port nobody listens on
    user = await make_user()
    host = f"127.0.0.1:{free_port()}"
    # When it is analyzed, Then the answer is a quick 400 site_unreachable naming the host
    started = time.monotonic()
    response = await user.client.get("/api/sites/analyze", params={"hostname": host})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "site_unreachable"
    assert host in error["message"]
    assert time.monotonic() - started < 10


# --- 7. Cancel mid-crawl ------------------------------------------------------------------------------


@pytest.fixture
async def slow_site(tmp_path: Path) -> AsyncIterator[RecordingSite]:
    """The 300-page site, answering every request after 0.3 s: a crawl of about 12 s at 8 connections."""
    build_site(tmp_path, pages=300)
    site = RecordingSite(tmp_path, delay=0.3)
    await site.start()
    yield site
    await site.stop()


async def test_cancelling_mid_crawl_stops_it_at_once_and_writes_nothing(
    make_user: MakeUser, slow_site: RecordingSite, db_engine: Engine, settings: Settings
) -> None:
    # Given a slow crawl in its fetch step
    user = await make_user()
    job_id = await create_llms_job(user.client, hostname=host_of(slow_site))
    await wait_for_row(db_engine, job_id, fetching(10), 30, "the fetch step")

    # When the user deletes the job
    response = await user.client.delete(f"/api/jobs/{job_id}")
    assert response.status_code == 204, response.text
    deleted_at = time.monotonic()

    # Then it is cancelled within 3 s and the crawl stops: no new requests, no more progress
    await wait_for_row(db_engine, job_id, lambda r: r["status"] == "cancelled", 3, "cancelled")

    def quiet_since(seconds: float) -> bool:
        last = slow_site.hits[-1].at if slow_site.hits else 0
        return time.monotonic() - last >= seconds

    deadline = time.monotonic() + 5
    while not quiet_since(1.0):
        assert time.monotonic() < deadline, "the site is still being crawled 5 s after the cancel"
        await asyncio.sleep(0.1)
    last_hit = slow_site.hits[-1].at
    assert last_hit - deleted_at < 3, f"requests went on {last_hit - deleted_at:.1f} s after the cancel"
    hits, done = len(slow_site.hits), job_row(db_engine, job_id)["progress_done"]
    await asyncio.sleep(1.5)
    assert len(slow_site.hits) == hits
    row = job_row(db_engine, job_id)
    assert row["progress_done"] == done < row["progress_total"]
    assert row["status"] == "cancelled" and row["result"] is None
    # and no output was written
    folder = Path(settings.artifacts_dir) / job_id
    assert not (folder / "llms.txt").exists()
    assert not (folder / "llms-full.txt").exists()
    assert not (folder / "bundle.zip").exists()


# --- 9. Quota -----------------------------------------------------------------------------------------


async def test_the_monthly_quota_stops_a_second_generation(
    make_user: MakeUser, acme_site: RunningSite, db_engine: Engine
) -> None:
    # Given a user allowed one generation a month
    user = await make_user()
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE users SET monthly_generation_limit = 1 WHERE id = :id"), {"id": user.id})
    # When the first generation runs, Then it succeeds and uses up the quota
    await run_to_end(user, db_engine, hostname=host_of(acme_site), max_urls=3)
    quota = (await user.client.get("/api/quota")).json()
    assert quota["used"] == 1 and quota["remaining"] == 0 and quota["can_generate"] is False

    # When a second one is asked for
    response = await user.client.post(
        "/api/jobs", json={"kind": "llms_txt", "params": {"hostname": host_of(acme_site), "max_urls": 3}}
    )
    # Then it is refused with 429 quota_exhausted, saying when the quota resets
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "quota_exhausted"
    reset = next_reset(datetime.now(UTC))
    assert f"{reset:%B} {reset.day}, {reset.year}" in error["message"], error["message"]
    assert int(response.headers["retry-after"]) > 0
    # and nothing was stored
    with db_engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM jobs WHERE owner_id = :id"), {"id": user.id}).scalar_one()
    assert count == 1
