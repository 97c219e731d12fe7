"""Previews on an origin of their own (``PREVIEW_BASE_URL``): served only there, never on the service's origin
where the browser would send the session cookie along; the service's pages may still frame them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from tests.conftest import ApiUser
from tests.integration.test_build import build
from tests.support.build_projects import STATIC_SITE
from tests.support.services import ServiceProcess, free_port, wait_for_http

MakeUser = Callable[..., Awaitable[ApiUser]]


async def test_with_a_preview_origin_previews_are_served_only_there(
    make_user: MakeUser, worker: ServiceProcess, start_service: Callable[..., ServiceProcess], tmp_path: Path
) -> None:
    # Given a built site, and an API whose previews have an origin of their own (another host name for it)
    user = await make_user()
    job = await build(user, tmp_path, STATIC_SITE)
    assert job["status"] == "succeeded", job
    port = free_port()
    here, previews = f"127.0.0.1:{port}", f"localhost:{port}"
    env = {"PUBLIC_URL": f"http://{here}", "PREVIEW_BASE_URL": f"http://{previews}/previews"}
    api = start_service("api", "--port", str(port), env=env, name="api-preview-origin")
    wait_for_http(f"http://{here}/api/health", api)
    try:
        async with httpx.AsyncClient(base_url=f"http://{here}") as client:
            # When the preview is asked for on the service's own origin, then it is not served there
            mine = await client.get(f"/previews/{job['id']}/")
            assert mine.status_code == 404 and f"http://{previews}/previews" in mine.text
            # On the preview origin it is, sandboxed, and only the service's pages may frame it
            there = await client.get(f"/previews/{job['id']}/", headers={"Host": previews})
            assert there.status_code == 200 and "Static site" in there.text
            policy = there.headers["content-security-policy"]
            assert "sandbox" in policy and f"frame-ancestors http://{here};" in policy
    finally:
        api.stop()
