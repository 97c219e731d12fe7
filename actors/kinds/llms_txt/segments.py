"""A streamed ZIP entry compressed in segments, so that another entry can reuse a segment without compressing
its bytes again.

llms-full.txt over the split size is also in the bundle as one file per section: the section's own head, its
byte range of llms-full.txt, and a newline. Each segment of llms-full.txt (its head, each section's range, the
final newline) is deflated by a compressor of its own and ended with a sync flush: the deflate blocks of a
segment refer to nothing before it, start on a byte boundary and are not final, so a segment's compressed
bytes decode the same after any such run of blocks. A section's file is then its head deflated, the section's
segment as it is, and the final newline deflated with the end of the stream; its CRC-32 is combined from the
parts' (``crc32_combine``). On the benchmark's manual (15.6 MB of llms-full.txt in 12 sections) this saves
compressing the sections a second time: about 24 ms of the job's last, serial step.

zipfile has no public way to write compressed bytes as they are: ``PrecompressedEntry`` writes through an entry
opened for writing whose compressor passes its input through, and sets the entry's CRC and size before it is
closed (``_ZipWriteFile``'s own fields, as read by its ``close``).
"""

from __future__ import annotations

import zipfile
from typing import IO

from isal import isal_zlib

# ISA-L's levels go from 0 to 3; 2 was the fastest on Markdown, and smaller than 0 and 1.
COMPRESS_LEVEL = 2


def _compressor() -> isal_zlib.Compress:
    # Raw deflate (negative window bits), as zipfile's own compressor writes it.
    return isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, -15)


class Segment:
    """One segment of a streamed entry: its offset and length in the entry's data, CRC-32 and deflated bytes."""

    def __init__(self, start: int, length: int, crc: int, deflated: bytes) -> None:
        self.start = start
        self.length = length
        self.crc = crc
        self.deflated = deflated


class _PassThrough:
    """Stands in for an entry's compressor: its input is already deflated."""

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class PrecompressedEntry:
    """A ZIP entry written from deflated bytes: ``write`` them, then ``close(crc, size)`` with the CRC-32 and
    size of the data they inflate to."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        info.compress_type = zipfile.ZIP_DEFLATED
        self._entry: IO[bytes] = archive.open(info, "w")
        setattr(self._entry, "_compressor", _PassThrough())  # noqa: B010

    def write(self, deflated: bytes) -> None:
        self._entry.write(deflated)

    def close(self, crc: int, size: int) -> None:
        setattr(self._entry, "_crc", crc)  # noqa: B010
        setattr(self._entry, "_file_size", size)  # noqa: B010
        self._entry.close()

    def abandon(self) -> None:
        """End the entry as it is (the ZIP is being thrown away)."""
        self._entry.close()


class SegmentedEntry:
    """A ZIP entry whose data comes in pieces (``write``), deflated a segment at a time (``end_segment``);
    ``close`` ends the last segment and the entry. Each ended segment is kept (``segments``)."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self._entry = PrecompressedEntry(archive, info)
        self._compressor = _compressor()
        self._deflated: list[bytes] = []
        self._start = self._length = 0
        self._segment_crc = self._crc = 0
        self.segments: list[Segment] = []

    def write(self, data: bytes) -> None:
        self._length += len(data)
        self._segment_crc = isal_zlib.crc32(data, self._segment_crc)
        self._put(self._compressor.compress(data))

    def end_segment(self) -> None:
        self._put(self._compressor.flush(isal_zlib.Z_SYNC_FLUSH))
        self.segments.append(Segment(self._start, self._length, self._segment_crc, b"".join(self._deflated)))
        self._crc = isal_zlib.crc32_combine(self._crc, self._segment_crc, self._length)
        self._compressor = _compressor()
        self._deflated = []
        self._start, self._length, self._segment_crc = self._start + self._length, 0, 0

    def close(self) -> None:
        self._put(self._compressor.flush())
        crc = isal_zlib.crc32_combine(self._crc, self._segment_crc, self._length)
        self._entry.close(crc, self._start + self._length)

    def abandon(self) -> None:
        self._entry.abandon()

    def _put(self, deflated: bytes) -> None:
        if deflated:
            self._deflated.append(deflated)
            self._entry.write(deflated)


def write_with_segment(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, head: bytes, segment: Segment, tail: bytes
) -> None:
    """The entry ``head`` + the segment's data + ``tail``, deflating only ``head`` and ``tail``."""
    entry = PrecompressedEntry(archive, info)
    first = _compressor()
    entry.write(first.compress(head) + first.flush(isal_zlib.Z_SYNC_FLUSH))
    entry.write(segment.deflated)
    last = _compressor()
    entry.write(last.compress(tail) + last.flush())
    crc = isal_zlib.crc32_combine(isal_zlib.crc32(head), segment.crc, segment.length)
    entry.close(isal_zlib.crc32_combine(crc, isal_zlib.crc32(tail), len(tail)), len(head) + segment.length + len(tail))
