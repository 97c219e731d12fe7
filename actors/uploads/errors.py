"""Errors of uploads.

UploadError
 └── ArchiveRefused   an archive breaks one of the extractor's rules; names the entry and the rule
"""

from __future__ import annotations

import enum


class Rule(enum.StrEnum):
    """The rule an archive broke (the ``rule`` of a 400 answer)."""

    UNSUPPORTED_FORMAT = "unsupported_format"
    CORRUPT = "corrupt_archive"
    ENCRYPTED = "encrypted_entry"
    ABSOLUTE_PATH = "absolute_path"
    PARENT_REFERENCE = "parent_reference"
    INVALID_NAME = "invalid_name"
    DUPLICATE = "duplicate_entry"
    LINK = "link"
    SPECIAL_FILE = "special_file"
    TOO_MANY_ENTRIES = "too_many_entries"
    TOO_LARGE = "too_large"
    OVERLAPPING = "overlapping_entries"


class UploadError(Exception):
    """Base of upload errors."""


class ArchiveRefused(UploadError):
    """The archive was refused; nothing of it was left on disk.

    Attributes:
        entry: the entry's name as stored in the archive (or ``""`` for the archive as a whole).
        rule: which rule it broke.
    """

    def __init__(self, entry: str, rule: Rule, message: str) -> None:
        super().__init__(f"{entry!r}: {message}" if entry else message)
        self.entry = entry
        self.rule = rule
        self.reason = message
