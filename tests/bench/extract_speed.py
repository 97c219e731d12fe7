"""Extraction speed: ms per page for ``extract_page`` on a realistic 14 KB documentation page.

Figures, not pass/fail. The goal (about 1.5 ms a page) comes from ARCHITECTURE.md's per-page costs
(selectolax 0.1 ms + html-to-markdown 0.7 ms). Baselines measured in the same run:

- ``selectolax_parse``: parsing alone, the floor for anything that reads the DOM;
- ``h2m_whole_page``: html-to-markdown on the whole document with metadata extraction, i.e. the
  "no selectolax" alternative (it cannot pick the main content or drop site chrome on its own);
- ``h2m_main_only``: html-to-markdown (its own choice of converter, Tier 2) on the main-content fragment;
- ``h2m_main_only_tier1``: the same with our options and the Tier 1 scanner: what ``extract_page`` pays.

Also measured: ``manual_pages_ms``, the mean over pages of the generated manual
(``tests.support.testsite.manual``: DocBook-style pages without ``<main>``, real-world sizes with a tail up
to 500 KB), which the synthetic page is too light to show.

Run: ``python -m tests.bench.extract_speed [--quick]``.
"""

from __future__ import annotations

import dataclasses
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from html_to_markdown import ConversionOptions, convert
from selectolax.lexbor import LexborHTMLParser

from actors.kinds.llms_txt.extract import extract_page
from actors.kinds.llms_txt.markdown import conversion_options as markdown_options
from tests.support.testsite.manual import build_manual_site

URL = "https://docs.example.com/docs/guides/getting-started"
_WORDS = (
    "the", "service", "turns", "a", "website", "into", "text", "that", "language", "models", "read", "quickly",
    "while", "keeping", "links", "sections", "headings", "code", "examples", "and", "tables", "intact", "so",
    "agents", "find", "answers", "without", "crawling", "pages",
)  # fmt: skip


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def realistic_page(target_bytes: int = 14_000, seed: int = 7) -> str:
    """A documentation page shaped like real ones: head metadata, scripts, nav, banner, article, aside, footer."""
    rng = random.Random(seed)
    nav = "".join(f'<li><a href="/docs/section-{i}/">Section {i}</a></li>' for i in range(25))
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Getting started | Example Docs</title>"
        '<meta name="description" content="Install the tool, create a project and run your first job.">'
        '<meta property="og:title" content="Getting started"><link rel="stylesheet" href="/assets/site.css">'
        "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}</script>"
        "<style>body{margin:0;font-family:sans-serif}.nav a{color:#333}.hero{padding:2rem}</style></head>"
    )
    chrome_top = (
        f'<body><header class="site-header"><a href="/"><img src="/logo.svg" alt="Example"></a>'
        f'<nav class="nav"><ul>{nav}</ul></nav><form action="/search"><input name="q"></form></header>'
        '<div class="cookie-banner"><p>We use cookies to improve your experience. Accept?</p><button>OK</button></div>'
    )
    chrome_bottom = (
        '<aside class="toc"><h3>On this page</h3><ul>'
        + "".join(f'<li><a href="#s{i}">Part {i}</a></li>' for i in range(8))
        + '</ul></aside><footer><p>&copy; 2025 Example Inc.</p><a href="/privacy">Privacy</a> '
        '<a href="/terms">Terms</a></footer><script src="/assets/app.js" defer></script></body></html>'
    )
    body: list[str] = ['<main><article><h1 id="top">Getting started</h1>']
    size = len(head) + len(chrome_top) + len(chrome_bottom) + 30
    part = 0
    while size < target_bytes:
        block = [f'<h2 id="s{part}">Step {part}: {_sentence(rng, 3)}</h2>']
        for _ in range(2):
            block.append(
                f'<p>{_sentence(rng, 22)} See <a href="/docs/reference/item-{part}">the reference</a> and '
                f"<code>run_job()</code>. <strong>{_sentence(rng, 5)}</strong> {_sentence(rng, 14)}</p>"
            )
        block.append("<ul>" + "".join(f"<li>{_sentence(rng, 7)}</li>" for _ in range(4)) + "</ul>")
        if part % 2 == 0:
            block.append(
                '<pre><code class="language-python">import example\n\njob = example.start("site")\n'
                "print(job.result())\n</code></pre>"
            )
        if part % 3 == 1:
            rows = "".join(f"<tr><td>opt_{i}</td><td>{_sentence(rng, 6)}</td></tr>" for i in range(4))
            block.append(f"<table><thead><tr><th>Option</th><th>Meaning</th></tr></thead><tbody>{rows}</tbody></table>")
        text = "".join(block)
        body.append(text)
        size += len(text)
        part += 1
    body.append("</article></main>")
    return head + chrome_top + "".join(body) + chrome_bottom


def _mean_ms(pages: list[tuple[str, bytes]]) -> float:
    """Mean ms per page of ``extract_page`` over ``pages`` (each once, after one warm-up pass)."""
    for url, body in pages[:20]:
        extract_page(url, body)
    started = time.perf_counter()
    for url, body in pages:
        extract_page(url, body)
    return (time.perf_counter() - started) * 1000 / len(pages)


def _ms_per_call(fn: Callable[[], object], repeat: int, rounds: int) -> float:
    """Median over rounds of the mean ms per call: the median damps a noisy shared machine."""
    fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        samples.append((time.perf_counter() - started) * 1000 / repeat)
    return statistics.median(samples)


def _manual_pages(count: int) -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="genjobs-manual-") as root:
        spec = build_manual_site(Path(root), pages=count)
        return [("https://quill.example" + path, (Path(root) / path.lstrip("/")).read_bytes()) for path in spec.pages]


def run(quick: bool) -> dict[str, object]:
    """Measure and return the figures (ms per page and the page size)."""
    html = realistic_page()
    repeat, rounds = (200, 3) if quick else (2000, 7)
    fragment = LexborHTMLParser(html).css_first("main")
    fragment_html = (fragment.html if fragment is not None else None) or ""
    fragment_options = ConversionOptions(extract_metadata=False, skip_images=True, compact_tables=True, base_url=URL)
    # What ``extract_page`` asks for: the same options with the Tier 1 scanner (see ``markdown``).
    tier1_options = dataclasses.replace(markdown_options(), base_url=URL)
    figures: dict[str, object] = {
        "page_bytes": len(html.encode()),
        "extract_page_ms": _ms_per_call(lambda: extract_page(URL, html), repeat, rounds),
        "extract_page_bytes_input_ms": _ms_per_call(lambda: extract_page(URL, html.encode()), repeat, rounds),
        "selectolax_parse_ms": _ms_per_call(lambda: LexborHTMLParser(html), repeat, rounds),
        "h2m_whole_page_ms": _ms_per_call(lambda: convert(html), repeat, rounds),
        "h2m_main_only_ms": _ms_per_call(lambda: convert(fragment_html, fragment_options), repeat, rounds),
        "h2m_main_only_tier1_ms": _ms_per_call(lambda: convert(fragment_html, tier1_options), repeat, rounds),
        "goal_ms": 1.5,
        "manual_pages_ms": _mean_ms(_manual_pages(120 if quick else 600)),
        "quick": quick,
    }
    extract_ms = figures["extract_page_ms"]
    assert isinstance(extract_ms, float)
    figures["pages_per_second"] = round(1000 / extract_ms)
    figures["goal_met"] = None if quick else extract_ms <= 1.5
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


if __name__ == "__main__":
    result = run("--quick" in sys.argv[1:])
    for key, value in result.items():
        print(f"{key:<30} {value}")
    print(json.dumps(result))
