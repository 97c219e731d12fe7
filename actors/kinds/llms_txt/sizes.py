"""How big the outputs are, and llms-full.txt cut into one file per section when it is too big to use.

Token counts are estimates: about four characters a token, the usual rule of thumb for English prose and
Markdown with OpenAI- and Gemini-style tokenizers. They tell a user whether a file fits a context window;
they are not a bill.
"""

from __future__ import annotations

import re

import msgspec

from actors.kinds.llms_txt.assemble import SiteInfo, full_text_block, join_full_text
from actors.kinds.llms_txt.sections import Section

CHARS_PER_TOKEN = 4
# Default size past which llms-full.txt is also written per section.
SPLIT_FULL_BYTES = 5_000_000
SECTION_FOLDER = "llms-full"
_UNSAFE = re.compile(r"[^a-z0-9]+")


class SectionText(msgspec.Struct):
    """One section of llms-full.txt: its name, its own file in the bundle, its token estimate and text."""

    name: str
    filename: str
    tokens: int
    text: str = ""


class FullText(msgspec.Struct):
    """``llms-full.txt`` and its sections (their ``text`` filled only when the whole is split)."""

    text: str
    sections: list[SectionText]
    split: bool


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (see the module docstring)."""
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def full_text(site: SiteInfo, sections: list[Section], split_bytes: int = SPLIT_FULL_BYTES) -> FullText:
    """Render llms-full.txt once, and per section too when it is larger than ``split_bytes``."""
    per_section = [[full_text_block(page) for page in section.pages] for section in sections]
    text = join_full_text(site, [block for blocks in per_section for block in blocks])
    split = len(text.encode()) > split_bytes
    taken: set[str] = set()
    out = []
    for section, blocks in zip(sections, per_section, strict=True):
        tokens = sum(estimate_tokens(block) for block in blocks)
        part = SectionText(section.name, _filename(section.name, taken), tokens)
        if split:
            titled = msgspec.structs.replace(site, name=f"{site.name}: {section.name}" if site.name else section.name)
            part.text = join_full_text(titled, blocks)
        out.append(part)
    return FullText(text, out, split)


def split_notice(full_bytes: int, parts: list[SectionText]) -> str:
    """The llms.txt paragraph that tells a reader where the per-section files are."""
    names = ", ".join(part.filename for part in parts[:3]) + (", …" if len(parts) > 3 else "")
    return (
        f"llms-full.txt is {full_bytes / 1_000_000:.1f} MB, too large for most context windows: the bundle "
        f"(bundle.zip) also holds it as one file per section under {SECTION_FOLDER}/ ({names})."
    )


def _filename(name: str, taken: set[str]) -> str:
    stem = _UNSAFE.sub("-", name.lower()).strip("-")[:80] or "section"
    candidate, n = f"{SECTION_FOLDER}/{stem}.txt", 2
    while candidate in taken:
        candidate, n = f"{SECTION_FOLDER}/{stem}-{n}.txt", n + 1
    taken.add(candidate)
    return candidate
