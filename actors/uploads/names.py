"""Normalising an archive entry's name, or refusing it.

Backslashes become slashes (archives made on Windows), the name is Unicode NFC (so ``é`` typed two ways
is one file), ``.`` and empty components go; absolute names, drive letters, ``..`` anywhere, NUL bytes
and over-long names are refused.
"""

from __future__ import annotations

import re
import unicodedata

from actors.uploads.errors import ArchiveRefused, Rule

MAX_NAME_CHARS = 1024
MAX_COMPONENT_BYTES = 255
_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize_name(raw: str) -> str:
    """The entry's relative POSIX path; ``""`` for the archive's root itself (``./``).

    Raises:
        ArchiveRefused: the name is absolute, climbs out with ``..`` or is not a usable file name.
    """
    if "\x00" in raw:
        raise ArchiveRefused(raw, Rule.INVALID_NAME, "the name contains a NUL byte")
    name = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveRefused(raw, Rule.ABSOLUTE_PATH, "absolute paths are not allowed in an archive")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused(raw, Rule.PARENT_REFERENCE, "'..' is not allowed in an entry's path")
    if len(name) > MAX_NAME_CHARS or any(len(p.encode()) > MAX_COMPONENT_BYTES for p in parts):
        raise ArchiveRefused(raw, Rule.INVALID_NAME, f"the name is longer than {MAX_NAME_CHARS} characters allow")
    return "/".join(parts)
