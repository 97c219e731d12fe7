"""The article catalog from a shell and from a finished llms_txt job of a catalog site (real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from tests.conftest import ApiUser
from tests.support.llms_jobs import create_llms_job, wait_until_terminal
from tests.support.testsite.serving import RunningSite

MakeUser = Callable[..., Awaitable[ApiUser]]


def catalog_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "catalog", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.usefixtures("worker")
async def test_a_domain_is_filled_from_its_llms_txt_job_by_the_cli_and_the_admin_endpoint(
    service_env: dict[str, str], make_user: MakeUser, acme_site: RunningSite, db_engine: Engine
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    netloc = urlsplit(acme_site.base_url).netloc
    # Given a catalog domain, added from a shell
    added = catalog_cli(service_env, "add-domain", "127.0.0.1", "--article-price", "4900", "--backlink-price", "900")
    assert added.returncode == 0, added.stderr
    again = catalog_cli(service_env, "add-domain", "127.0.0.1", "--article-price", "1", "--backlink-price", "1")
    assert again.returncode == 1 and "already has 127.0.0.1" in again.stderr
    # And a finished llms_txt job of that site
    job_id = await create_llms_job(admin.client, hostname=netloc, max_urls=8)
    row = await wait_until_terminal(db_engine, job_id, 90)
    assert row["status"] == "succeeded", row["error"]
    # When its pages are imported from a shell, the domain has them as articles (title, URL, Markdown body)
    imported = catalog_cli(service_env, "import-llms", job_id)
    assert imported.returncode == 0, imported.stderr
    counts = json.loads(imported.stdout)
    assert counts["domain"] == "127.0.0.1" and counts["added"] >= 5 and counts["updated"] == 0
    articles = (await customer.client.get("/api/catalog/domains/127.0.0.1/articles")).json()
    assert len(articles) == counts["added"]
    assert all(a["url"].startswith(acme_site.base_url) and a["title"] for a in articles)
    assert sum(a["words"] for a in articles) > 100
    listed = json.loads(catalog_cli(service_env, "list").stdout)
    assert [(d["hostname"], len(d["articles"])) for d in listed] == [("127.0.0.1", counts["added"])]
    # And importing again through the admin endpoint updates them in place
    again_api = await admin.client.post("/api/admin/catalog/import-llms", json={"job_id": job_id})
    assert again_api.status_code == 200, again_api.text
    assert again_api.json() == {"domain": "127.0.0.1", "added": 0, "updated": counts["added"]}
    # Only admins import; a job that is not a finished llms_txt job is refused, naming the field
    denied = await customer.client.post("/api/admin/catalog/import-llms", json={"job_id": job_id})
    assert denied.status_code == 404
    missing = await admin.client.post(
        "/api/admin/catalog/import-llms", json={"job_id": "00000000-0000-4000-8000-000000000000"}
    )
    assert missing.status_code == 404 and "job_id" in missing.text
