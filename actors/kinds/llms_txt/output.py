"""Writing a generation's files: llms.txt, llms-full.txt, and a ZIP bundle with one Markdown file per page.

The bundle is written while the crawl runs: page files are compressed into it as pages arrive (in batches), in
one background thread (zlib releases the GIL, so this uses the core the event loop leaves idle), and only
llms.txt, llms-full.txt and the per-section files are added at the end. Files are written to a temporary
name and renamed, so a download never sees half a file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from actors.kinds.llms_txt.full_text import FullText
from actors.kinds.llms_txt.full_text import discard as discard_full_text

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


# Page files handed to the writer thread together: one wake-up (and GIL hand-over) per batch, not per page.
PAGES_PER_BATCH = 32


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

    def add_page(self, url: str, title: str, markdown: str) -> None:
        """Queue one page's file (``pages/<name>.md``: its title, source URL and Markdown)."""
        name = f"pages/{page_filename(url, self._taken)}"
        self._batch.append((name, f"# {title or url}\n\nSource: {url}\n\n{markdown}\n"))
        if len(self._batch) >= PAGES_PER_BATCH:
            self._flush()

    def finish(self, texts: Sequence[tuple[str, str]], files: Sequence[tuple[str, str]] = ()) -> int:
        """Add ``texts`` (name, text) and ``files`` (name, path on disk, streamed in), close the ZIP and move
        it into place; returns its size in bytes."""
        self._batch.extend(texts)
        self._flush()
        for name, path in files:
            self._last = self._writer.submit(self._put_file, name, path)
        self._writer.submit(self._close).result()
        self._writer.shutdown(wait=True)
        self._tmp.replace(self.folder / BUNDLE_ZIP)
        return (self.folder / BUNDLE_ZIP).stat().st_size

    def discard(self) -> None:
        """Stop writing and delete the unfinished ZIP (the job failed or was cancelled)."""
        self._writer.shutdown(wait=True, cancel_futures=True)
        self._close()
        self._tmp.unlink(missing_ok=True)

    def _flush(self) -> None:
        if self._batch:
            self._last = self._writer.submit(self._put_all, self._batch)
            self._batch = []

    def _put_all(self, files: list[tuple[str, str]]) -> None:
        archive = self._open()
        for name, text in files:
            archive.writestr(name, text)

    def _put_file(self, name: str, path: str) -> None:
        self._open().write(path, name)

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            # Level 1: several times faster than the default on text, and within a few percent of its size.
            self._zip = zipfile.ZipFile(self._tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        return self._zip

    def _close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None


def write_outputs(folder: Path, bundle: Bundle, llms_txt: str, full: FullText | None) -> list[Artifact]:
    """Write llms.txt, move llms-full.txt into place and complete the bundle; returns what was written.

    Args:
        folder: The job's artifact folder.
        bundle: The bundle holding the page files already.
        llms_txt: The llms.txt text.
        full: The llms-full.txt written by ``full_text.write_full_text``, None when full text was not asked
            for. Its section files (when it was split) go into the bundle only and are removed here.
    """
    folder.mkdir(parents=True, exist_ok=True)
    txt = llms_txt.encode()
    _write(folder / LLMS_TXT, txt)
    written = [Artifact(LLMS_TXT, len(txt))]
    files: list[tuple[str, str]] = []
    if full is not None:
        Path(full.path).replace(folder / LLMS_FULL_TXT)
        written.append(Artifact(LLMS_FULL_TXT, full.bytes))
        files = [(LLMS_FULL_TXT, str(folder / LLMS_FULL_TXT)), *full.parts]
    written.append(Artifact(BUNDLE_ZIP, bundle.finish([(LLMS_TXT, llms_txt)], files)))
    discard_full_text(folder)
    return written
