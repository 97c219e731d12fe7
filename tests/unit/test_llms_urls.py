"""URL normalization, same-site tests, path globs and link extraction for the crawl."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from actors.kinds.llms_txt.links import extract_links, looks_like_page
from actors.kinds.llms_txt.urls import (
    LinkResolver,
    matches_globs,
    normalize,
    normalize_parsed,
    remove_dot_segments,
    same_site,
)


@pytest.mark.parametrize(
    ("url", "normalized"),
    [
        ("HTTPS://Example.COM/Docs/", "https://example.com/Docs/"),  # the path keeps its case
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/a/./b/../c/", "https://example.com/a/c/"),
        ("https://example.com/../../x", "https://example.com/x"),
        ("https://example.com/a/..", "https://example.com/"),
        ("https://example.com/a b/ü", "https://example.com/a%20b/%C3%BC"),
        ("https://example.com/a%2fb%7e", "https://example.com/a%2Fb%7E"),
        ("https://example.com/s?b=2&a=1", "https://example.com/s?b=2&a=1"),  # query order kept
        ("https://example.com/s?q=a b", "https://example.com/s?q=a%20b"),
        ("https://example.com/s?", "https://example.com/s"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com./a", "https://example.com/a"),
        ("http://[2606:4700::1]:80/", "http://[2606:4700::1]/"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
    ],
)
def test_normalize_gives_one_spelling_per_page(url: str, normalized: str) -> None:
    assert normalize(url) == normalized


@pytest.mark.parametrize(
    "url",
    [
        "mailto:someone@example.com",
        "javascript:void(0)",
        "ftp://example.com/file",
        "/relative/only",
        "https://",
        "https://user:pw@example.com/",
        "https://example.com:99999/",
        "https://exa mple.com/",
        "https://-bad-.example.com/",
    ],
)
def test_normalize_refuses_what_cannot_be_crawled(url: str) -> None:
    assert normalize(url) is None


def test_normalize_is_idempotent() -> None:
    for url in ["https://Example.com/a b/./c?x=1#f", "http://bücher.example:8080/%7euser/"]:
        once = normalize(url)
        assert once is not None
        assert normalize(once) == once


@pytest.mark.parametrize(
    ("path", "resolved"),
    [("/a/b/c/./../../g", "/a/g"), ("/./a", "/a"), ("/a/b/..", "/a/"), ("/..", "/"), ("/a//b", "/a//b")],
)
def test_remove_dot_segments_follows_rfc_3986(path: str, resolved: str) -> None:
    assert remove_dot_segments(path) == resolved


@pytest.mark.parametrize(
    ("url", "base", "same"),
    [
        ("https://example.com/docs/", "https://example.com/", True),
        ("http://example.com/docs/", "https://example.com/", True),
        ("https://www.example.com/docs/", "https://example.com/", True),
        ("https://example.com/", "https://www.example.com/", True),
        ("https://EXAMPLE.com/", "https://example.com/", True),
        ("https://example.com:443/", "https://example.com/", True),
        ("https://docs.example.com/", "https://example.com/", False),
        ("https://example.org/", "https://example.com/", False),
        ("https://notexample.com/", "https://example.com/", False),
        ("http://127.0.0.1:8001/", "http://127.0.0.1:8002/", False),
        ("http://127.0.0.1:8001/a", "http://127.0.0.1:8001/", True),
        ("https://example.com:8443/", "https://example.com/", False),
        ("not a url", "https://example.com/", False),
    ],
)
def test_same_site_ignores_www_and_scheme_but_not_host_or_port(url: str, base: str, same: bool) -> None:
    assert same_site(url, base) is same


@pytest.mark.parametrize(
    ("path", "include", "exclude", "wanted"),
    [
        ("/docs/intro/", (), (), True),
        ("/docs/intro/", ("/docs/*",), (), True),
        ("/docs/a/b/c/", ("/docs/*",), (), True),  # * crosses /
        ("/docs", ("/docs/*",), (), False),
        ("/blog/2024/post/", ("/docs/*",), (), False),
        ("/blog/2024/post/", ("/docs/*", "/blog/2024/*"), (), True),
        ("/blog/2023/post/", (), ("/blog/2023/*",), False),
        ("/docs/internal/x/", ("/docs/*",), ("*/internal/*",), False),  # exclude wins
        ("/docs/intro/", ("docs/*",), (), True),  # a leading / is implied
        ("/Docs/intro/", ("/docs/*",), (), False),  # case-sensitive, like paths
        ("/file.html", ("*.html",), (), True),
        ("/api/v2/users", ("/api/v[12]/*",), (), True),
        ("/docs/x", "/docs/*", "", True),  # a single string is one pattern
    ],
)
def test_globs_match_the_path(path: str, include: tuple[str, ...], exclude: tuple[str, ...], wanted: bool) -> None:
    assert matches_globs(path, include, exclude) is wanted


PAGE = b"""<!DOCTYPE html><html><head><title>T</title></head><body>
<nav><a href="/">Home</a> <a href="/docs/">Docs</a></nav>
<a href="intro/">Relative</a> <a href="../up/">Up</a> <a href="https://other.example/x">Other</a>
<a href="#top">Fragment</a> <a href="mailto:a@b.c">Mail</a> <a href="javascript:void(0)">JS</a>
<a href="tel:+123">Tel</a> <a href="/secret/" rel="nofollow noopener">Nofollow</a> <a>No href</a>
<a href="  /spaced/  ">Spaced</a> <a href="">Empty</a> <a href="/docs/#frag">Frag</a>
<img src="/img.png"><link href="/style.css" rel="stylesheet"><script src="/app.js"></script>
</body></html>"""


def test_extract_links_takes_followable_anchors_only() -> None:
    links = extract_links(PAGE, "https://example.com/guide/page/")
    assert links == [
        "https://example.com/",
        "https://example.com/docs/",
        "https://example.com/guide/page/intro/",
        "https://example.com/guide/up/",
        "https://other.example/x",
        "https://example.com/spaced/",
        "https://example.com/docs/#frag",
    ]


def test_extract_links_honours_base_href_and_robots_nofollow() -> None:
    based = b'<html><head><base href="https://example.com/v2/"></head><body><a href="a">A</a></body></html>'
    assert extract_links(based, "https://example.com/other/") == ["https://example.com/v2/a"]
    nofollow = (
        b'<html><head><meta name="Robots" content="noindex, NOFOLLOW"></head><body><a href="/a">A</a></body></html>'
    )
    assert extract_links(nofollow, "https://example.com/") == []


@pytest.mark.parametrize(
    ("url", "page"),
    [
        ("https://example.com/docs/", True),
        ("https://example.com/docs/intro", True),
        ("https://example.com/docs/page.html", True),
        ("https://example.com/v1.2/guide", True),
        ("https://example.com/files/report.PDF", False),
        ("https://example.com/img/logo.png?v=2", False),
        ("https://example.com/archive.tar.gz", False),
        ("https://example.com/sitemap.xml", False),
    ],
)
def test_looks_like_page_skips_known_file_types(url: str, page: bool) -> None:
    assert looks_like_page(url) is page


@pytest.mark.parametrize(
    "url",
    [
        "http://Example.COM/a/b.html",
        "http://example.com:80/a",
        "https://example.com:443/a",
        "https://example.com:8443/a/b/",
        "http://127.0.0.1:8080/docs/index.html",
        "http://0127.0.0.1/x",
        "http://1.2.3/x",
        "http://example.com./x",
        "http://ex_ample.com/x",
        "http://-bad.com/x",
        "http://example.com:99999/x",
        "http://example.com:/x",
        "http://example.com:0080/x",
        "http://user@example.com/x",
        "http://example.com/a/./b/../c",
        "http://example.com/a/.hidden/x",
        "http://example.com/a%2fb",
        "http://example.com/a b",
        "http://example.com/caf\u00e9",
        "http://example.com/a?b=1",
        "http://example.com/a#top",
        "http://example.com",
        "http://b\u00fccher.example/x",
        "http://[::1]:8080/x",
        "HTTP://example.com/x",
        "http://example.com/a:b@c;d=e,f(g)*h+i!j$k&l'm~n_o.p-q",
        " http://example.com/x",
        "http://exa%41mple.com/x",
        "ftp://example.com/x",
    ],
)
def test_normalize_takes_the_fast_path_only_where_it_gives_the_same_spelling(url: str) -> None:
    assert normalize(url) == normalize_parsed(url)


_BASES = [
    "http://h/docs/index.html",
    "http://h",
    "http://h/",
    "http://h/a/./b.html",
    "http://h/a//b/c.html",
    "http://h/docs/x.html?y=1#z",
    "https://h:8443/a/b/",
    "http://h/a/b",
    "http://[::1]:8080/d/e",
    "http://h/a/b?x=/c/d",
]
_HREFS = [
    "ch01.html", "a/b.html", "x.html#f", "x.html?q#f", "a?x=1", "%20x", "é.html", "x y.html", "a\\b",
    "/abs/p", "/", "/x#y", "/a//b", "/a/../b", "/x?y=/./z", "//other/x", "http://o/x", "https://o/",
    "../x.html", "./x", ".", "..", "a/..", "a/.", "a//b", "a?b/../c", "a#b//c", "?q=1", "#frag",
    "c:d", "mailto:a@b", " sp", "\tx",
]  # fmt: skip


@pytest.mark.parametrize("base", _BASES)
def test_link_resolver_joins_exactly_as_urljoin(base: str) -> None:
    resolver = LinkResolver(base)
    assert [resolver.resolve(href) for href in _HREFS] == [urljoin(base, href) for href in _HREFS]
