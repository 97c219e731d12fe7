"""Writing a finished generation: llms.txt, llms-full.txt, one Markdown file per page, and a ZIP of all.

Files are written to a temporary name and renamed, so a download never sees half a file.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import msgspec

from actors.kinds.llms_txt.sections import DescribedPage

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


def write_outputs(
    folder: Path,
    llms_txt: str,
    llms_full: str | None,
    pages: list[DescribedPage],
    extra: Sequence[tuple[str, str]] = (),
) -> list[Artifact]:
    """Write every artifact into ``folder``; returns what was written.

    Args:
        folder: The job's artifact folder.
        llms_txt: The llms.txt text.
        llms_full: The llms-full.txt text, None when full text was not asked for.
        pages: The pages, one Markdown file each in the bundle.
        extra: More (name, text) files for the bundle only (the per-section llms-full files).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Artifact] = []
    _write(folder / LLMS_TXT, llms_txt.encode())
    written.append(Artifact(LLMS_TXT, len(llms_txt.encode())))
    if llms_full is not None:
        _write(folder / LLMS_FULL_TXT, llms_full.encode())
        written.append(Artifact(LLMS_FULL_TXT, len(llms_full.encode())))
    tmp = folder / (BUNDLE_ZIP + ".tmp")
    taken: set[str] = set()
    # Level 1: several times faster than the default on text, and within a few percent of its size.
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        bundle.writestr(LLMS_TXT, llms_txt)
        if llms_full is not None:
            bundle.writestr(LLMS_FULL_TXT, llms_full)
        for name, text in extra:
            bundle.writestr(name, text)
        for page in pages:
            body = f"# {page.title or page.url}\n\nSource: {page.url}\n\n{page.markdown}\n"
            bundle.writestr(f"pages/{page_filename(page.url, taken)}", body)
    tmp.replace(folder / BUNDLE_ZIP)
    written.append(Artifact(BUNDLE_ZIP, (folder / BUNDLE_ZIP).stat().st_size))
    return written
