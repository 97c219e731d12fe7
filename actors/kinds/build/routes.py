"""The build kind's API side: ``GET /api/sites/{site}/builds`` (a site's build history with an estimate of
the next build's duration) and the previews, ``GET /previews/{job_id}/...``.

Previews are the published files served as they are: never a dev server, no directory listings, no links
followed, unknown paths fall back to ``index.html`` (single-page apps). They are public to whoever has the
link (the job id is unguessable) and run under a strict Content-Security-Policy with ``sandbox``: the
page gets an opaque origin, so its scripts can neither read this service's cookies nor call its API as the
user. ``PREVIEW_BASE_URL`` serves them from a separate origin instead (point it at this service's
``/previews`` on another host name): then only requests to that host get them, so the browser never sends this
service's session cookie (path ``/``) with a preview, and only ``PUBLIC_URL``'s pages may frame them.

Imported only by the API process (``JobKind.routes``).
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Controller, Request, get
from litestar.response import File
from sqlalchemy import select

from actors.kinds.build.cache import site_dir
from actors.kinds.build.history import duration, expected_seconds
from actors.kinds.build.params import SITE_PATTERN
from actors.kinds.build.settings import BuildSettings
from db.models import Job
from service.auth.principal import Principal
from service.errors import NotFound
from service.resources import get_resources

KIND = "build"
HISTORY_LIMIT = 50
_CSP = (
    "sandbox allow-scripts allow-forms allow-popups allow-modals; default-src 'self' data: blob:; "
    "script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors {ancestors}; base-uri 'self'; form-action 'self'"
)
PREVIEW_HEADERS = {
    "Content-Security-Policy": _CSP.format(ancestors="'self'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The sandboxed page has an opaque origin: its module scripts are cross-origin requests (never credentialed).
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "no-cache",
}


class SiteBuild(msgspec.Struct):
    id: uuid.UUID
    status: str
    created_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None
    preview_url: str | None
    cached: bool
    error: str | None


class SiteBuilds(msgspec.Struct):
    site: str
    builds: list[SiteBuild]
    # The median duration of this site's (or, with none yet, all your) built, not cached, successful builds.
    estimated_seconds: float | None


class SiteBuildsController(Controller):
    tags = ("builds",)

    @get("/api/sites/{site:str}/builds", operation_id="listSiteBuilds")
    async def site_builds(self, request: Request[Principal, Any, Any], site: str) -> SiteBuilds:
        """The builds of one site (``params.site``), newest first (at most 50), and the expected duration."""
        if not re.fullmatch(SITE_PATTERN, site):
            raise NotFound(f"no builds of site {site!r}")
        res = get_resources(request.app)
        owner = request.user.id
        async with res.sessions() as session:
            jobs = (
                await session.scalars(
                    select(Job)
                    .where(
                        Job.owner_id == owner,
                        Job.kind == KIND,
                        Job.deleted_at.is_(None),
                        Job.params["site"].astext == site,
                    )
                    .order_by(Job.created_at.desc())
                    .limit(HISTORY_LIMIT)
                )
            ).all()
            expected = await expected_seconds(session, owner, site)
        if not jobs:
            raise NotFound(f"no builds of site {site!r}")
        items = [
            SiteBuild(
                id=j.id,
                status=j.status,
                created_at=j.created_at,
                finished_at=j.finished_at,
                duration_seconds=duration(j),
                preview_url=(j.result or {}).get("preview_url"),
                cached=bool((j.result or {}).get("cached")),
                error=j.error,
            )
            for j in jobs
        ]
        return SiteBuilds(site, items, expected)


class PreviewController(Controller):
    tags = ("builds",)

    @get(
        ["/previews/{job_id:uuid}", "/previews/{job_id:uuid}/{file_path:path}"],
        operation_id="preview",
        exclude_from_auth=True,
        include_in_schema=False,
    )
    async def preview(self, request: Request[Any, Any, Any], job_id: uuid.UUID, file_path: str = "/") -> File:
        """A file of a build's published site; ``index.html`` for folders and for unknown paths."""
        settings: BuildSettings = get_resources(request.app).kind_settings[KIND]
        preview_host = urlsplit(settings.preview_base_url).netloc.lower()
        if preview_host and request.headers.get("host", "").lower() != preview_host:
            # With a preview origin of their own, previews are never served on this service's origin, where
            # the browser would send the session cookie along.
            raise NotFound(f"previews are served at {settings.preview_base_url}/, not here")
        root = site_dir(settings.artifacts_dir, job_id)
        path = resolve_preview_file(root, file_path)
        if path is None:
            raise NotFound("no such preview")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        # Litestar adds the charset of text/* itself.
        if media_type in {"application/javascript", "image/svg+xml"}:
            media_type += "; charset=utf-8"
        return File(
            path,
            filename=path.name,
            media_type=media_type,
            content_disposition_type="inline",
            headers=_headers(settings),
        )


def _headers(settings: BuildSettings) -> dict[str, str]:
    """The preview's headers; from an origin of its own, it may still be framed by this service's pages."""
    if not settings.preview_base_url:
        return PREVIEW_HEADERS
    app = urlsplit(settings.public_url)
    return {**PREVIEW_HEADERS, "Content-Security-Policy": _CSP.format(ancestors=f"{app.scheme}://{app.netloc}")}


def resolve_preview_file(root: Path, requested: str) -> Path | None:
    """The file to serve for ``requested`` under ``root``, or None: nothing outside ``root``, no links followed.

    A folder serves its ``index.html``; an unknown page address (no file extension) serves the root's
    ``index.html`` (single-page apps route in the browser); a missing asset is a 404.
    """
    if not root.is_dir():
        return None
    real_root = root.resolve()
    parts = [p for p in requested.split("/") if p not in ("", ".")]
    if any(p == ".." or "\0" in p for p in parts):
        return None
    options = [parts, [*parts, "index.html"]]
    if not (parts and "." in parts[-1]):
        options.append(["index.html"])
    for relative in options:
        path = real_root.joinpath(*relative)
        try:
            # resolve() equal to the path: no link anywhere below the root.
            if path.is_file() and path.resolve() == path:
                return path
        except OSError:
            continue
    return None


def routes() -> list[type[Controller]]:
    return [SiteBuildsController, PreviewController]
