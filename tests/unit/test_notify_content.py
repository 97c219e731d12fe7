"""Notification texts in English and Spanish: status in words, the link, the error in plain words."""

from __future__ import annotations

import pytest

from actors.notify.content import EVENTS, JobFacts, plain_error, render

PUBLIC = "https://jobs.example.com"


def facts(**changes: object) -> JobFacts:
    base: dict[str, object] = {
        "id": "5b7c",
        "kind": "llms_txt",
        "title": "example.com",
        "status": "succeeded",
        "error": None,
        "tracking_url": None,
        "message_to_user": None,
    }
    return JobFacts(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("locale", "subject", "words"),
    [("en", "Ready: example.com", "is ready"), ("es", "Listo: example.com", "está listo")],
)
def test_success_says_ready_in_the_users_language_and_links_to_the_job(locale: str, subject: str, words: str) -> None:
    r = render(facts(), "succeeded", locale, PUBLIC)
    assert r.subject == subject
    for text in (r.text, r.html, r.short):
        assert words in text
        assert f"{PUBLIC}/generations/5b7c" in text


@pytest.mark.parametrize(("locale", "words"), [("en", "What went wrong"), ("es", "Qué salió mal")])
def test_failure_gives_the_error_in_plain_words(locale: str, words: str) -> None:
    r = render(
        facts(status="failed", error="RuntimeError: the site answered 500\ntraceback…"), "failed", locale, PUBLIC
    )
    assert f"{words}: the site answered 500." in r.text
    assert "RuntimeError" not in r.text + r.html + r.short
    assert "traceback" not in r.text


def test_timed_out_and_message_to_user_have_their_own_words() -> None:
    assert "took longer than allowed" in render(facts(status="timed_out"), "timed_out", "en", PUBLIC).short
    assert "tardó más de lo permitido" in render(facts(status="timed_out"), "timed_out", "es", PUBLIC).short
    r = render(facts(message_to_user="Building your site now."), "message_to_user", "es", PUBLIC)
    assert r.short.startswith("Building your site now.")
    assert "Síguelo aquí" in r.short


def test_a_tracking_url_from_the_result_replaces_the_job_page() -> None:
    r = render(facts(kind="website", tracking_url="https://gen.example/p/42"), "succeeded", "en", PUBLIC)
    assert "https://gen.example/p/42" in r.short
    assert "/generations/" not in r.text
    assert "website" in r.short


def test_html_escapes_what_the_user_wrote_but_text_keeps_it() -> None:
    r = render(facts(title="<script>x</script>"), "succeeded", "en", PUBLIC)
    assert "<script>" not in r.html
    assert "&lt;script&gt;" in r.html
    assert "<script>x</script>" in r.text


def test_every_event_renders_in_every_locale_and_unknown_ones_are_refused() -> None:
    for event in EVENTS:
        for locale in ("en", "es", "fr"):
            assert render(facts(message_to_user="hi"), event, locale, PUBLIC).subject
    with pytest.raises(ValueError, match="unknown notification event"):
        render(facts(), "cancelled", "en", PUBLIC)


def test_plain_error_without_an_error_still_says_something() -> None:
    assert plain_error(None, "en") == "the job could not be completed."
    assert plain_error("x" * 1000, "en").endswith("…")
