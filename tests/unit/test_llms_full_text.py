"""llms-full.txt streamed to disk: the same bytes as the in-memory rendering, sizes, and section files."""

from __future__ import annotations

from pathlib import Path

import msgspec

from actors.kinds.llms_txt.assemble import SiteInfo, full_text_block, join_full_text, render_llms_full
from actors.kinds.llms_txt.full_text import TEMPORARY_NAME, discard, write_full_text
from actors.kinds.llms_txt.sections import DescribedPage, Section
from actors.kinds.llms_txt.sizes import estimate_tokens

SITE = SiteInfo(name="Acmé Docs", base_url="https://docs.example.com/", summary="Guides for Acmé — everything.")


def _sections() -> list[Section]:
    def page(path: str, words: int) -> DescribedPage:
        body = "# Heading\n\n" + " ".join(f"wörd{i}" for i in range(words)) + "\n\n```\n# not a heading\n```"
        return DescribedPage(url=f"https://docs.example.com{path}", title=path.strip("/").title(), markdown=body)

    return [
        Section(name="Guides", pages=[page("/guides/start", 50), page("/guides/deploy", 400)]),
        Section(name="Reference", pages=[page("/reference/api", 900)]),
        Section(name="Guides", pages=[page("/more/faq", 10)]),
    ]


def test_the_streamed_file_is_the_rendered_text(tmp_path: Path) -> None:
    # Given sections of pages with non-ASCII text (bytes and characters differ)
    sections = _sections()
    expected = render_llms_full(SITE, sections)
    # When llms-full.txt is written page by page below the split size
    full = write_full_text(tmp_path, SITE, sections, split_bytes=10_000_000)
    # Then the file holds exactly the rendered text, and its sizes and tokens are the text's
    assert Path(full.path).read_text(encoding="utf-8") == expected
    assert full.bytes == len(expected.encode()) > len(expected)
    assert full.tokens == estimate_tokens(expected)
    assert [s.tokens for s in full.sections] == [
        sum(estimate_tokens(full_text_block(p)) for p in s.pages) for s in sections
    ]
    # and it is not split: no section files
    assert not full.split and full.parts == []


def test_over_the_split_size_each_section_gets_its_own_file(tmp_path: Path) -> None:
    sections = _sections()
    full = write_full_text(tmp_path, SITE, sections, split_bytes=2_000)
    assert full.split
    names = [part.filename for part in full.parts]
    # Two sections share a name: their files do not
    assert names == ["llms-full/guides.txt", "llms-full/reference.txt", "llms-full/guides-2.txt"]
    # Each section's file is its own head and its byte range of the whole file (nothing is copied on disk)
    whole = Path(full.path).read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == [TEMPORARY_NAME]
    for part, section in zip(full.parts, sections, strict=True):
        titled = msgspec.structs.replace(SITE, name=f"{SITE.name}: {section.name}")
        blocks = [full_text_block(p) for p in section.pages]
        text = part.head + whole[part.start : part.end] + part.tail
        assert text.decode() == join_full_text(titled, blocks)
    # and the whole file is still all of it
    assert Path(full.path).read_text(encoding="utf-8") == render_llms_full(SITE, sections)
    # A job that fails afterwards leaves nothing behind
    discard(tmp_path)
    assert not (tmp_path / TEMPORARY_NAME).exists()
