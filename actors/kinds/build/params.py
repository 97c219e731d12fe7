"""What a build takes besides its archive: the site it belongs to and, optionally, its output folder."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

import msgspec

from actors.uploads import UploadPolicy

MB = 1024 * 1024
SITE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"

# One archive part, ``file``; a project unpacks to at most 20,000 files and 200 MB (node_modules is not sent).
UPLOADS = UploadPolicy(files=("file",), required=("file",), max_entries=20_000, max_unpacked_bytes=200 * MB)


class BuildParams(msgspec.Struct, forbid_unknown_fields=True):
    """Params of a ``build`` job.

    Attributes:
        site: groups the builds of one site (``GET /api/sites/{site}/builds``); letters, digits, ``.``, ``_``, ``-``.
        output_dir: the folder the build writes (relative to the project); default: ``dist/``, else ``build/``.
    """

    site: Annotated[str, msgspec.Meta(pattern=SITE_PATTERN)] | None = None
    output_dir: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


def check_output_dir(value: str | None) -> None:
    """A relative folder inside the project.

    Raises:
        ValueError: absolute, with ``..`` or with characters other than letters, digits, ``._-/``.
    """
    if value is None:
        return
    path = PurePosixPath(value)
    allowed = all(ch.isalnum() or ch in "._-/" for ch in value)
    if path.is_absolute() or ".." in path.parts or not allowed or str(path) in {"", "."}:
        raise ValueError(f"output_dir must be a folder inside the project such as 'dist', got {value!r}")
