"""What the language-model providers are asked, and how their answers are read back.

A describe prompt covers one batch of pages and asks for a JSON object ``{url: description}``. Models
answer in many near-misses of that shape (fenced in Markdown, wrapped in ``{"descriptions": ...}``, a
list of ``{"url", "description"}`` objects, keys without the trailing slash), so `parse_descriptions`
accepts all of those and keeps only URLs of the batch. Page text is untrusted input: whatever a model
answers is cut to one short line, so the worst a hostile page can do is describe itself badly.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import msgspec

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.providers.base import BAD_RESPONSE, ProviderCallError
from actors.kinds.llms_txt.providers.extractive import home_page
from actors.kinds.llms_txt.titles import one_line, shorten

# Models overshoot a requested length; anything longer is cut here at a word boundary.
ANSWER_CHARS = 200
SUMMARY_CHARS = 600
SUMMARY_PAGES = 25
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_WRAPPER_KEYS = ("descriptions", "pages", "results", "items", "data")

DESCRIBE_INSTRUCTIONS = """\
You write the page list of an llms.txt file: an index that helps language models find the right page.
For each page below, write ONE factual sentence of at most 150 characters saying what a reader finds there.
Be specific; no marketing words; do not start with "This page" or repeat the title.
Answer with ONLY a JSON object. Its keys are the page URLs exactly as given; its values are the descriptions.
"""

SUMMARY_INSTRUCTIONS = """\
Write the summary line of the llms.txt file of the website "{site}": ONE paragraph of two or three
factual sentences (at most 400 characters) saying what the site is, who it is for and what it offers.
Answer with the paragraph only: no heading, no quotes, no Markdown.
"""


def page_excerpt(page: PageInfo, chars: int) -> str:
    """The start of a page's content as one line, links reduced to their text (URLs cost tokens, say little)."""
    return shorten(one_line(_MARKDOWN_LINK.sub(r"\1", page.markdown[: chars * 2])), chars)


def build_describe_prompt(pages: list[PageInfo], excerpt_chars: int) -> str:
    """The prompt asking for one description per page of the batch."""
    blocks = [DESCRIBE_INSTRUCTIONS]
    for number, page in enumerate(pages, 1):
        lines = [f"Page {number}", f"URL: {page.url}", f"Title: {one_line(page.title)}"]
        if page.description:
            lines.append(f"Meta description: {shorten(one_line(page.description), 300)}")
        if excerpt := page_excerpt(page, excerpt_chars):
            lines.append(f"Content: {excerpt}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def build_summary_prompt(
    site_name: str, pages: list[PageInfo], excerpt_chars: int, home: PageInfo | None = None
) -> str:
    """The prompt asking for the site's one-paragraph summary, from the home page and the first pages."""
    home = home or home_page(pages)
    lines = [SUMMARY_INSTRUCTIONS.format(site=one_line(site_name))]
    if home is not None:
        lines.append(f"Home page: {home.url}\nTitle: {one_line(home.title)}")
        if home.description:
            lines.append(f"Description: {one_line(home.description)}")
        if excerpt := page_excerpt(home, excerpt_chars):
            lines.append(f"Content: {excerpt}")
    others = [page for page in pages if page is not home][:SUMMARY_PAGES]
    if others:
        lines.append("Other pages:")
        lines.extend(f"- {one_line(p.title) or p.url}: {shorten(one_line(p.description or ''), 150)}" for p in others)
    return "\n".join(lines)


def clean_answer(text: str, limit: int) -> str:
    """One line without wrapping quotes or Markdown emphasis, cut to ``limit`` characters."""
    text = one_line(text).strip("\"'`*").strip()
    return shorten(text, limit)


def parse_descriptions(text: str, urls: list[str]) -> dict[str, str]:
    """Read a model's answer into ``{url: description}`` for the URLs of the batch.

    Args:
        text: The model's answer.
        urls: The batch's URLs in prompt order ("Page N" and "N" keys map to the N-th).

    Returns:
        Non-empty descriptions for the URLs the answer covered (possibly none of them).

    Raises:
        ProviderCallError: (``bad_response``) the answer holds no JSON object or list.
    """
    data = _decode_json(text)
    pairs = _pairs(data)
    exact = set(urls)
    by_key = {_url_key(url): url for url in urls}
    found: dict[str, str] = {}
    for key, value in pairs:
        url = key.strip() if key.strip() in exact else by_key.get(_url_key(key)) or _by_number(key, urls)
        if url is not None and url not in found and (description := clean_answer(value, ANSWER_CHARS)):
            found[url] = description
    return found


def _decode_json(text: str) -> object:
    candidates = [text.strip()]
    if fenced := _FENCED.search(text):
        candidates.append(fenced.group(1).strip())
    # Prose around the JSON ("Here are the descriptions: {...}"): take the outermost braces.
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            data: object = msgspec.json.decode(candidate)
        except msgspec.DecodeError:
            continue
        if isinstance(data, dict | list):
            return data
    raise ProviderCallError(BAD_RESPONSE, "the answer holds no JSON object")


def _pairs(data: object) -> list[tuple[str, str]]:
    if isinstance(data, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(inner := data.get(key), dict | list):
                return _pairs(inner)
        return [(str(k), _text(v)) for k, v in data.items()]
    if isinstance(data, list):
        pairs = []
        for number, item in enumerate(data, 1):
            if isinstance(item, dict):
                key = item.get("url") or item.get("page") or str(number)
                pairs.append((str(key), _text(item)))
        return pairs
    return []


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("description") or value.get("summary") or ""
        return inner if isinstance(inner, str) else ""
    return ""


def _url_key(url: str) -> str:
    # Models drop trailing slashes and change case of scheme/host; the path's case is kept (it matters).
    parts = urlsplit(url.strip().strip("<>"))
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def _by_number(key: str, urls: list[str]) -> str | None:
    digits = key.lower().removeprefix("page").strip()
    if digits.isdecimal() and 1 <= int(digits) <= len(urls):
        return urls[int(digits) - 1]
    return None
