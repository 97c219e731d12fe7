"""The article quality check: one rule at a time, on texts that break only that rule."""

from __future__ import annotations

import pytest

from actors.kinds.article.quality import QcRules, check_quality, count_words, first_paragraph, title_of

TARGET = "https://shop.test/green-tea"
ANCHOR = "green tea shop"
RULES = QcRules(
    target_url=TARGET,
    anchor_text=ANCHOR,
    domain_host="blog.example.com",
    catalog_urls=frozenset({"https://blog.example.com/history", "https://blog.example.com/brewing/"}),
    keyword="green tea",
    min_words=50,
    max_words=400,
)
FILLER = " ".join(["Tea leaves need care, patience and water at the right temperature."] * 6)


def article(
    *,
    title: str = "# Green tea for beginners",
    intro: str = f"Green tea is easy to enjoy. Buy it at a [{ANCHOR}]({TARGET}) near you.",
    body: str = FILLER,
    extra: str = "",
) -> str:
    return (
        f"{title}\n\n{intro}\n\n## Brewing\n\n{body}\n\nRead [our history](https://blog.example.com/history).{extra}\n"
    )


def codes(markdown: str, rules: QcRules = RULES) -> list[str]:
    return [p.code for p in check_quality(markdown, rules).problems]


def test_a_good_article_passes_with_its_facts() -> None:
    report = check_quality(article(), RULES)
    assert report.passed, report.problems
    assert report.title == "Green tea for beginners"
    assert report.backlinks == 1
    assert report.internal_links == 1
    assert report.external_links == 0
    assert RULES.min_words <= report.word_count <= RULES.max_words


@pytest.mark.parametrize(
    ("intro", "why"),
    [
        ("Green tea is easy to enjoy.", "missing"),
        (f"Green tea is easy. Visit the [tea shop]({TARGET}).", "another anchor text"),
        (f"Green tea. [{ANCHOR}]({TARGET}) and again [{ANCHOR}]({TARGET}).", "twice"),
        (f"Green tea. [{ANCHOR}]({TARGET}/) here.", "another URL (trailing slash)"),
        (f"Green tea. [{ANCHOR}]({TARGET}) and the bare {TARGET} too.", "once as a link and once bare"),
        (f"Green tea. [{ANCHOR.upper()}]({TARGET}).", "anchor text in other case"),
    ],
)
def test_the_backlink_must_appear_exactly_once_with_the_exact_anchor_and_url(intro: str, why: str) -> None:
    assert "backlink" in codes(article(intro=intro)), why


def test_the_keyword_may_be_in_the_title_or_the_first_paragraph_only() -> None:
    in_title = article(title="# Green tea basics", intro=f"Tea is easy. Buy it at [{ANCHOR}]({TARGET}).")
    assert "keyword" not in codes(in_title)
    # (The anchor text holds the keyword too, so the backlink goes further down here.)
    linked = f"{FILLER} Buy it at [{ANCHOR}]({TARGET})."
    nowhere = article(title="# Tea basics", intro="Tea is easy.", body=linked)
    assert codes(nowhere) == ["keyword"]
    later = article(title="# Tea basics", intro="Tea is easy.", body=linked + " Try green tea.")
    assert codes(later) == ["keyword"]
    in_intro = article(title="# Tea basics", intro="Green Tea is easy.", body=linked)
    assert codes(in_intro) == []


def test_the_word_count_must_be_within_the_range() -> None:
    assert "word_count" in codes(article(body="Short."))
    assert "word_count" in codes(article(body=FILLER * 10))
    # Link targets and Markdown marks are not words.
    assert count_words(f"**Bold** [two words](https://a.example/{'x' * 50}) ## three") == 4


def test_at_least_one_h2_and_a_title_are_needed() -> None:
    no_h2 = article().replace("## Brewing", "Brewing")
    assert "headings" in codes(no_h2)
    no_title = article(title="Green tea for beginners")
    assert "title" in codes(no_title)
    assert title_of("## Not a title\n\n# The title\n") == "The title"
    assert first_paragraph("# Title\n\n## Section\n\nFirst words.\n\nSecond.") == "First words."


def test_internal_links_only_to_the_catalog() -> None:
    wrong = article(extra=" See [prices](https://www.blog.example.com/prices).")
    assert "internal_links" in codes(wrong)
    # A catalog URL matches without its trailing slash or fragment.
    right = article(extra=" See [brewing](https://blog.example.com/brewing#steps).")
    assert "internal_links" not in codes(right)


@pytest.mark.parametrize(
    "leftover", ["As an AI language model, I", "[Insert statistic here]", "Lorem ipsum dolor", "{{ keyword }}"]
)
def test_leftover_placeholders_or_prompt_text_fail(leftover: str) -> None:
    assert "leftovers" in codes(article(extra=f" {leftover}."))


def test_other_external_links_fail_unless_the_order_allows_them() -> None:
    text = article(extra=" Source: [a study](https://research.example.org/tea) and <https://other.example/x>.")
    assert "external_links" in codes(text)
    allowed = QcRules(**{**{f: getattr(RULES, f) for f in RULES.__struct_fields__}, "allow_external_links": True})
    assert "external_links" not in codes(text, allowed)


def test_images_are_not_links_and_every_problem_speaks_to_the_writer() -> None:
    image = article(extra=" ![chart](https://cdn.example/chart.png)")
    assert "external_links" not in codes(image)
    report = check_quality("Nothing useful here.", RULES)
    assert not report.passed
    assert {p.code for p in report.problems} >= {"backlink", "title", "word_count", "headings"}
    assert all(p.message.endswith(".") and ANCHOR in p.message for p in report.problems if p.code == "backlink")
