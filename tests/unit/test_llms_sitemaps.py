"""Sitemap parsing: urlset, sitemapindex, text; XXE-safe; tolerant of bad namespaces and broken XML."""

from __future__ import annotations

import time

from actors.kinds.llms_txt.sitemaps import parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def test_urlset_locs_in_order_without_extension_locs() -> None:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset {NS} xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://example.com/a </loc><lastmod>2024-01-01</lastmod>
       <image:image><image:loc>https://example.com/a.png</image:loc></image:image></url>
  <url><loc>https://example.com/b?x=1&amp;y=2</loc></url>
  <url><loc><![CDATA[https://example.com/c]]></loc></url>
  <url><loc></loc></url>
</urlset>""".encode()
    parsed = parse_sitemap(body)
    assert parsed.kind == "urlset"
    assert parsed.locs == ["https://example.com/a", "https://example.com/b?x=1&y=2", "https://example.com/c"]


def test_sitemapindex_and_missing_or_wrong_namespace() -> None:
    index = b"<sitemapindex><sitemap><loc>https://example.com/s1.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index).kind == "sitemapindex"
    assert parse_sitemap(index).locs == ["https://example.com/s1.xml"]
    odd = b'<urlset xmlns="http://www.google.com/schemas/sitemap/0.84"><url><loc>https://e.com/</loc></url></urlset>'
    assert parse_sitemap(odd).locs == ["https://e.com/"]


def test_external_entities_are_not_resolved() -> None:
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://127.0.0.1:9/x">]>
<urlset {NS}><url><loc>https://example.com/&xxe;</loc></url><url><loc>https://example.com/&remote;</loc></url></urlset>
""".encode()
    parsed = parse_sitemap(xxe)
    assert parsed.locs == ["https://example.com/", "https://example.com/"]
    assert not any("root:" in loc for loc in parsed.locs)


def test_billion_laughs_is_not_expanded() -> None:
    entities = '<!ENTITY a "' + "x" * 100 + '">'
    for level in range(1, 10):
        entities += f'<!ENTITY {chr(97 + level)} "' + f"&{chr(96 + level)};" * 10 + '">'
    bomb = f'<?xml version="1.0"?><!DOCTYPE urlset [{entities}]><urlset {NS}><url><loc>https://e.com/&j;</loc></url></urlset>'
    started = time.monotonic()
    parsed = parse_sitemap(bomb.encode())
    assert time.monotonic() - started < 1
    assert all(len(loc) < 100 for loc in parsed.locs)


def test_text_sitemaps_and_non_sitemaps() -> None:
    text = b"\xef\xbb\xbfhttps://example.com/a\n\n  https://example.com/b  \nnot a url\n"
    assert parse_sitemap(text).kind == "text"
    assert parse_sitemap(text).locs == ["https://example.com/a", "https://example.com/b"]
    html = b"<!DOCTYPE html><html><body><a href='https://example.com/'>x</a></body></html>"
    assert parse_sitemap(html).kind == "other"
    assert parse_sitemap(b"").kind == "other"


def test_broken_xml_keeps_the_locs_read_before_the_break() -> None:
    broken = f"<urlset {NS}><url><loc>https://e.com/1</loc></url><url><loc>https://e.com/2</loc></url><url><lo".encode()
    assert parse_sitemap(broken).locs == ["https://e.com/1", "https://e.com/2"]


def test_locs_are_capped_per_file() -> None:
    body = f"<urlset {NS}>" + "".join(f"<url><loc>https://e.com/{i}</loc></url>" for i in range(100)) + "</urlset>"
    parsed = parse_sitemap(body.encode(), max_locs=10)
    assert len(parsed.locs) == 10
    assert parsed.truncated
