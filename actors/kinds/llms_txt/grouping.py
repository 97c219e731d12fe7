"""Turning groups of pages into llms.txt sections of a readable number and size, whatever the structure source.

A `Group` is one candidate section in reading order, made of *parts* (its sub-structure: a manual part's
chapters, a sidebar group's sub-groups). `finish` then:

1. keeps the general group ("Overview": the home page and loose top-level pages) first and ``Optional`` last;
2. merges neighbouring groups, smallest pair first, while there are more than `MAX_SECTIONS`;
3. splits a group of more than `SPLIT_AT` links along its parts, in order ("Part II: Chapter 4 - Chapter 7");
4. gives every section a unique name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from actors.kinds.llms_txt.numbering import title_number
from actors.kinds.llms_txt.sections import OPTIONAL, DescribedPage, Section, is_optional_url

OVERVIEW = "Overview"
MAX_SECTIONS = 12
SPLIT_AT = 150
# Titles of pages a reader may skip: old release notes, indexes, legal pages, change logs.
_LOW_VALUE = re.compile(
    r"^(?:release notes?|releases?\b.*\d|changelogs?|change ?log|changes in\b|version history|release history|"
    r"what'?s new in\b|index|general index|genindex|search|search results|legal|legal notice|imprint|"
    r"privacy(?: policy| notice)?|terms(?: of (?:service|use))?|terms and conditions|cookies?(?: policy)?|"
    r"licen[cs]e|acknowledge?ments?)\s*$",
    re.IGNORECASE,
)
_NUMBER_PREFIX = re.compile(r"^\s*(?:(?:part|chapter|appendix)\s+)?[0-9A-Z]+(?:\.[0-9]+)*\.?\s+", re.IGNORECASE)


@dataclass
class Group:
    """A candidate section: ``names`` (more than one once merged) and its ``parts`` in reading order."""

    names: list[str]
    parts: list[tuple[str, list[DescribedPage]]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(pages) for _, pages in self.parts)

    @property
    def name(self) -> str:
        return self.names[0] if len(self.names) == 1 else f"{self.names[0]} – {self.names[-1]}"  # noqa: RUF001

    def pages(self) -> list[DescribedPage]:
        return [page for _, pages in self.parts for page in pages]


def low_value(title: str, url: str = "") -> bool:
    """Whether a page (or a whole branch, by its title) belongs in ``## Optional``."""
    bare = _NUMBER_PREFIX.sub("", title).strip(" .:")
    return bool(_LOW_VALUE.match(bare) or _LOW_VALUE.match(title.strip())) or (bool(url) and is_optional_url(url))


def finish(overview: list[DescribedPage], groups: list[Group], optional: list[DescribedPage]) -> list[Section]:
    """Sections in output order (see the module docstring); empty groups are dropped."""
    groups = [g for g in groups if g.size]
    while len(groups) > MAX_SECTIONS - 2 and len(groups) > 1:
        i = min(range(len(groups) - 1), key=lambda k: groups[k].size + groups[k + 1].size)
        first, second = groups[i], groups[i + 1]
        merged = Group([*first.names, *second.names], [*_as_parts(first), *_as_parts(second)])
        groups[i : i + 2] = [merged]
    # A section past SPLIT_AT links is split; when that would make too many sections, the limit is relaxed
    # (never past twice SPLIT_AT), so a 1,200-page manual gets about ten sections of 100-200 links.
    fixed = bool(overview) + bool(optional)
    for limit in (SPLIT_AT, SPLIT_AT * 5 // 4, SPLIT_AT * 3 // 2, SPLIT_AT * 2):
        middle = [section for group in groups for section in _split(group, limit)]
        if len(middle) + fixed <= MAX_SECTIONS:
            break
    out: list[Section] = []
    if overview:
        out.append(Section(name=OVERVIEW, pages=overview))
    out.extend(middle)
    if optional:
        out.append(Section(name=OPTIONAL, pages=optional))
    return _unique_names(out)


def _as_parts(group: Group) -> list[tuple[str, list[DescribedPage]]]:
    # A merged group's parts are its former groups, so a later split falls on their boundaries first.
    if len(group.names) == 1:
        return [(group.names[0], group.pages())]
    return group.parts


def _split(group: Group, limit: int) -> list[Section]:
    """The group as one section, or as about ``size / limit`` sections of similar size along its parts."""
    if group.size <= limit or len(group.parts) < 2:
        return [Section(name=group.name, pages=group.pages())]
    count = -(-group.size // limit)
    target = group.size / count
    chunks: list[list[tuple[str, list[DescribedPage]]]] = [[]]
    done = 0
    for part in group.parts:
        if chunks[-1] and any(name for name, _ in chunks[-1]) and done + len(part[1]) / 2 > target * len(chunks):
            chunks.append([])
        chunks[-1].append(part)
        done += len(part[1])
    if len(chunks) == 1:
        return [Section(name=group.name, pages=group.pages())]
    sections = []
    for chunk in chunks:
        label = _range_label([name for name, _ in chunk if name])
        sections.append(Section(name=f"{group.name}{label}", pages=[p for _, pages in chunk for p in pages]))
    return sections


def _range_label(names: list[str]) -> str:
    """ " (Chapters 4-11)" for numbered chapters or appendices, else ": First - Last" (with en dashes)."""
    numbers = [title_number(name) for name in names]
    first, last = numbers[0], numbers[-1]
    if first is not None and last is not None and first.kind in ("chapter", "appendix") and first.kind == last.kind:
        word = first.kind.capitalize()
        if first == last:
            return f" ({word} {first.parts[0]})"
        plural = "Appendices" if word == "Appendix" else word + "s"
        return f" ({plural} {first.parts[0]}–{last.parts[0]})"  # noqa: RUF001
    return f": {names[0]}" if len(names) == 1 else f": {names[0]} – {names[-1]}"  # noqa: RUF001


def _unique_names(sections: list[Section]) -> list[Section]:
    seen: dict[str, int] = {}
    for section in sections:
        name = " ".join(section.name.split()) or OVERVIEW
        count = seen.get(name.casefold(), 0) + 1
        seen[name.casefold()] = count
        section.name = name if count == 1 else f"{name} ({count})"
    return sections
