"""``GET /api/jobs/{id}/artifacts/{name}``: a job's files, to its owner, as attachments.

Only the names the job's kind declares (``JobKind.artifacts``) can be asked for, and the path is built from
the job's UUID, so nothing outside that job's folder under ``ARTIFACTS_DIR`` can ever be served.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get
from litestar.response import File

from actors.process.job import PROCESS_LOG
from actors.registry import get_kind
from service.auth.principal import Principal
from service.errors import NotFound
from service.jobs.service import get_job_row
from service.resources import get_resources

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def artifact_path(artifacts_dir: str, job_id: uuid.UUID, name: str) -> Path | None:
    """The file's path under the job's folder (None if it would leave it)."""
    base = Path(artifacts_dir).resolve()
    path = (base / str(job_id) / name).resolve()
    return path if path.is_relative_to(base) else None


class ArtifactsController(Controller):
    tags = ("jobs",)

    @get("/api/jobs/{job_id:uuid}/artifacts/{name:str}", operation_id="downloadArtifact")
    async def download(self, request: Request[Principal, Any, Any], job_id: uuid.UUID, name: str) -> File:
        """Download one of the files a finished job produced (the names its kind declares)."""
        res = get_resources(request.app)
        async with res.sessions() as session:
            job = await get_job_row(session, request.user, job_id)
        kind = get_kind(job.kind)
        artifact = kind.artifact(name) if kind is not None else None
        if artifact is None and name == PROCESS_LOG.name:
            artifact = PROCESS_LOG  # any job that ran a program (JobContext.run_process) has its output
        path = artifact_path(res.settings.artifacts_dir, job_id, name) if artifact is not None else None
        if artifact is None or path is None:
            known = ", ".join(a.name for a in kind.artifacts) if kind is not None else ""
            raise NotFound(f"No artifact {name!r}. Known artifacts: {known or 'none'}.", code="artifact_not_found")
        if not path.is_file():
            raise NotFound(
                f"Job {job_id} has no {name} (it is {job.status}, or its files expired).", code="artifact_not_found"
            )
        title = _UNSAFE.sub("-", str(job.title or job.kind)).strip("-") or "job"
        filename = artifact.download_name.format(title=title)
        return File(path=path, filename=filename, media_type=artifact.media_type, content_disposition_type="attachment")
