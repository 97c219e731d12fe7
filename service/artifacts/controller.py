"""``GET /api/jobs/{id}/artifacts/{name}``: a job's files, to its owner, as attachments.

Only the fixed names below can be asked for, and the path is built from the job's UUID, so nothing
outside that job's folder under ``ARTIFACTS_DIR`` can ever be served.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get
from litestar.response import File

from service.auth.principal import Principal
from service.errors import NotFound
from service.jobs.service import get_job_row
from service.resources import get_resources

# name -> (download name pattern, media type)
DOWNLOADS: dict[str, tuple[str, str]] = {
    "llms.txt": ("llms-{host}.txt", "text/plain; charset=utf-8"),
    "llms-full.txt": ("llms-full-{host}.txt", "text/plain; charset=utf-8"),
    "bundle.zip": ("llms-{host}.zip", "application/zip"),
    # The whole output of the programs the job ran (JobContext.run_process).
    "process.log": ("process-{host}.log", "text/plain; charset=utf-8"),
}
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def artifact_path(artifacts_dir: str, job_id: uuid.UUID, name: str) -> Path | None:
    """The file's path, or None if ``name`` is not a known artifact."""
    if name not in DOWNLOADS:
        return None
    base = Path(artifacts_dir).resolve()
    path = (base / str(job_id) / name).resolve()
    return path if path.is_relative_to(base) else None


class ArtifactsController(Controller):
    tags = ("jobs",)

    @get("/api/jobs/{job_id:uuid}/artifacts/{name:str}", operation_id="downloadArtifact")
    async def download(self, request: Request[Principal, Any, Any], job_id: uuid.UUID, name: str) -> File:
        """Download ``llms.txt``, ``llms-full.txt`` or ``bundle.zip`` of a finished job."""
        res = get_resources(request.app)
        async with res.sessions() as session:
            job = await get_job_row(session, request.user, job_id)
        path = artifact_path(res.settings.artifacts_dir, job_id, name)
        if path is None:
            raise NotFound(f"No artifact {name!r}. Known artifacts: {', '.join(DOWNLOADS)}.", code="artifact_not_found")
        if not path.is_file():
            raise NotFound(
                f"Job {job_id} has no {name} (it is {job.status}, or its files expired).", code="artifact_not_found"
            )
        host = (job.result or {}).get("hostname") or job.title or "site"
        pattern, media_type = DOWNLOADS[name]
        filename = pattern.format(host=_UNSAFE.sub("-", str(host)).strip("-") or "site")
        return File(path=path, filename=filename, media_type=media_type, content_disposition_type="attachment")
