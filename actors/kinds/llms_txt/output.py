"""Writing a generation's files: llms.txt, llms-full.txt, and a ZIP bundle with one Markdown file per page.

The bundle is written while the crawl runs: page files are compressed into it as pages arrive (in batches), in
one background thread (zlib releases the GIL, so this uses the core the event loop leaves idle); llms-full.txt
is compressed into it while it is being written (``Bundle.stream``), a segment at a time (its head, each
section), and only llms.txt and the per-section files are added at the end, each section's file made of its
section's compressed segment (``segments``; from its byte range of llms-full.txt when there is none).
Files are written to a temporary name and renamed, so a download never sees half a file.

Entries are compressed with ISA-L's deflate (python-isal) rather than zlib: on the benchmark's Markdown its
level 2 is about 4 times faster than zlib's fastest level and its output a few percent smaller, and the
bundle compresses about three times the site's Markdown (the page files, llms-full.txt and its section
files). zipfile has no public hook for another compressor, so ``_open_entry`` hands the entry writer an
ISA-L compressor in place of the zlib one it made; the ZIP is an ordinary deflate ZIP either way.
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import msgspec
from isal import isal_zlib

from actors.kinds.llms_txt.full_text import FullText, SectionPart
from actors.kinds.llms_txt.full_text import discard as discard_full_text
from actors.kinds.llms_txt.segments import COMPRESS_LEVEL, Segment, SegmentedEntry, write_with_segment

LLMS_TXT = "llms.txt"
LLMS_FULL_TXT = "llms-full.txt"
BUNDLE_ZIP = "bundle.zip"
ARTIFACT_NAMES: tuple[str, ...] = (LLMS_TXT, LLMS_FULL_TXT, BUNDLE_ZIP)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Artifact(msgspec.Struct):
    name: str
    bytes: int


def page_filename(url: str, taken: set[str]) -> str:
    """A safe, unique ``.md`` name for a page, from its path."""
    parts = urlsplit(url)
    stem = _UNSAFE.sub("-", (parts.path.strip("/") or "index").replace("/", "__"))[:120].strip("-.") or "page"
    if parts.query:
        stem += "-" + _UNSAFE.sub("-", parts.query)[:40]
    name, n = f"{stem}.md", 2
    while name in taken:
        name, n = f"{stem}-{n}.md", n + 1
    taken.add(name)
    return name


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


_COPY_CHUNK = 1 << 20


def _open_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    """An entry of ``archive`` open for writing, compressed by ISA-L (deflate, as ``info`` says)."""
    info.compress_type = zipfile.ZIP_DEFLATED
    entry = archive.open(info, "w")
    if hasattr(entry, "_compressor"):
        # Raw deflate (negative window bits), as zipfile's own compressor writes it.
        setattr(entry, "_compressor", isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, -15))  # noqa: B010
    return entry


def _entry_info(name: str, size: int) -> zipfile.ZipInfo:
    """A new entry's header: now, owner read-write (as ``ZipFile.writestr``), its size for the ZIP64 choice."""
    info = zipfile.ZipInfo(name, time.localtime(time.time())[:6])
    info.external_attr = 0o600 << 16
    info.file_size = size
    return info


# Page files handed to the writer thread together: one wake-up (and GIL hand-over) per batch, not per page.
PAGES_PER_BATCH = 32
# A streamed file's bytes handed to the writer thread together.
STREAM_CHUNK = 1 << 20


class Bundle:
    """``bundle.zip``, filled page by page during the crawl; ``finish`` completes it, ``discard`` drops it.

    Methods are called from the crawl's thread; the ZIP itself is only touched by the writer thread.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tmp = folder / (BUNDLE_ZIP + ".tmp")
        self._zip: zipfile.ZipFile | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llms-bundle")
        self._taken: set[str] = set()
        self._last: Future[None] | None = None
        self._batch: list[tuple[str, str]] = []
        # The streamed file being written (writer thread only), and the names of those already complete.
        self._entry: SegmentedEntry | None = None
        self.streamed: set[str] = set()
        # Each complete streamed file's segments (writer thread only).
        self._segments: dict[str, list[Segment]] = {}
        self._streaming: list[Future[None]] = []

    def add_page(self, url: str, title: str, markdown: str) -> None:
        """Queue one page's file (``pages/<name>.md``: its title, source URL and Markdown)."""
        name = f"pages/{page_filename(url, self._taken)}"
        self._batch.append((name, f"# {title or url}\n\nSource: {url}\n\n{markdown}\n"))
        if len(self._batch) >= PAGES_PER_BATCH:
            self._flush()

    def stream(self, name: str) -> BundleStream:
        """Start the file ``name``, whose bytes come in pieces (``BundleStream.write``) and are compressed by
        the writer thread meanwhile; nothing else is added to the bundle until ``BundleStream.close``."""
        self._flush()
        self._streaming.append(self._writer.submit(self._open_entry, name))
        return BundleStream(self, name)

    def write_streamed(self, data: bytes) -> None:
        """Hand the next bytes of the streamed file to the writer thread."""
        self._streaming.append(self._writer.submit(self._write_entry, data))

    def end_segment(self) -> None:
        """End the streamed file's current segment (what has been handed over since the last one)."""
        self._streaming.append(self._writer.submit(self._end_segment))

    def end_streamed(self, name: str) -> None:
        """End the streamed file ``name``."""
        self._streaming.append(self._writer.submit(self._close_entry, name))
        self.streamed.add(name)

    def _open_entry(self, name: str) -> None:
        # A size over the ZIP64 limit: it is not known in advance, and may be over 2 GiB.
        self._entry = SegmentedEntry(self._open(), _entry_info(name, zipfile.ZIP64_LIMIT))

    def _write_entry(self, data: bytes) -> None:
        if self._entry is not None:
            self._entry.write(data)

    def _end_segment(self) -> None:
        if self._entry is not None:
            self._entry.end_segment()

    def _close_entry(self, name: str) -> None:
        entry, self._entry = self._entry, None
        if entry is not None:
            entry.close()
            self._segments[name] = entry.segments

    def finish(
        self,
        texts: Sequence[tuple[str, str]],
        source: str = "",
        parts: Sequence[SectionPart] = (),
        streamed_as: str = "",
    ) -> int:
        """Add ``texts`` (name, text) and ``parts`` (each its head and a byte range of the file ``source``, which
        is the streamed file ``streamed_as`` when that is given: a range that is one of its segments is copied
        compressed), close the ZIP and move it into place; returns its size in bytes."""
        self._batch.extend(texts)
        self._flush()
        for part in parts:
            self._last = self._writer.submit(self._put_part, part, source, streamed_as)
        self._writer.submit(self._close).result()
        for step in self._streaming:
            step.result()  # a streamed file that could not be written fails the job, as a failed close does
        self._writer.shutdown(wait=True)
        self._tmp.replace(self.folder / BUNDLE_ZIP)
        return (self.folder / BUNDLE_ZIP).stat().st_size

    def discard(self) -> None:
        """Stop writing and delete the unfinished ZIP (the job failed or was cancelled)."""
        self._writer.shutdown(wait=True, cancel_futures=True)
        if self._entry is not None:
            # Closing an unfinished entry only ends it; the whole file is deleted just below.
            self._entry.abandon()
            self._entry = None
        self._close()
        self._tmp.unlink(missing_ok=True)

    def _flush(self) -> None:
        if self._batch:
            self._last = self._writer.submit(self._put_all, self._batch)
            self._batch = []

    def _put_all(self, files: list[tuple[str, str]]) -> None:
        archive = self._open()
        for name, text in files:
            data = text.encode()
            with _open_entry(archive, _entry_info(name, len(data))) as entry:
                entry.write(data)

    def _put_part(self, part: SectionPart, source: str, streamed_as: str) -> None:
        size = len(part.head) + part.end - part.start + len(part.tail)
        for segment in self._segments.get(streamed_as, ()):
            if segment.start == part.start and segment.length == part.end - part.start:
                write_with_segment(self._open(), _entry_info(part.filename, size), part.head, segment, part.tail)
                return
        with _open_entry(self._open(), _entry_info(part.filename, size)) as entry, open(source, "rb") as f:
            entry.write(part.head)
            f.seek(part.start)
            left = part.end - part.start
            while left > 0:
                chunk = f.read(min(_COPY_CHUNK, left))
                if not chunk:
                    raise OSError(f"{source} ended before byte {part.end}")
                entry.write(chunk)
                left -= len(chunk)
            entry.write(part.tail)

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Entries are deflated by ISA-L (``_open_entry``); zipfile's own level matters only if it cannot be.
            self._zip = zipfile.ZipFile(self._tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        return self._zip

    def _close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


class BundleStream:
    """One file of the bundle written piece by piece (``Bundle.stream``)."""

    def __init__(self, bundle: Bundle, name: str) -> None:
        self._bundle = bundle
        self._name = name
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        """Add ``data`` to the file (handed to the writer thread a megabyte at a time)."""
        self._pending.append(data)
        self._size += len(data)
        if self._size >= STREAM_CHUNK:
            self._hand_over()

    def end_segment(self) -> None:
        """End a segment of the file here (``segments``): what was written since the last one."""
        self._hand_over()
        self._bundle.end_segment()

    def close(self) -> None:
        """End the file (the writer thread finishes compressing it in the background)."""
        self._hand_over()
        self._bundle.end_streamed(self._name)

    def _hand_over(self) -> None:
        if self._pending:
            self._bundle.write_streamed(b"".join(self._pending))
            self._pending, self._size = [], 0


def write_outputs(folder: Path, bundle: Bundle, llms_txt: str, full: FullText | None) -> list[Artifact]:
    """Write llms.txt, move llms-full.txt into place and complete the bundle; returns what was written.

    Args:
        folder: The job's artifact folder.
        bundle: The bundle holding the page files already.
        llms_txt: The llms.txt text.
        full: The llms-full.txt written by ``full_text.write_full_text``, None when full text was not asked
            for. Its section files (when it was split) go into the bundle only, read from its byte ranges.
    """
    folder.mkdir(parents=True, exist_ok=True)
    txt = llms_txt.encode()
    _write(folder / LLMS_TXT, txt)
    written = [Artifact(LLMS_TXT, len(txt))]
    parts: list[SectionPart] = []
    source = str(folder / LLMS_FULL_TXT)
    if full is not None:
        Path(full.path).replace(source)
        written.append(Artifact(LLMS_FULL_TXT, full.bytes))
        if LLMS_FULL_TXT not in bundle.streamed:
            parts.append(SectionPart(LLMS_FULL_TXT, b"", 0, full.bytes, b""))
        parts.extend(full.parts)
    streamed_as = LLMS_FULL_TXT if LLMS_FULL_TXT in bundle.streamed else ""
    written.append(Artifact(BUNDLE_ZIP, bundle.finish([(LLMS_TXT, llms_txt)], source, parts, streamed_as)))
    discard_full_text(folder)
    return written
