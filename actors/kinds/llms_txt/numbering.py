"""Numbering in page titles, as manuals write it: "Part III. Server Administration", "Chapter 9. Functions",
"9.3. Mathematical Functions", "Appendix F. Additional Modules", "F.1. adminpack".

``title_number`` reads the number a title starts with; ``number_key`` orders numbers as a reader does
(chapters 1, 2 … 10 in numeric order, then appendices A, B …).
"""

from __future__ import annotations

import re

import msgspec

_NUMBERED = re.compile(
    r"^\s*(?:(?P<word>part|chapter|appendix|section|book)\s+)?"
    r"(?P<number>(?:[0-9]+|[A-Z]|[IVXLC]+)(?:\.[0-9]+)*)[.:)]?\s+(?P<rest>\S.*)$",
    re.IGNORECASE,
)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


class TitleNumber(msgspec.Struct, frozen=True):
    """The number a title starts with.

    Attributes:
        kind: "part", "chapter", "appendix", "section" or "" (a bare number such as "9.3.").
        parts: The number's components, upper-cased: ("9", "3"), ("F", "1"), ("III",).
        rest: The title without its number.
    """

    kind: str
    parts: tuple[str, ...]
    rest: str

    @property
    def chapter(self) -> str:
        """The top-level component ("9" of 9.3.1, "F" of F.1); parts have none ("")."""
        return "" if self.kind == "part" else self.parts[0]


def title_number(title: str) -> TitleNumber | None:
    """The numbering a title starts with, or None.

    A bare single letter or Roman numeral counts only with a following component ("F.1.") or a word
    ("Appendix F."), so "A guide to…" and "I am…" are not numbered; a bare number needs its dot ("9. Functions").
    """
    match = _NUMBERED.match(title)
    if match is None:
        return None
    word = (match.group("word") or "").lower()
    number = match.group("number").upper()
    parts = tuple(number.split("."))
    raw = match.group(0)
    if not word:
        dotted = raw[match.end("number") : match.end("number") + 1] in (".", ")", ":")
        if len(parts) == 1 and (not parts[0].isdigit() or not dotted):
            return None
        kind = ""
    else:
        kind = "part" if word == "book" else word
    if kind == "part" and not (parts[0].isdigit() or set(parts[0]) <= set(_ROMAN)):
        return None
    return TitleNumber(kind, parts, match.group("rest").strip())


def number_key(parts: tuple[str, ...]) -> tuple[tuple[int, int | str], ...]:
    """Sort key: numeric components numerically, letters after all numbers (appendices last)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts)


def roman_value(text: str) -> int | None:
    """The value of a Roman numeral ("III" -> 3), None when it is not one."""
    text = text.upper()
    if not text or not set(text) <= set(_ROMAN):
        return None
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN[ch]
        total += -value if i + 1 < len(text) and _ROMAN[text[i + 1]] > value else value
    return total
