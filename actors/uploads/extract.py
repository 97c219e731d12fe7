"""The one archive extractor: zip and tar.gz, refusing anything that could write outside the target,
link to anything, or blow up in size.

Rules, each refused with ``ArchiveRefused(entry, rule, message)``:
* names: no absolute paths or drive letters, no ``..``, no NUL, not over-long (see ``names``);
* entries: regular files and directories only: no symbolic or hard links, no devices, fifos or sockets;
  no encrypted zip entries; no two entries on the same path (after normalisation);
* size: at most ``max_entries`` entries, at most ``max_total_bytes`` unpacked - counted on the bytes really
  decompressed while extracting, not on the sizes the archive declares;
* zip: no entry whose data overlaps another's or the central directory (the overlapping-entry zip bomb;
  CPython only refuses these from 3.12.x/3.11.10 on, this project runs 3.11.7, so it is checked here).

``extract_archive`` unpacks into a hidden directory beside the target and renames it into place at the end:
after a refusal nothing is left. ``check_archive`` applies the same rules, decompressing every entry but
writing nothing (the API uses it to answer 400 before a job exists).
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import struct
import tarfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import msgspec

from actors.uploads.errors import ArchiveRefused, Rule
from actors.uploads.names import normalize_name

_CHUNK = 256 * 1024
_ZIP_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
_ZIP_LOCAL_SIGNATURE = b"PK\x03\x04"
_CORRUPT_ERRORS = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, gzip.BadGzipFile, NotImplementedError)


class ExtractLimits(msgspec.Struct, frozen=True):
    max_entries: int = 10_000
    max_total_bytes: int = 500 * 1024 * 1024


class _Entry(msgspec.Struct):
    raw_name: str
    is_dir: bool
    executable: bool
    open: Callable[[], IO[bytes]] | None


def check_archive(archive: Path, limits: ExtractLimits | None = None) -> list[str]:
    """Apply every rule to ``archive`` without writing anything; returns its files' normalised paths.

    Raises:
        ArchiveRefused: the archive breaks a rule (the error names the entry and the rule).
    """
    return _unpack(archive, None, limits or ExtractLimits())


def extract_archive(archive: Path, dest: Path, limits: ExtractLimits | None = None) -> list[str]:
    """Unpack ``archive`` into ``dest`` (which must not exist yet); returns the files' relative paths, sorted.

    Raises:
        ArchiveRefused: the archive breaks a rule; ``dest`` was not created and nothing is left behind.
        FileExistsError: ``dest`` already exists.
    """
    if dest.exists():
        raise FileExistsError(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex}"
    partial.mkdir()
    try:
        files = _unpack(archive, partial, limits or ExtractLimits())
        partial.rename(dest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return files


def _entries(archive: Path, limits: ExtractLimits) -> Iterator[_Entry]:
    with archive.open("rb") as f:
        magic = f.read(4)
    if magic in (_ZIP_LOCAL_SIGNATURE, b"PK\x05\x06"):
        yield from _zip_entries(archive)
    elif magic[:2] == b"\x1f\x8b":
        yield from _tar_entries(archive, limits)
    else:
        raise ArchiveRefused("", Rule.UNSUPPORTED_FORMAT, "the file is neither a zip nor a tar.gz archive")


def _unpack(archive: Path, root: Path | None, limits: ExtractLimits) -> list[str]:
    seen: dict[str, bool] = {}  # path -> is a directory
    total = 0
    count = 0
    try:
        for entry in _entries(archive, limits):
            count += 1
            if count > limits.max_entries:
                raise ArchiveRefused(
                    entry.raw_name, Rule.TOO_MANY_ENTRIES, f"the archive has more than {limits.max_entries} entries"
                )
            path = normalize_name(entry.raw_name)
            if not path:
                continue  # "./": the root itself
            _claim_path(seen, path, entry)
            if entry.is_dir:
                if root is not None:
                    (root / path).mkdir(parents=True, exist_ok=True)
                continue
            total = _copy(entry, path, root, total, limits)
    except _CORRUPT_ERRORS as exc:
        raise ArchiveRefused("", Rule.CORRUPT, f"the archive is damaged or unreadable ({exc})") from None
    return sorted(p for p, is_dir in seen.items() if not is_dir)


def _claim_path(seen: dict[str, bool], path: str, entry: _Entry) -> None:
    previous = seen.get(path)
    if previous is not None and not (previous and entry.is_dir):
        raise ArchiveRefused(entry.raw_name, Rule.DUPLICATE, f"another entry already has the path {path!r}")
    parts = path.split("/")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if seen.get(parent) is False:
            raise ArchiveRefused(entry.raw_name, Rule.DUPLICATE, f"{parent!r} is a file in this archive")
        seen.setdefault(parent, True)
    seen[path] = entry.is_dir


def _copy(entry: _Entry, path: str, root: Path | None, total: int, limits: ExtractLimits) -> int:
    """Decompress one file (into ``root`` if given), counting every byte against the archive's limit."""
    assert entry.open is not None
    out: IO[bytes] | None = None
    if root is not None:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        out = os.fdopen(os.open(target, flags, 0o755 if entry.executable else 0o644), "wb")
    try:
        with entry.open() as src:
            while chunk := src.read(_CHUNK):
                total += len(chunk)
                if total > limits.max_total_bytes:
                    raise ArchiveRefused(
                        entry.raw_name,
                        Rule.TOO_LARGE,
                        f"the archive unpacks to more than {limits.max_total_bytes} bytes",
                    )
                if out is not None:
                    out.write(chunk)
    finally:
        if out is not None:
            out.close()
    return total


# -- zip -----------------------------------------------------------------------------------------------


def _zip_entries(archive: Path) -> Iterator[_Entry]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _check_zip_overlaps(archive, infos, zf.start_dir)
        for info in infos:
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if kind == stat.S_IFLNK:
                raise ArchiveRefused(info.filename, Rule.LINK, "links are not allowed in an archive")
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveRefused(info.filename, Rule.SPECIAL_FILE, "only regular files and directories are allowed")
            if info.flag_bits & 0x1:
                raise ArchiveRefused(info.filename, Rule.ENCRYPTED, "encrypted entries are not supported")
            is_dir = info.is_dir() or kind == stat.S_IFDIR
            opener = None if is_dir else (lambda info=info: zf.open(info))
            yield _Entry(info.filename, is_dir, bool(mode & 0o111) and not is_dir, opener)


def _check_zip_overlaps(archive: Path, infos: list[zipfile.ZipInfo], central_dir: int) -> None:
    """Refuse entries whose local header and data overlap another entry's or the central directory.

    An overlapping-entry zip bomb points many central-directory entries at one compressed stream, so a
    small file unpacks to the same huge data again and again.
    """
    with archive.open("rb") as f:
        previous_end, previous_name = 0, ""
        for info in sorted(infos, key=lambda i: i.header_offset):
            f.seek(info.header_offset)
            header = f.read(_ZIP_LOCAL_HEADER.size)
            if len(header) < _ZIP_LOCAL_HEADER.size or header[:4] != _ZIP_LOCAL_SIGNATURE:
                raise ArchiveRefused(info.filename, Rule.CORRUPT, "the entry's local header is missing or damaged")
            fields = _ZIP_LOCAL_HEADER.unpack(header)
            name_len, extra_len = fields[-2], fields[-1]
            end = info.header_offset + _ZIP_LOCAL_HEADER.size + name_len + extra_len + info.compress_size
            if info.header_offset < previous_end:
                raise ArchiveRefused(
                    info.filename, Rule.OVERLAPPING, f"the entry's data overlaps that of {previous_name!r}"
                )
            if end > central_dir:
                raise ArchiveRefused(info.filename, Rule.OVERLAPPING, "the entry's data overlaps the central directory")
            previous_end, previous_name = end, info.filename


# -- tar.gz --------------------------------------------------------------------------------------------


class _BoundedReader:
    """The decompressed tar stream, cut off past what the limits allow in all (data, one header per entry and
    some slack): tarfile reads metadata such as pax headers whole into memory, whatever size they declare."""

    def __init__(self, raw: gzip.GzipFile, limit: int) -> None:
        self.raw = raw
        self.left = limit

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.left -= len(data)
        if self.left < 0:
            raise ArchiveRefused("", Rule.TOO_LARGE, "the archive unpacks to more than its limits allow")
        return data


def _tar_entries(archive: Path, limits: ExtractLimits) -> Iterator[_Entry]:
    # Stream mode ("r|"): one pass over the decompressed data, no seeking back through the gzip stream.
    overhead = 1024 * (limits.max_entries + 2) + 1024 * 1024
    with (
        gzip.open(archive, "rb") as raw,
        tarfile.open(  # type: ignore[call-overload]  # any object with read() does
            fileobj=_BoundedReader(raw, limits.max_total_bytes + overhead),
            mode="r|",
        ) as tf,
    ):
        for member in tf:
            if member.issym() or member.islnk():
                raise ArchiveRefused(member.name, Rule.LINK, "links are not allowed in an archive")
            if not (member.isreg() or member.isdir()):
                raise ArchiveRefused(member.name, Rule.SPECIAL_FILE, "only regular files and directories are allowed")
            opener = None if member.isdir() else (lambda member=member: _tar_open(tf, member))
            yield _Entry(member.name, member.isdir(), bool(member.mode & 0o111) and member.isreg(), opener)


def _tar_open(tf: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    stream = tf.extractfile(member)
    if stream is None:
        raise ArchiveRefused(member.name, Rule.SPECIAL_FILE, "only regular files and directories are allowed")
    return stream
