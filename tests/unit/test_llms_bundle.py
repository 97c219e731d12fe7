"""The llms.txt bundle: page files in batches, llms-full.txt compressed in while it is written, discard."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import msgspec
import pytest

from actors.kinds.llms_txt.assemble import SiteInfo, render_llms_full
from actors.kinds.llms_txt.full_text import FullText, write_full_text
from actors.kinds.llms_txt.output import BUNDLE_ZIP, LLMS_FULL_TXT, LLMS_TXT, STREAM_CHUNK, Bundle, write_outputs
from actors.kinds.llms_txt.sections import DescribedPage, Section


def test_a_streamed_file_is_in_the_bundle_once_and_whole(tmp_path: Path) -> None:
    # Given a bundle holding some pages, and llms-full.txt written in many pieces (over several hand-overs)
    bundle = Bundle(tmp_path)
    for i in range(40):
        bundle.add_page(f"https://docs.example.com/p{i}", f"Page {i}", f"Text of page {i}.")
    pieces = [os.urandom(64 * 1024).hex().encode() for _ in range(3 * STREAM_CHUNK // (128 * 1024))]
    whole = b"".join(pieces)
    stream = bundle.stream(LLMS_FULL_TXT)
    full_path = tmp_path / "llms-full.txt.tmp"
    with full_path.open("wb") as f:
        for piece in pieces:
            stream.write(piece)
            f.write(piece)
    stream.close()
    # When the outputs are written
    full = FullText(str(full_path), len(whole), 0, [], [])
    artifacts = write_outputs(tmp_path, bundle, "# Docs\n", full)
    # Then the bundle holds llms-full.txt once, byte for byte, besides llms.txt and every page
    with zipfile.ZipFile(tmp_path / BUNDLE_ZIP) as archive:
        names = archive.namelist()
        assert archive.read(LLMS_FULL_TXT) == whole
        assert archive.read(LLMS_TXT) == b"# Docs\n"
        assert (
            archive.read("pages/p7.md").decode()
            == "# Page 7\n\nSource: https://docs.example.com/p7\n\nText of page 7.\n"
        )
        assert archive.testzip() is None
    assert names.count(LLMS_FULL_TXT) == 1
    assert len(names) == 42
    assert (tmp_path / LLMS_FULL_TXT).read_bytes() == whole
    assert {a.name for a in artifacts} == {LLMS_TXT, LLMS_FULL_TXT, BUNDLE_ZIP}


def test_discarding_with_a_stream_open_leaves_nothing(tmp_path: Path) -> None:
    # Given a bundle whose streamed file was never ended (the job failed while writing llms-full.txt)
    bundle = Bundle(tmp_path)
    bundle.add_page("https://docs.example.com/a", "A", "Some text.")
    stream = bundle.stream(LLMS_FULL_TXT)
    stream.write(b"x" * (STREAM_CHUNK + 1))
    # When it is discarded, Then no bundle is left, finished or not
    bundle.discard()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("segments", [False, True], ids=["ranges-read-back", "segments-reused"])
def test_section_files_are_read_from_their_byte_ranges(tmp_path: Path, segments: bool) -> None:
    # Given an llms-full.txt over the split size, its sections noted as byte ranges (and, streamed in segments,
    # each section's compressed segment kept for its own file)
    sections = [
        Section(
            name=name,
            pages=[
                DescribedPage(url=f"https://docs.example.com/{name}/{i}", title=f"{name} {i}", markdown="Wörds " * 400)
                for i in range(3)
            ],
        )
        for name in ("Guides", "Reference")
    ]
    site = SiteInfo(name="Acmé", base_url="https://docs.example.com/", summary="Docs.")
    bundle = Bundle(tmp_path)
    stream = bundle.stream(LLMS_FULL_TXT)
    end_segment = stream.end_segment if segments else None
    full = write_full_text(tmp_path, site, sections, split_bytes=1_000, copy_to=stream.write, end_segment=end_segment)
    stream.close()
    # When the outputs are written
    write_outputs(tmp_path, bundle, "# Docs\n", full)
    # Then each section's file in the bundle is the section rendered on its own, and the whole file is whole
    with zipfile.ZipFile(tmp_path / BUNDLE_ZIP) as archive:
        assert archive.testzip() is None
        assert archive.read(LLMS_FULL_TXT).decode() == render_llms_full(site, sections)
        for section, name in zip(sections, ("llms-full/guides.txt", "llms-full/reference.txt"), strict=True):
            titled = msgspec.structs.replace(site, name=f"Acmé: {section.name}")
            assert archive.read(name).decode() == render_llms_full(titled, [section])
    assert sorted(p.name for p in tmp_path.iterdir()) == [BUNDLE_ZIP, LLMS_FULL_TXT, LLMS_TXT]
