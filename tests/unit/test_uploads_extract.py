"""The shared archive extractor: what it unpacks, every rule it refuses, and that a refusal leaves nothing."""

from __future__ import annotations

import io
import tarfile
import unicodedata
import zipfile
from pathlib import Path

import pytest

from actors.uploads import ArchiveRefused, ExtractLimits, check_archive, extract_archive
from actors.uploads.errors import Rule
from tests.support.archives import (
    make_tar_gz,
    make_zip,
    overlapping_zip_bomb,
    symlink_zip,
    tar_file,
    tar_special,
    with_flag,
)

PROJECT = {
    "package.json": b'{"name": "site"}',
    "src/": b"",
    "src/main.ts": b"console.log('hi')\n",
    "public/index.html": b"<h1>hi</h1>",
}


def leftovers(directory: Path, archive: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p != archive)


def test_zip_is_unpacked_with_its_tree(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "site.zip", {**PROJECT, "run.sh": b"#!/bin/sh\n"}, modes={"run.sh": 0o100755})
    dest = tmp_path / "out"
    files = extract_archive(archive, dest)
    assert files == ["package.json", "public/index.html", "run.sh", "src/main.ts"]
    assert (dest / "src/main.ts").read_bytes() == b"console.log('hi')\n"
    assert (dest / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "package.json").stat().st_mode & 0o777 == 0o644
    assert check_archive(archive) == files


def test_tar_gz_is_unpacked_and_names_are_normalised(tmp_path: Path) -> None:
    # Given a tar.gz with "./" prefixes, a Windows-style name and a name in decomposed Unicode (NFD)
    decomposed = unicodedata.normalize("NFD", "café.txt")
    members = [tar_special("./", tarfile.DIRTYPE), tar_file("./a\\b.txt"), tar_file(decomposed), tar_file("./x/y.txt")]
    archive = make_tar_gz(tmp_path / "p.tar.gz", members, {"./a\\b.txt": b"1", decomposed: b"2", "./x/y.txt": b"3"})
    # When it is unpacked, Then backslashes are directories and the name is NFC
    files = extract_archive(archive, tmp_path / "out")
    assert files == ["a/b.txt", "café.txt", "x/y.txt"]
    assert unicodedata.is_normalized("NFC", files[1])
    assert (tmp_path / "out" / "a" / "b.txt").read_bytes() == b"1"


REFUSALS: list[tuple[str, object, str, Rule]] = [
    ("zip-absolute", lambda p: make_zip(p / "a.zip", {"/etc/cron.d/x": b"x"}), "/etc/cron.d/x", Rule.ABSOLUTE_PATH),
    ("zip-drive", lambda p: make_zip(p / "a.zip", {"C:\\Windows\\x": b"x"}), "C:\\Windows\\x", Rule.ABSOLUTE_PATH),
    (
        "zip-dotdot",
        lambda p: make_zip(p / "a.zip", {"ok": b"", "a/../../evil": b"x"}),
        "a/../../evil",
        Rule.PARENT_REFERENCE,
    ),
    ("zip-backslash-dotdot", lambda p: make_zip(p / "a.zip", {"..\\evil": b"x"}), "..\\evil", Rule.PARENT_REFERENCE),
    ("zip-symlink", lambda p: symlink_zip(p / "a.zip"), "link", Rule.LINK),
    ("zip-fifo", lambda p: make_zip(p / "a.zip", {"f": b""}, modes={"f": 0o010644}), "f", Rule.SPECIAL_FILE),
    ("zip-duplicate", lambda p: make_zip(p / "a.zip", {"a/b": b"1", "a\\b": b"2"}), "a\\b", Rule.DUPLICATE),
    ("zip-file-then-dir", lambda p: make_zip(p / "a.zip", {"a": b"1", "a/b": b"2"}), "a/b", Rule.DUPLICATE),
    ("zip-encrypted", lambda p: with_flag(make_zip(p / "a.zip", {"s": b"x"}), 0x1), "s", Rule.ENCRYPTED),
    ("zip-overlapping", lambda p: overlapping_zip_bomb(p / "a.zip"), "a", Rule.OVERLAPPING),
    (
        "tar-absolute",
        lambda p: make_tar_gz(p / "a.tgz", [tar_file("/etc/passwd")], {"/etc/passwd": b"x"}),
        "/etc/passwd",
        Rule.ABSOLUTE_PATH,
    ),
    (
        "tar-dotdot",
        lambda p: make_tar_gz(p / "a.tgz", [tar_file("../x")], {"../x": b"x"}),
        "../x",
        Rule.PARENT_REFERENCE,
    ),
    ("tar-symlink", lambda p: make_tar_gz(p / "a.tgz", [tar_special("l", tarfile.SYMTYPE, "/etc")]), "l", Rule.LINK),
    (
        "tar-hardlink",
        lambda p: make_tar_gz(p / "a.tgz", [tar_special("h", tarfile.LNKTYPE, "/etc/passwd")]),
        "h",
        Rule.LINK,
    ),
    ("tar-device", lambda p: make_tar_gz(p / "a.tgz", [tar_special("dev", tarfile.CHRTYPE)]), "dev", Rule.SPECIAL_FILE),
    (
        "tar-fifo",
        lambda p: make_tar_gz(p / "a.tgz", [tar_special("fifo", tarfile.FIFOTYPE)]),
        "fifo",
        Rule.SPECIAL_FILE,
    ),
    ("not-an-archive", lambda p: (p / "a.zip").write_bytes(b"hello") and p / "a.zip", "", Rule.UNSUPPORTED_FORMAT),
    (
        "damaged-zip",
        lambda p: (p / "a.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100) and p / "a.zip",
        "",
        Rule.CORRUPT,
    ),
]


@pytest.mark.parametrize(("build", "entry", "rule"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_entry_and_rule_and_leave_nothing(tmp_path: Path, build: object, entry: str, rule: Rule) -> None:
    archive: Path = build(tmp_path)  # type: ignore[operator]
    # The check alone refuses it
    with pytest.raises(ArchiveRefused) as checked:
        check_archive(archive)
    assert (checked.value.entry, checked.value.rule) == (entry, rule)
    # and extraction refuses it the same way, leaving nothing beside the archive
    with pytest.raises(ArchiveRefused) as extracted:
        extract_archive(archive, tmp_path / "out")
    assert (extracted.value.entry, extracted.value.rule) == (entry, rule)
    assert leftovers(tmp_path, archive) == []


def test_too_many_entries(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {f"f{i}": b"x" for i in range(11)})
    with pytest.raises(ArchiveRefused) as refused:
        extract_archive(archive, tmp_path / "out", ExtractLimits(max_entries=10))
    assert (refused.value.entry, refused.value.rule) == ("f10", Rule.TOO_MANY_ENTRIES)
    assert "more than 10 entries" in str(refused.value)
    assert leftovers(tmp_path, archive) == []


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_unpacked_size_is_counted_while_extracting(tmp_path: Path, fmt: str) -> None:
    # Given three files of 400 kB each (highly compressible) and a 1 MB limit: the third one crosses it
    contents = {name: b"\0" * 400_000 for name in ("a", "b", "c")}
    if fmt == "zip":
        archive = make_zip(tmp_path / "a.zip", contents)
    else:
        archive = make_tar_gz(tmp_path / "a.tgz", [tar_file(n) for n in contents], contents)
    # When it is extracted, Then it is refused at "c" after "a" and "b" were written, and nothing is left
    with pytest.raises(ArchiveRefused) as refused:
        extract_archive(archive, tmp_path / "out", ExtractLimits(max_total_bytes=1_000_000))
    assert (refused.value.entry, refused.value.rule) == ("c", Rule.TOO_LARGE)
    assert leftovers(tmp_path, archive) == []


def test_the_overlapping_bomb_is_one_python_3_11_7_would_unpack(tmp_path: Path) -> None:
    # The standard library of Python 3.11.7 extracts every copy (20 x 2 MB from one stream); 3.13 (and later
    # 3.11/3.12 patch releases) refuses it itself as overlapped. We refuse it on every version.
    archive = overlapping_zip_bomb(tmp_path / "bomb.zip")
    assert archive.stat().st_size < 20_000
    with zipfile.ZipFile(archive) as zf:
        try:
            assert sum(len(zf.read(info)) for info in zf.infolist()) == 40_000_000
        except zipfile.BadZipFile as exc:
            assert "Overlapped entries" in str(exc)
    with pytest.raises(ArchiveRefused) as refused:
        check_archive(archive)
    assert refused.value.rule is Rule.OVERLAPPING
    assert "overlaps that of 'a'" in str(refused.value)


def test_existing_destination_is_not_touched(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", PROJECT)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(FileExistsError):
        extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "keep").read_text() == "mine"


def test_a_tar_header_bigger_than_the_limits_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    # Given a tar.gz whose pax header is 3 MB (tarfile would read it whole into memory), and a 1 MB limit
    member = tar_file("a")
    member.pax_headers = {"comment": "x" * 3_000_000}
    archive = tmp_path / "a.tgz"
    with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(member, io.BytesIO(b""))
    # Then it is refused for its size, though no file in it has a byte
    with pytest.raises(ArchiveRefused) as refused:
        check_archive(archive, ExtractLimits(max_entries=10, max_total_bytes=1_000_000))
    assert refused.value.rule is Rule.TOO_LARGE
