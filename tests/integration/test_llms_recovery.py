"""An llms_txt crawl whose worker is SIGKILLed mid-fetch resumes from its checkpoint on the next worker.

Runs on an isolated stack (its own database, Redis, API, scheduler and workers): the test kills the worker,
and the session's shared worker would otherwise pick the job up. The site is served in the test's loop by
``RecordingSite``, which answers each request after a delay (so the kill lands mid-crawl) and records every
path requested (so the resumed run can be shown not to fetch the checkpointed pages again).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from actors.kinds.llms_txt.checkpoint import Checkpoint
from tests.conftest import ApiUser
from tests.support.isolated_stack import IsolatedStack, isolated_stack
from tests.support.llms_jobs import create_llms_job, duplicates, fetching, kept_paths, link_urls, wait_for_row
from tests.support.services import ServiceProcess
from tests.support.testsite.builder import SiteSpec, build_site
from tests.support.testsite.recording import RecordingSite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llms_recovery_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str]
) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, service_env, scheduler=True)


@pytest.fixture
def stack(llms_recovery_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from llms_recovery_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


@pytest.fixture
async def slow_site(tmp_path: Path) -> AsyncIterator[tuple[RecordingSite, SiteSpec]]:
    """The 300-page site answering each request after 0.25 s: about 10 s of fetching at 8 connections."""
    spec = build_site(tmp_path, pages=300)
    site = RecordingSite(tmp_path, delay=0.25)
    await site.start()
    yield site, spec
    await site.stop()


def checkpointed_urls(folder: Path) -> list[str]:
    """The distinct URLs the checkpoint holds, read as the job reads them (a torn last line is skipped)."""
    seen: dict[str, None] = {}
    for record in Checkpoint(folder).records():
        seen.setdefault(record.url, None)
    return list(seen)


async def test_a_sigkilled_crawl_resumes_from_its_checkpoint(
    stack: IsolatedStack, user: ApiUser, slow_site: tuple[RecordingSite, SiteSpec]
) -> None:
    site, spec = slow_site
    discovery_files = {"/robots.txt", *spec.sitemaps, "/sitemap.xml"}
    # Redirects lead to pages that may be checkpointed already: following one again is not a re-fetch.
    redirect_targets = {*spec.redirects.values(), "/blog/archive/"}

    # Given a slow crawl whose checkpoint already holds some pages
    worker = stack.start_worker()
    job_id = await create_llms_job(user.client, hostname=urlsplit(site.base_url).netloc)
    folder = Path(stack.env["ARTIFACTS_DIR"]) / job_id / "checkpoint"
    await wait_for_row(stack.engine, job_id, fetching(40), 30, "40 pages fetched")
    assert (folder / "pages.jsonl").is_file()

    # When the worker's process group is SIGKILLed and a new worker starts
    worker.kill()
    killed_at = time.monotonic()
    hits_at_kill = len(site.hits)
    checkpointed = checkpointed_urls(folder)
    assert len(checkpointed) >= 40
    stack.start_worker()

    # Then the job runs again and succeeds
    row = await wait_for_row(stack.engine, job_id, lambda r: r["status"] == "succeeded", 90, "the resumed run")
    print(f"\nresumed crawl succeeded {time.monotonic() - killed_at:.1f} s after the kill")
    assert row["attempts"] == 2
    result = row["result"]
    # and it counted the checkpointed pages as resumed, not fetched again
    assert result["resumed_pages"] == len(checkpointed)
    after_kill = site.paths(hits_at_kill)
    # (the site's log and the checkpoint name pages alike: every checkpointed page was requested before the kill)
    assert {urlsplit(u).path for u in checkpointed} <= set(site.paths(0)[:hits_at_kill])
    refetched = {urlsplit(u).path for u in checkpointed} & set(after_kill) - redirect_targets
    assert not refetched, f"{len(refetched)} checkpointed pages fetched again, e.g. {sorted(refetched)[:5]}"
    # and discovery (robots.txt, sitemaps, the home page probe) was not repeated either
    assert not discovery_files & set(after_kill), sorted(discovery_files & set(after_kill))
    # and the second run fetched only what was left
    assert len(after_kill) <= result["urls_discovered"] - len(checkpointed) + 8 + len(redirect_targets)
    # and the output is as complete as an uninterrupted run's
    expected = {site.url(p) for p in kept_paths(spec)}
    assert result["pages"] == len(expected)
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")
    assert response.status_code == 200
    urls = link_urls(response.text)
    assert duplicates(urls) == {}
    assert set(urls) == expected
    assert result["errors"] == {"http_404": 1, "http_500": 1, "not_html": 1}, json.dumps(result["errors"])
