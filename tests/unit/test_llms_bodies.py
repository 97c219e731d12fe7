"""Response bodies: content types per fetch kind, and reading and decompressing under a size cap."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from actors.kinds.llms_txt.bodies import (
    BadEncoding,
    BodyTooLarge,
    BoundedInflater,
    FetchKind,
    accepts,
    decode_body,
    gunzip_capped,
    looks_like_html,
    read_capped,
)


@pytest.mark.parametrize(
    ("kind", "content_type", "verdict"),
    [
        ("html", "text/html", True),
        ("html", "text/html; charset=UTF-8", True),
        ("html", "TEXT/HTML", True),
        ("html", "application/xhtml+xml", True),
        ("html", "application/pdf", False),
        ("html", "image/png", False),
        ("html", "application/json", False),
        ("html", "text/plain", False),
        ("html", "", None),  # sniffed
        ("xml", "application/xml", True),
        ("xml", "text/xml; charset=utf-8", True),
        ("xml", "application/gzip", True),
        ("xml", "application/x-gzip", True),
        ("xml", "application/octet-stream", True),
        ("xml", "text/plain", True),
        ("xml", "", True),
        ("xml", "image/png", False),
        ("xml", "application/pdf", False),
        ("text", "text/plain", True),
        ("text", "text/html", True),
        ("text", "", True),
        ("text", "image/png", False),
    ],
)
def test_each_kind_takes_its_content_types(kind: FetchKind, content_type: str, verdict: bool | None) -> None:
    assert accepts(kind, content_type) is verdict


def test_html_is_sniffed_only_from_its_first_bytes() -> None:
    assert looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>")
    assert looks_like_html(b"<HTML><body>")
    assert not looks_like_html(b"%PDF-1.4 <html>")
    assert not looks_like_html(b'{"html": true}')


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_read_capped_passes_identity_and_decodes_gzip_and_deflate() -> None:
    body = b"<p>hello</p>" * 1000
    assert await read_capped(_chunks(body), limit=len(body)) == body
    assert await read_capped(_chunks(gzip.compress(body)), limit=len(body), encoding="gzip") == body
    assert await read_capped(_chunks(zlib.compress(body)), limit=len(body), encoding="deflate") == body
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(body) + raw.flush()
    assert await read_capped(_chunks(raw_deflate), limit=len(body), encoding="Deflate") == body


async def test_read_capped_stops_at_the_cap_before_reading_everything() -> None:
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 1
            yield b"x" * 65536

    with pytest.raises(BodyTooLarge):
        await read_capped(endless(), limit=1_000_000)
    assert consumed == 16  # 16 chunks of 64 KiB: the first one past 1 MB


async def test_a_gzip_bomb_is_stopped_at_the_decompressed_cap() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(BodyTooLarge, match="decompressed"):
        await read_capped(_chunks(bomb), limit=1_000_000, encoding="gzip")
    with pytest.raises(BodyTooLarge):
        gunzip_capped(bomb, 1_000_000)


async def test_unasked_encodings_and_corrupt_data_are_refused() -> None:
    with pytest.raises(BadEncoding, match="br"):
        await read_capped(_chunks(b"abc"), limit=100, encoding="br")
    with pytest.raises(BadEncoding):
        await read_capped(_chunks(b"not gzip at all"), limit=100, encoding="gzip")


def test_gunzip_handles_concatenated_members_and_zero_padding() -> None:
    data = gzip.compress(b"<urlset>") + gzip.compress(b"</urlset>") + b"\0" * 8
    assert gunzip_capped(data, 100) == b"<urlset></urlset>"


def test_inflater_allows_exactly_the_limit() -> None:
    body = b"a" * 1000
    assert BoundedInflater(1000).feed(gzip.compress(body)) == body
    with pytest.raises(BodyTooLarge):
        BoundedInflater(999).feed(gzip.compress(body))


def test_decode_body_decodes_later_what_read_capped_decodes_while_reading() -> None:
    body = b"<p>hello</p>" * 1000
    assert decode_body(body, "", 10) == body  # not encoded: as is, whatever its size (capped when read)
    assert decode_body(gzip.compress(body), "gzip", len(body)) == body
    assert decode_body(zlib.compress(body), "deflate", len(body)) == body
    with pytest.raises(BodyTooLarge):
        decode_body(gzip.compress(body), "gzip", len(body) - 1)
    with pytest.raises(BodyTooLarge, match="decompressed"):
        decode_body(gzip.compress(b"\0" * 50_000_000, compresslevel=9), "x-gzip", 1_000_000)
    with pytest.raises(BadEncoding, match="br"):
        decode_body(body, "br", 10**6)
    with pytest.raises(BadEncoding):
        decode_body(b"not gzip at all", "gzip", 100)
