"""Building test archives: good ones, and every kind of hostile one (links, devices, ``..``, zip bombs)."""

from __future__ import annotations

import io
import stat
import struct
import tarfile
import zipfile
from pathlib import Path

_EOCD = b"PK\x05\x06"


def make_zip(path: Path, files: dict[str, bytes], *, modes: dict[str, int] | None = None) -> Path:
    """A zip of ``files`` (name -> content; a name ending in ``/`` is a directory); ``modes`` sets st_mode."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = (modes or {}).get(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, content)
    return path


def make_tar_gz(path: Path, members: list[tarfile.TarInfo], contents: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            data = (contents or {}).get(member.name)
            if data is not None:
                member.size = len(data)
                tf.addfile(member, io.BytesIO(data))
            else:
                tf.addfile(member)
    return path


def tar_file(name: str, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info


def tar_special(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


def symlink_zip(path: Path) -> Path:
    return make_zip(path, {"ok.txt": b"x", "link": b"/etc/passwd"}, modes={"link": stat.S_IFLNK | 0o777})


def overlapping_zip_bomb(path: Path, copies: int = 20, size: int = 2_000_000) -> Path:
    """One compressed entry listed ``copies`` times in the central directory, every copy pointing at the same
    data: the overlapping-entry zip bomb (unpacks to ``copies * size`` bytes from one stream)."""
    single = io.BytesIO()
    with zipfile.ZipFile(single, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a", b"\0" * size)
    data = single.getvalue()
    eocd = data.rfind(_EOCD)
    cd_size, cd_offset = struct.unpack("<LL", data[eocd + 12 : eocd + 20])
    record = data[cd_offset : cd_offset + cd_size]
    central = record * copies
    tail = bytearray(data[eocd:])
    struct.pack_into("<HHLL", tail, 8, copies, copies, len(central), cd_offset)
    path.write_bytes(data[:cd_offset] + central + bytes(tail))
    return path


def with_flag(path: Path, flag: int) -> Path:
    """Set a general-purpose flag bit (e.g. 0x1, encrypted) on every central-directory record of a zip."""
    data = bytearray(path.read_bytes())
    eocd = data.rfind(_EOCD)
    count, _cd_size, cd_offset = struct.unpack("<HLL", data[eocd + 10 : eocd + 20])
    pos = cd_offset
    for _ in range(count):
        (flags,) = struct.unpack("<H", data[pos + 8 : pos + 10])
        struct.pack_into("<H", data, pos + 8, flags | flag)
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        pos += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path
