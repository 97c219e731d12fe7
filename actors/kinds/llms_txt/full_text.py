"""llms-full.txt written to disk page by page, never held whole in memory, and also cut into one file per
section when it is larger than the split size.

The file is the head (``assemble.full_text_head``) and each page's block (``assemble.full_text_block``)
joined by ``assemble.BLOCK_SEPARATOR``: byte for byte what ``assemble.render_llms_full`` returns. Blocks are
encoded and written one at a time and each section's byte range in the file is noted, so a section's own
file is its own head followed by that range (a `SectionPart`): the bundle reads it from the file as it
compresses it, and no copy is written.

The file is written under a temporary name in the job's folder; ``output.write_outputs`` moves it into place
and puts the section files in the bundle, and ``discard`` removes what a failed job left.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from actors.kinds.llms_txt.assemble import BLOCK_SEPARATOR, SiteInfo, full_text_block, full_text_head
from actors.kinds.llms_txt.sections import Section
from actors.kinds.llms_txt.sizes import estimate_tokens, section_filename, tokens_for_chars

TEMPORARY_NAME = "llms-full.txt.tmp"


class SectionText(msgspec.Struct):
    """One section of llms-full.txt: its name, its own file's name in the bundle, its token estimate."""

    name: str
    filename: str
    tokens: int


class SectionPart(msgspec.Struct, frozen=True):
    """One file of the bundle made of a byte range of llms-full.txt: ``head``, bytes ``start:end``, ``tail``."""

    filename: str
    head: bytes
    start: int
    end: int
    tail: bytes


class FullText(msgspec.Struct):
    """The written llms-full.txt.

    Attributes:
        path: Where it was written (a temporary name in the job's folder).
        bytes: Its size in bytes.
        tokens: Its token estimate.
        sections: Every section's name, file name and token estimate, in file order.
        parts: Each section's own file, as its head and its byte range of the whole; empty unless the whole is
            over the split size.
    """

    path: str
    bytes: int
    tokens: int
    sections: list[SectionText]
    parts: list[SectionPart]

    @property
    def split(self) -> bool:
        return bool(self.parts)


def write_full_text(
    folder: Path,
    site: SiteInfo,
    sections: list[Section],
    split_bytes: int,
    copy_to: Callable[[bytes], object] | None = None,
    end_segment: Callable[[], object] | None = None,
) -> FullText:
    """Write llms-full.txt for ``sections`` into ``folder``, and its section files when over ``split_bytes``.

    ``copy_to`` also gets every piece of llms-full.txt as it is written (the bundle compresses it meanwhile), and
    ``end_segment`` is called after the head and after each section (the bundle compresses each of these
    segments on its own, and reuses a section's for the section's own file).
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TEMPORARY_NAME
    taken: set[str] = set()
    out: list[SectionText] = []
    ranges: list[tuple[int, int]] = []
    head = full_text_head(site, sum(len(section.pages) for section in sections))
    chars = len(head) + 1  # the head and the final newline
    with path.open("wb") as f:

        def put(data: bytes) -> int:
            if copy_to is not None:
                copy_to(data)
            return f.write(data)

        written = put(head.encode())
        if end_segment is not None:
            end_segment()
        for section in sections:
            start, tokens = written, 0
            for page in section.pages:
                block = full_text_block(page)
                tokens += estimate_tokens(block)
                chars += len(BLOCK_SEPARATOR) + len(block)
                written += put((BLOCK_SEPARATOR + block).encode())
            ranges.append((start, written))
            if end_segment is not None:
                end_segment()
            out.append(SectionText(section.name, section_filename(section.name, taken), tokens))
        written += put(b"\n")
    parts = _parts(site, out, ranges, sections) if written > split_bytes else []
    return FullText(str(path), written, tokens_for_chars(chars), out, parts)


def discard(folder: Path) -> None:
    """Remove the temporary file a job that did not finish left behind."""
    (folder / TEMPORARY_NAME).unlink(missing_ok=True)


def _parts(
    site: SiteInfo, texts: list[SectionText], ranges: list[tuple[int, int]], sections: list[Section]
) -> list[SectionPart]:
    parts = []
    for text, (start, end), section in zip(texts, ranges, sections, strict=True):
        titled = msgspec.structs.replace(site, name=f"{site.name}: {text.name}" if site.name else text.name)
        parts.append(SectionPart(text.filename, full_text_head(titled, len(section.pages)).encode(), start, end, b"\n"))
    return parts
