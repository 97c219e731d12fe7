"""What a job kind declares about the files it takes (``JobKind.uploads``), and where uploads live."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec

MB = 1024 * 1024


class UploadPolicy(msgspec.Struct, frozen=True):
    """A kind that takes files with ``POST /api/jobs`` as ``multipart/form-data``.

    Attributes:
        files: the names of the file parts it accepts (each saved as ``uploads/<job id>/<name>``).
        required: those that must be sent.
        archives: the parts that are zip or tar.gz archives; the API refuses a bad one (400) before the job
            exists.
        max_entries: most entries an archive may have.
        max_unpacked_bytes: most bytes an archive may unpack to, all entries together.
    """

    files: tuple[str, ...] = ("file",)
    required: tuple[str, ...] = ("file",)
    archives: tuple[str, ...] = ("file",)
    max_entries: int = 10_000
    max_unpacked_bytes: int = 500 * MB


def upload_dir(artifacts_dir: str | Path, job_id: uuid.UUID | str) -> Path:
    """Where a job's uploaded files are kept: ``ARTIFACTS_DIR/uploads/<job id>/``."""
    return Path(artifacts_dir) / "uploads" / str(uuid.UUID(str(job_id)))
