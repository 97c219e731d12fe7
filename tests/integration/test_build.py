"""The ``build`` kind through the real API and a real worker, with real Node, npm, tsc and Vite (installed
offline from npm's cache): a static site, a Vite + TypeScript app and its preview, the cache (same files:
the result at once; same lockfile: nothing installed), a type error, a memory hog, cancel, bad archives,
a clean environment, a site's history, aging of low builds.

One Vite build is shared by the tests that only read its outcome (``vite_build``): builds are slow.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert

from actors.broker import build_broker
from actors.registry import load_kind_modules
from actors.scheduler.promotion import PromotionPass
from db.engine import make_sessionmaker
from db.models import Job
from tests.conftest import ApiUser
from tests.support.archives import make_zip, overlapping_zip_bomb, symlink_zip
from tests.support.build_projects import (
    STATIC_SITE,
    memory_hog_project,
    slow_project,
    vite_project,
)
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}
BUILD_TIMEOUT = 240.0


async def start_build(
    client: httpx.AsyncClient, tmp: Path, files: dict[str, bytes], params: dict[str, Any] | None = None, **extra: str
) -> str:
    archive = make_zip(tmp / f"{uuid.uuid4().hex}.zip", files)
    response = await client.post(
        "/api/jobs",
        data={"kind": "build", "params": json.dumps(params or {}), **extra},
        files={"file": ("project.zip", archive.read_bytes(), "application/zip")},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def wait_terminal(client: httpx.AsyncClient, job_id: str, timeout: float = BUILD_TIMEOUT) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, f"build still {job['status']} after {timeout} s: {job}"
        await asyncio.sleep(0.1)


async def build(user: ApiUser, tmp: Path, files: dict[str, bytes], **params: Any) -> dict[str, Any]:
    return await wait_terminal(user.client, await start_build(user.client, tmp, files, params))


async def log_lines(client: httpx.AsyncClient, job_id: str) -> list[str]:
    return list((await client.get(f"/api/jobs/{job_id}/logs")).json()["lines"])


@pytest.fixture
async def user(make_user: MakeUser, worker: ServiceProcess) -> ApiUser:
    return await make_user()


async def test_a_static_site_is_published_as_is_with_a_safe_preview(user: ApiUser, tmp_path: Path) -> None:
    # Given a zip of a folder holding a plain site, when it is built
    job = await build(user, tmp_path, STATIC_SITE, site="brochure")
    # Then it succeeds with a preview of its files as they are
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["project"] == "static" and result["cached"] is False
    assert result["preview_url"].endswith(f"/previews/{job['id']}/")
    # The job's own fields show the preview, that it is done (not at its last step) and its log's last lines
    assert job["preview_url"] == result["preview_url"] and job["current_step"] == "done"
    assert job["estimated_seconds_remaining"] is None and job["details"]["cached"] is False
    assert job["failed_command"] is None and job["exit_code"] is None and isinstance(job["logs"], list)
    async with httpx.AsyncClient(base_url=str(user.client.base_url)) as anonymous:
        page = await anonymous.get(f"/previews/{job['id']}/")
        assert page.status_code == 200 and "Static site" in page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-disposition"] == 'inline; filename="index.html"'
        assert "sandbox" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        css = await anonymous.get(f"/previews/{job['id']}/style.css")
        assert css.headers["content-type"] == "text/css; charset=utf-8"
        assert "About us" in (await anonymous.get(f"/previews/{job['id']}/about/")).text
        # A page address the site does not have falls back to index.html (single-page apps); an asset does not.
        assert "Static site" in (await anonymous.get(f"/previews/{job['id']}/some/route")).text
        assert (await anonymous.get(f"/previews/{job['id']}/missing.js")).status_code == 404
        assert (await anonymous.get(f"/previews/{job['id']}/..%2F..%2Fetc/passwd")).status_code == 404
        assert (await anonymous.get(f"/previews/{uuid.uuid4()}/")).status_code == 404
    # And the site's history lists it
    history = (await user.client.get("/api/sites/brochure/builds")).json()
    assert [b["id"] for b in history["builds"]] == [job["id"]]
    assert history["estimated_seconds"] is not None


async def test_the_cache_never_hands_one_user_another_users_build(
    user: ApiUser, make_user: MakeUser, tmp_path: Path
) -> None:
    first = await build(user, tmp_path, STATIC_SITE)
    again = await build(user, tmp_path, STATIC_SITE)
    other = await build(await make_user(), tmp_path, STATIC_SITE)
    assert first["result"]["cached"] is False and again["result"]["cached"] is True
    assert again["result"]["cached_from"] == first["id"]
    assert other["status"] == "succeeded" and other["result"]["cached"] is False
    assert "cached_from" not in other["result"]


async def test_bad_params_and_hostile_archives_are_refused_before_any_job(user: ApiUser, tmp_path: Path) -> None:
    client = user.client
    archive = make_zip(tmp_path / "ok.zip", STATIC_SITE).read_bytes()
    for params, field in (({"output_dir": "../etc"}, "output_dir"), ({"site": "a b"}, "site"), ({"x": 1}, "x")):
        response = await client.post(
            "/api/jobs",
            data={"kind": "build", "params": json.dumps(params)},
            files={"file": ("p.zip", archive, "application/zip")},
        )
        assert response.status_code == 400, response.text
        assert field in response.text
    hostile = {
        "dot-dot": make_zip(tmp_path / "dots.zip", {"../escape.txt": b"x"}),
        "absolute": make_zip(tmp_path / "abs.zip", {"/etc/escape.txt": b"x"}),
        "link": symlink_zip(tmp_path / "link.zip"),
        "bomb": overlapping_zip_bomb(tmp_path / "bomb.zip"),
    }
    for name, path in hostile.items():
        response = await client.post(
            "/api/jobs",
            data={"kind": "build", "params": "{}"},
            files={"file": ("p.zip", path.read_bytes(), "application/zip")},
        )
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["code"] == "archive_refused", name
    assert (await client.get("/api/jobs")).json()["total"] == 0


async def test_a_vite_typescript_app_builds_then_the_caches_skip_the_work(user: ApiUser, tmp_path: Path) -> None:
    """One story, as tables are emptied between tests: builds are slow, so one Vite build serves three checks."""
    # Given a Vite + TypeScript app with a lockfile, when it is built
    files = vite_project(marker=uuid.uuid4().hex)
    first = await build(user, tmp_path, files, site="app")
    # Then it installs offline (npm ci), type-checks, builds and publishes a preview that works under any path
    assert first["status"] == "succeeded", first
    result = first["result"]
    assert result["project"] == "vite" and result["installed_from_cache"] is False
    assert set(result["seconds"]) >= {"extract", "install", "typecheck", "build"}
    lines = await log_lines(user.client, first["id"])
    assert any(line.startswith("$ npm ci") for line in lines), lines
    assert any("tsc --noEmit" in line for line in lines)
    assert any("built in" in line for line in lines), lines
    assert not any("\x1b[" in line for line in lines)
    whole = await user.client.get(f"/api/jobs/{first['id']}/artifacts/process.log")
    assert whole.status_code == 200 and "npm ci" in whole.text
    async with httpx.AsyncClient(base_url=str(user.client.base_url)) as anonymous:
        page = await anonymous.get(f"/previews/{first['id']}/")
        assert page.status_code == 200
        script = page.text.split('src="', 1)[1].split('"', 1)[0]
        assert script.startswith("./assets/"), page.text
        asset = await anonymous.get(f"/previews/{first['id']}/{script[2:]}")
        assert asset.status_code == 200 and "Built by Vite" in asset.text
        scripts = {"text/javascript; charset=utf-8", "application/javascript; charset=utf-8"}
        assert asset.headers["content-type"] in scripts

    # When the same files come again in another archive (another order: other archive bytes)
    again = dict(reversed(list(files.items())))
    cached = await wait_terminal(user.client, await start_build(user.client, tmp_path, again), timeout=60)
    # Then nothing runs: the first build's result, marked cached, with a preview of its own
    assert cached["status"] == "succeeded", cached
    assert cached["result"]["cached"] is True and cached["result"]["cached_from"] == first["id"]
    assert cached["result"]["content_hash"] == result["content_hash"]
    assert "./assets/" in (await user.client.get(f"/previews/{cached['id']}/")).text
    assert not any(line.startswith("$ npm") for line in await log_lines(user.client, cached["id"]))

    # When other files with the same lockfile are built
    second = await build(user, tmp_path, vite_project(marker=uuid.uuid4().hex))
    # Then node_modules comes from the cache: nothing is installed
    assert second["status"] == "succeeded", second
    assert second["result"]["installed_from_cache"] is True and second["result"]["cached"] is False
    lines = await log_lines(user.client, second["id"])
    assert not any(line.startswith("$ npm ci") for line in lines), lines
    assert any("node_modules restored from the cache" in line for line in lines)


async def test_a_type_error_fails_the_build_with_file_and_line(user: ApiUser, tmp_path: Path) -> None:
    job = await build(user, tmp_path, vite_project(marker=uuid.uuid4().hex, type_error=True))
    assert job["status"] == "failed", job
    assert "type check failed" in job["error"] and "exited with code 2" in job["error"]
    assert "src/broken.ts(1,7): error TS2322" in job["error"], job["error"]
    assert job["result"] is None
    # The failing command and its exit code are fields of their own, and the log's last lines show the error
    assert job["failed_command"] == "node_modules/.bin/tsc --noEmit --pretty false" and job["exit_code"] == 2
    assert any("error TS2322" in line for line in job["logs"]) and len(job["logs"]) <= 50


async def test_a_build_over_its_memory_limit_fails_naming_the_limit(user: ApiUser, tmp_path: Path) -> None:
    job = await build(user, tmp_path, memory_hog_project())
    assert job["status"] == "failed", job
    assert job["error"] == "`npm run build` exceeded its memory limit of 512 MB and was killed"
    # Killed for a limit, it has no exit code; the command is named
    assert job["failed_command"] == "npm run build" and job["exit_code"] is None


async def test_cancel_kills_npm_and_its_children_within_3_s_and_removes_the_work(
    user: ApiUser, tmp_path: Path, service_env: dict[str, str]
) -> None:
    marker = f"slow-{uuid.uuid4().hex[:8]}"
    job_id = await start_build(user.client, tmp_path, slow_project(marker))
    deadline = time.monotonic() + BUILD_TIMEOUT
    while not any(marker in line for line in await log_lines(user.client, job_id)):
        assert time.monotonic() < deadline, "the build never printed"
        await asyncio.sleep(0.2)
    child = f"{marker}-child"
    assert _processes_mentioning(child)
    # While it runs, the job says which step it is at and shows the last lines
    running = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert running["current_step"] == "build" and marker in running["logs"]
    assert len(running["logs"]) <= 50
    cancelled_at = time.monotonic()
    assert (await user.client.post(f"/api/jobs/{job_id}/cancel")).status_code in (200, 202)
    while _processes_mentioning(child) or _processes_mentioning("slow.js"):
        assert time.monotonic() - cancelled_at < 3.0, "build processes still running 3 s after the cancel"
        await asyncio.sleep(0.05)
    job = await wait_terminal(user.client, job_id, timeout=30)
    assert job["status"] == "cancelled"
    work = Path(service_env["ARTIFACTS_DIR"]) / "build-work" / job_id
    deadline = time.monotonic() + 10
    while work.exists():
        assert time.monotonic() < deadline, "the working folder was not removed"
        await asyncio.sleep(0.1)


def _processes_mentioning(needle: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in cmd and state not in (b"Z", b"X") and "pytest" not in cmd:
            pids.append(int(proc.name))
    return pids


async def test_a_build_sees_no_secrets_and_cannot_write_outside_its_folder(
    user: ApiUser, tmp_path: Path, service_env: dict[str, str]
) -> None:
    # The home folder: on the read-only root inside the sandbox (ARTIFACTS_DIR is hidden under an empty tmpfs).
    # Not this checkout: one under /tmp (a CI clone) is inside the sandbox's private /tmp, where a write succeeds
    # unseen outside.
    outside = Path.home() / f"escape-{uuid.uuid4().hex}"
    script = (
        f"env | sort; (touch {outside} && echo WROTE-OUTSIDE) || echo write-refused; "
        f"echo artifacts: $(ls {service_env['ARTIFACTS_DIR']}); "
        "mkdir -p dist && echo '<p>ok</p>' > dist/index.html"
    )
    files = {"package.json": json.dumps({"name": "env", "version": "1.0.0", "scripts": {"build": script}}).encode()}
    job = await build(user, tmp_path, files)
    assert job["status"] == "succeeded", job
    lines = await log_lines(user.client, job["id"])
    assert any(line.startswith("NODE_OPTIONS=--max-old-space-size=384") for line in lines), lines
    for secret in ("DATABASE_URL", "REDIS_URL", "STRIPE_", "SECRET_KEY"):
        assert not any(secret in line for line in lines), secret
    assert "write-refused" in lines and "WROTE-OUTSIDE" not in lines and not outside.exists()
    # The service's files are not even visible: only the way to the build's own folder
    listing = [line for line in lines if line.startswith("artifacts:")]
    assert listing == ["artifacts: build-work"], lines


async def test_a_low_build_waiting_past_two_minutes_is_promoted(
    make_user: MakeUser, db_engine: Engine, service_env: dict[str, str]
) -> None:
    # Given a low build queued 3 minutes ago and not yet taken (a row without a message: no worker runs it),
    # and a low build queued just now
    user = await make_user()
    old, new = uuid.uuid4(), uuid.uuid4()
    with db_engine.begin() as conn:
        for job_id, age in ((old, timedelta(minutes=3)), (new, timedelta(seconds=5))):
            conn.execute(
                insert(Job).values(
                    id=job_id,
                    owner_id=user.id,
                    kind="build",
                    params={},
                    status="queued",
                    priority="low",
                    queue="build.low",
                    created_at=func.now() - age,
                    queued_at=func.now() - age,
                )
            )
    job_id = str(old)
    load_kind_modules(())  # as the scheduler does at start
    broker = build_broker(service_env["REDIS_URL"])
    try:
        # When the scheduler's promotion pass runs
        promoted = PromotionPass(make_sessionmaker(db_engine), broker).run()
    finally:
        broker.client.close()
    # Then it is normal now, on the normal queue, and the audit trail says why
    assert [str(j) for j in promoted] == [job_id]
    job = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert job["priority"] == "normal"
    assert (await user.client.get(f"/api/jobs/{new}")).json()["priority"] == "low"
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    entries = history["items"] if isinstance(history, dict) else history
    assert any(e["type"] == "promoted" and e["detail"]["from"] == "low" for e in entries), entries
