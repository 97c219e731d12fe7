"""Files users upload with a job: the policy a kind declares, where uploads are kept, and the one archive
extractor both the API (to refuse a bad archive with a 400 before any job exists) and workers (to unpack
it) use. Nothing here imports a web framework or a database driver."""

from __future__ import annotations

from actors.uploads.errors import ArchiveRefused, UploadError
from actors.uploads.extract import ExtractLimits, check_archive, extract_archive
from actors.uploads.policy import UploadPolicy, upload_dir

__all__ = [
    "ArchiveRefused",
    "ExtractLimits",
    "UploadError",
    "UploadPolicy",
    "check_archive",
    "extract_archive",
    "upload_dir",
]
