"""How big the outputs are, and the names of llms-full.txt's per-section files (``full_text`` writes them).

Token counts are estimates: about four characters a token, the usual rule of thumb for English prose and
Markdown with OpenAI- and Gemini-style tokenizers. They tell a user whether a file fits a context window;
they are not a bill.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4
# Default size past which llms-full.txt is also written per section.
SPLIT_FULL_BYTES = 5_000_000
SECTION_FOLDER = "llms-full"
_UNSAFE = re.compile(r"[^a-z0-9]+")


def estimate_tokens(text: str) -> int:
    """About how many tokens ``text`` is (see the module docstring)."""
    return tokens_for_chars(len(text))


def tokens_for_chars(chars: int) -> int:
    """About how many tokens a text of ``chars`` characters is."""
    return (chars + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def split_notice(full_bytes: int, filenames: list[str]) -> str:
    """The llms.txt paragraph that tells a reader where the per-section files are."""
    names = ", ".join(filenames[:3]) + (", …" if len(filenames) > 3 else "")
    return (
        f"llms-full.txt is {full_bytes / 1_000_000:.1f} MB, too large for most context windows: the bundle "
        f"(bundle.zip) also holds it as one file per section under {SECTION_FOLDER}/ ({names})."
    )


def section_filename(name: str, taken: set[str]) -> str:
    """A section's own llms-full file name in the bundle, unique among ``taken`` (which it joins)."""
    stem = _UNSAFE.sub("-", name.lower()).strip("-")[:80] or "section"
    candidate, n = f"{SECTION_FOLDER}/{stem}.txt", 2
    while candidate in taken:
        candidate, n = f"{SECTION_FOLDER}/{stem}-{n}.txt", n + 1
    taken.add(candidate)
    return candidate
