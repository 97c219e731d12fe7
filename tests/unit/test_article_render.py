"""Model output rendered for the order page: Markdown becomes HTML, nothing in it can run."""

from __future__ import annotations

import uuid

from actors.kinds.article.render import markdown_to_html, version_html


def test_markdown_becomes_html_with_safe_links() -> None:
    html = markdown_to_html("# Title\n\n## Part\n\nSee [the shop](https://shop.test/x) and **this**.\n")
    assert "<h1>Title</h1>" in html and "<h2>Part</h2>" in html
    assert '<a href="https://shop.test/x" rel="nofollow noopener">the shop</a>' in html
    assert "<strong>this</strong>" in html


def test_raw_html_and_script_urls_from_the_model_are_inert() -> None:
    evil = (
        "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[click](javascript:alert(3)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:msgbox)\n\n"
        '<a href="https://x.test" onclick="alert(4)">a</a>'
    )
    html = markdown_to_html(evil)
    assert "<script" not in html and "<img" not in html and '<a href="https://x.test"' not in html
    assert "javascript:" not in html.replace("[click](javascript:alert(3))", "")
    assert 'href="javascript' not in html and 'href="data:' not in html and 'href="vbscript' not in html
    assert "&lt;script&gt;" in html


def test_a_versions_html_is_rendered_once_and_never_served_for_other_text() -> None:
    # Given a version shown once
    version_id = uuid.uuid4()
    first = version_html(version_id, "# One\n\nText.\n")
    hits = version_html.cache_info().hits
    # When it is shown again, and an id is shown with other text (never the case for stored versions)
    again = version_html(version_id, "# One\n\nText.\n")
    other = version_html(version_id, "# Two\n")
    # Then the second look is the cached HTML, and other text gets its own
    assert again is first and version_html.cache_info().hits == hits + 1
    assert first == markdown_to_html("# One\n\nText.\n") and other == markdown_to_html("# Two\n")
