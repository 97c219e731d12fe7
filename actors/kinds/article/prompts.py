"""The prompts the model gets: a new article, a backlink placed in an existing article, a revision.

The article is written in the domain's language. The brief is a list of ``Label: value`` lines, so the
model (and the tests' fake model) reads every requirement in one place; a failed quality check's problems
are appended for the next attempt.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

LANGUAGES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese"}

SYSTEM = (
    "You are a professional web editor. You write original, factual articles in Markdown for a publisher's "
    "website. Answer with the article only: no preamble, no notes to the editor, no code fences. Start with "
    "the title as a level-1 heading (# Title) and organise the text in sections with level-2 headings (## ). "
    "Never write placeholders, never mention that you are an AI."
)


class InternalLink(msgspec.Struct, frozen=True):
    title: str
    url: str


class Brief(msgspec.Struct, frozen=True):
    """Everything the model must respect, as the order and the catalog say it."""

    language: str
    hostname: str
    target_url: str
    anchor_text: str
    topic: str = ""
    niche: str = ""
    keyword: str = ""
    notes: str = ""
    min_words: int = 800
    max_words: int = 2000
    allow_external_links: bool = False
    internal_links: tuple[InternalLink, ...] = ()


def language_name(code: str) -> str:
    return LANGUAGES.get(code.lower(), code)


def _requirements(brief: Brief) -> list[str]:
    lines = [
        f"Language: {language_name(brief.language)}",
        f"Website: {brief.hostname}",
        f"Target URL: {brief.target_url}",
        f"Anchor text: {brief.anchor_text}",
        f"Word count: between {brief.min_words} and {brief.max_words} words",
        "Backlink rule: link to the target URL exactly once, as the Markdown link "
        f"[{brief.anchor_text}]({brief.target_url}), with exactly that anchor text.",
    ]
    if brief.keyword:
        lines.append(f"Keyword: {brief.keyword} (use it in the title or the first paragraph)")
    if brief.niche:
        lines.append(f"Niche: {brief.niche}")
    if brief.internal_links:
        lines.append("Internal links (link to some of these where relevant, and to no other page of the site):")
        lines.extend(f"- {link.title}: {link.url}" for link in brief.internal_links)
    else:
        lines.append("Internal links: none (do not link to other pages of the site).")
    if not brief.allow_external_links:
        lines.append("External links: none other than the target URL.")
    if brief.notes:
        lines.append(f"Customer notes: {brief.notes}")
    return lines


def _feedback(problems: Sequence[str]) -> str:
    if not problems:
        return ""
    listed = "\n".join(f"- {p}" for p in problems)
    return f"\n\nYour previous attempt failed the quality check. Fix every point:\n{listed}"


def article_prompt(brief: Brief, problems: Sequence[str] = ()) -> str:
    """A new article on ``brief.topic``."""
    head = f"Task: write a new article.\nTopic: {brief.topic}"
    return head + "\n" + "\n".join(_requirements(brief)) + _feedback(problems)


def backlink_prompt(brief: Brief, article_title: str, article_markdown: str, problems: Sequence[str] = ()) -> str:
    """The existing article with the customer's backlink woven in naturally (the rest kept as it is)."""
    head = (
        "Task: integrate a backlink into the existing article below. Keep its title, structure and facts; add "
        "or adapt one or two sentences so the link reads naturally."
    )
    return (
        head
        + "\n"
        + "\n".join(_requirements(brief))
        + _feedback(problems)
        + f"\n\nExisting article ({article_title}):\n\n{article_markdown}"
    )


def revision_prompt(brief: Brief, current_markdown: str, revision_notes: str, problems: Sequence[str] = ()) -> str:
    """The current version revised as the notes ask, every requirement still met."""
    head = "Task: revise the article below as the reviewer asks, keeping every requirement."
    return (
        head
        + "\n"
        + "\n".join(_requirements(brief))
        + f"\nRevision notes: {revision_notes}"
        + _feedback(problems)
        + f"\n\nCurrent article:\n\n{current_markdown}"
    )


def clean_answer(text: str) -> str:
    """The article without a code fence some models wrap it in."""
    stripped = text.strip()
    if stripped.startswith("```"):
        lines = stripped.splitlines()[1:]
        if lines and lines[-1].strip().startswith("```"):
            lines = lines[:-1]
        stripped = "\n".join(lines).strip()
    return stripped + "\n"
