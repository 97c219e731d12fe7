"""Description providers against fake Ollama and Gemini servers on 127.0.0.1 (no database needed)."""

from __future__ import annotations

import logging

import httpx
import pytest

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.providers import (
    DescribeResult,
    ExtractiveDescriber,
    GeminiConfig,
    OllamaConfig,
    ProviderConfigError,
    UnknownProviderError,
    make_describer,
)
from actors.kinds.llms_txt.providers.base import ProviderCallError
from actors.kinds.llms_txt.providers.extractive import extractive_description
from actors.kinds.llms_txt.providers.model_describer import MAX_CONSECUTIVE_FAILURES
from actors.kinds.llms_txt.providers.prompts import build_describe_prompt, parse_descriptions
from tests.support.fake_providers import (  # noqa: F401 (the *_fixture imports register the fixtures)
    GEMINI_TEST_KEY,
    FakeGemini,
    FakeOllama,
    fake_gemini_fixture,
    fake_ollama_fixture,
    http_client_fixture,
)
from tests.support.services import free_port


def make_pages(count: int, host: str = "https://site.test") -> list[PageInfo]:
    pages = [
        PageInfo(
            url=f"{host}/",
            title="Example Site",
            description="Example Site runs long generation jobs and streams their progress.",
            markdown="# Example Site\n\nWelcome.",
        )
    ]
    for i in range(1, count):
        pages.append(
            PageInfo(
                url=f"{host}/docs/page-{i}",
                title=f"Page {i} | Example Site",
                description=f"Extracted description of page {i}.",
                markdown=f"# Page {i}\n\nSome [content](https://site.test/x) about topic {i}.",
            )
        )
    return pages


def ollama_config(server: FakeOllama, **overrides: object) -> OllamaConfig:
    values: dict[str, object] = {"batch_size": 10, "timeout_seconds": 5, "retry_delay_seconds": 0, **overrides}
    return OllamaConfig(server.base_url, **values)  # type: ignore[arg-type]


def gemini_config(server: FakeGemini, **overrides: object) -> GeminiConfig:
    values: dict[str, object] = {"api_key": GEMINI_TEST_KEY, "timeout_seconds": 5, "retry_delay_seconds": 0}
    return GeminiConfig(server.base_url, **{**values, **overrides})  # type: ignore[arg-type]


def assert_all_model(result: DescribeResult, pages: list[PageInfo]) -> None:
    assert result.descriptions == {p.url: f"Model description of {p.url}" for p in pages}
    assert result.fallbacks == 0
    assert result.errors == {}


def assert_all_fallback(result: DescribeResult, pages: list[PageInfo]) -> None:
    assert result.descriptions == {p.url: extractive_description(p) for p in pages}
    assert result.fallbacks == len(pages)


# --- Ollama -------------------------------------------------------------------------------------------


async def test_ollama_describes_pages_in_batches(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    # Given 25 pages and batches of 10
    pages = make_pages(25)
    describer = make_describer("ollama", http_client, ollama_config(fake_ollama), GeminiConfig())
    progress: list[tuple[int, int]] = []

    # When they are described
    result = await describer.describe(pages, on_batch=lambda done, total: progress.append((done, total)))

    # Then three requests carried 10, 10 and 5 pages, and every description came from the model
    assert_all_model(result, pages)
    sent = fake_ollama.describe_requests()
    assert len(sent) == 3
    assert sorted(r.prompt.count("\nURL: ") for r in sent) == [5, 10, 10]
    for request in sent:
        assert request.path == "/api/generate"
        assert request.body["model"] == "llama3.2"
        assert request.body["stream"] is False
        assert request.body["format"] == "json"
        assert request.body["options"]["num_ctx"] == 8192
    assert progress[-1] == (25, 25)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


async def test_ollama_duplicate_urls_are_described_once(
    fake_ollama: FakeOllama, http_client: httpx.AsyncClient
) -> None:
    pages = make_pages(3)
    result = await make_describer("ollama", http_client, ollama_config(fake_ollama), GeminiConfig()).describe(
        pages + pages
    )
    assert_all_model(result, pages)
    assert fake_ollama.describe_requests()[0].prompt.count("\nURL: ") == 3


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("error_500", "http_5xx"), ("garbage_body", "bad_response"), ("garbage_answer", "bad_response")],
)
async def test_ollama_failed_batch_falls_back_and_counts_cause(
    fake_ollama: FakeOllama, http_client: httpx.AsyncClient, mode: str, cause: str
) -> None:
    # Given an Ollama that fails the first batch only (no retries)
    pages = make_pages(20)
    fake_ollama.script(mode)
    describer = make_describer("ollama", http_client, ollama_config(fake_ollama, retries=0), GeminiConfig())

    # When the pages are described
    result = await describer.describe(pages)

    # Then the failed batch's ten pages carry their extracted descriptions, and the cause is counted once
    assert result.fallbacks == 10
    assert result.errors == {cause: 1}
    model = {url for url, text in result.descriptions.items() if text.startswith("Model description")}
    assert len(model) == 10
    for page in pages:
        if page.url not in model:
            assert result.descriptions[page.url] == extractive_description(page)


async def test_ollama_hang_times_out_and_falls_back(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(4)
    fake_ollama.mode = "hang"
    config = ollama_config(fake_ollama, timeout_seconds=0.5)
    result = await make_describer("ollama", http_client, config, GeminiConfig()).describe(pages)
    assert_all_fallback(result, pages)
    assert result.errors == {"timeout": 1}


async def test_ollama_unreachable_counts_connection(http_client: httpx.AsyncClient) -> None:
    pages = make_pages(3)
    config = OllamaConfig(f"http://127.0.0.1:{free_port()}", retry_delay_seconds=0)
    result = await make_describer("ollama", http_client, config, GeminiConfig()).describe(pages)
    assert_all_fallback(result, pages)
    assert result.errors == {"connection": 1}


async def test_ollama_partial_answer_counts_incomplete(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(10)
    fake_ollama.mode = "partial"
    result = await make_describer("ollama", http_client, ollama_config(fake_ollama), GeminiConfig()).describe(pages)
    assert result.fallbacks == 5
    assert result.errors == {"incomplete": 1}
    assert sum(text.startswith("Model description") for text in result.descriptions.values()) == 5


async def test_ollama_retries_a_5xx_once(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(5)
    fake_ollama.script("error_500")
    result = await make_describer("ollama", http_client, ollama_config(fake_ollama), GeminiConfig()).describe(pages)
    assert_all_model(result, pages)
    assert len(fake_ollama.describe_requests()) == 2


async def test_ollama_keeps_failing_so_remaining_batches_are_skipped(
    fake_ollama: FakeOllama, http_client: httpx.AsyncClient
) -> None:
    # Given an Ollama that answers every request with 500, and 6 batches of 2 pages
    pages = make_pages(12)
    fake_ollama.mode = "error_500"
    config = ollama_config(fake_ollama, batch_size=2, retries=0)
    describer = make_describer("ollama", http_client, config, GeminiConfig())

    # When they are described, then the summary is asked for
    result = await describer.describe(pages)
    summary = await describer.summarize("Example Site", pages)

    # Then only MAX_CONSECUTIVE_FAILURES calls were made; the rest were skipped, and all pages fell back
    assert_all_fallback(result, pages)
    assert result.errors == {"http_5xx": MAX_CONSECUTIVE_FAILURES, "skipped": 6 - MAX_CONSECUTIVE_FAILURES}
    assert len(fake_ollama.requests) == MAX_CONSECUTIVE_FAILURES
    assert summary == "Example Site runs long generation jobs and streams their progress."


async def test_ollama_unknown_model_gives_up_at_once(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(4)
    config = ollama_config(fake_ollama, model="no-such-model", batch_size=2)
    result = await make_describer("ollama", http_client, config, GeminiConfig()).describe(pages)
    assert_all_fallback(result, pages)
    assert result.errors == {"http_4xx": 1, "skipped": 1}


async def test_ollama_summary(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(5)
    describer = make_describer("ollama", http_client, ollama_config(fake_ollama), GeminiConfig())
    summary = await describer.summarize("Example Site", pages)
    assert summary == "Example Site is a fake website used in tests. It documents a job service."
    (request,) = fake_ollama.requests
    assert "format" not in request.body
    assert 'website "Example Site"' in request.prompt
    assert "Home page: https://site.test/" in request.prompt


async def test_ollama_summary_falls_back_on_error(fake_ollama: FakeOllama, http_client: httpx.AsyncClient) -> None:
    fake_ollama.mode = "error_500"
    describer = make_describer("ollama", http_client, ollama_config(fake_ollama, retries=0), GeminiConfig())
    summary = await describer.summarize("Example Site", make_pages(3))
    assert summary == "Example Site runs long generation jobs and streams their progress."


async def test_progress_callback_exception_stops_describing_unwrapped(
    fake_ollama: FakeOllama, http_client: httpx.AsyncClient
) -> None:
    # Given a progress callback that raises (as progress() does when the job is cancelled)
    class Cancelled(Exception):
        pass

    def on_batch(done: int, total: int) -> None:
        raise Cancelled

    describer = make_describer("ollama", http_client, ollama_config(fake_ollama, batch_size=2), GeminiConfig())

    # Then the exception propagates as itself (not an ExceptionGroup) after the first batch
    with pytest.raises(Cancelled):
        await describer.describe(make_pages(10), on_batch=on_batch)
    assert len(fake_ollama.describe_requests()) == 1


# --- Gemini -------------------------------------------------------------------------------------------


async def test_gemini_describes_in_batches_with_key_in_header_only(
    fake_gemini: FakeGemini, http_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # Given 45 pages, batches of 20, up to 4 requests at once
    caplog.set_level(logging.DEBUG)
    pages = make_pages(45)
    describer = make_describer("gemini", http_client, OllamaConfig(""), gemini_config(fake_gemini))

    # When they are described and the site summarised
    result = await describer.describe(pages)
    summary = await describer.summarize("Example Site", pages)

    # Then 3 describe requests went to the model's generateContent with the key only in the header
    assert_all_model(result, pages)
    assert summary == "Example Site is a fake website used in tests. It documents a job service."
    assert len(fake_gemini.describe_requests()) == 3
    assert len(fake_gemini.requests) == 4
    for request in fake_gemini.requests:
        assert request.path == "/v1beta/models/gemini-2.0-flash:generateContent"
        assert request.query == ""
        assert GEMINI_TEST_KEY not in request.url
        assert request.headers["x-goog-api-key"] == GEMINI_TEST_KEY
    for request in fake_gemini.describe_requests():
        assert request.body["generationConfig"]["responseMimeType"] == "application/json"
    # And the key appears in no log line (httpx logs every request URL)
    assert GEMINI_TEST_KEY not in caplog.text
    assert "generateContent" in caplog.text


async def test_gemini_bad_key_falls_back_gives_up_and_never_logs_key(
    fake_gemini: FakeGemini, http_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pages = make_pages(30)
    config = gemini_config(fake_gemini, api_key="wrong-key-7781", batch_size=10, concurrency=1)
    describer = make_describer("gemini", http_client, OllamaConfig(""), config)

    result = await describer.describe(pages)

    assert_all_fallback(result, pages)
    assert result.errors == {"http_4xx": 1, "skipped": 2}
    assert "wrong-key-7781" not in caplog.text
    assert "wrong-key-7781" not in repr(config)
    assert "wrong-key-7781" not in str([config])


async def test_gemini_rate_limit_is_retried(fake_gemini: FakeGemini, http_client: httpx.AsyncClient) -> None:
    pages = make_pages(5)
    fake_gemini.script("rate_limit")
    result = await make_describer("gemini", http_client, OllamaConfig(""), gemini_config(fake_gemini)).describe(pages)
    assert_all_model(result, pages)
    assert len(fake_gemini.requests) == 2


@pytest.mark.parametrize(
    ("mode", "cause"),
    [("error_500", "http_5xx"), ("rate_limit", "rate_limited"), ("garbage_body", "bad_response"),
     ("garbage_answer", "bad_response"), ("hang", "timeout")],
)  # fmt: skip
async def test_gemini_failure_falls_back_with_cause(
    fake_gemini: FakeGemini, http_client: httpx.AsyncClient, mode: str, cause: str
) -> None:
    pages = make_pages(6)
    fake_gemini.mode = mode
    config = gemini_config(fake_gemini, retries=0, timeout_seconds=0.5)
    describer = make_describer("gemini", http_client, OllamaConfig(""), config)
    result = await describer.describe(pages)
    assert_all_fallback(result, pages)
    assert result.errors == {cause: 1}


async def test_gemini_model_with_prefix_and_wrong_model(
    fake_gemini: FakeGemini, http_client: httpx.AsyncClient
) -> None:
    pages = make_pages(2)
    prefixed = gemini_config(fake_gemini, model="models/gemini-2.0-flash")
    result = await make_describer("gemini", http_client, OllamaConfig(""), prefixed).describe(pages)
    assert_all_model(result, pages)

    wrong = gemini_config(fake_gemini, model="gemini-9")
    result = await make_describer("gemini", http_client, OllamaConfig(""), wrong).describe(pages)
    assert result.errors == {"http_4xx": 1}
    assert fake_gemini.requests[-1].path == "/v1beta/models/gemini-9:generateContent"


# --- Extractive and the factory -----------------------------------------------------------------------


async def test_extractive_describer_needs_no_network(http_client: httpx.AsyncClient) -> None:
    long = PageInfo(url="https://site.test/long", title="Long", description="word " * 100, markdown="")
    bare = PageInfo(url="https://site.test/bare", title="Bare", description=None, markdown="")
    pages = [*make_pages(3), long, bare]
    describer = make_describer("extractive", http_client, OllamaConfig(""), GeminiConfig())
    assert isinstance(describer, ExtractiveDescriber)

    result = await describer.describe(pages)

    assert result.fallbacks == 0
    assert result.errors == {}
    assert result.descriptions["https://site.test/docs/page-1"] == "Extracted description of page 1."
    assert len(result.descriptions["https://site.test/long"]) <= 160
    assert result.descriptions["https://site.test/long"].endswith("…")
    assert result.descriptions["https://site.test/bare"] == ""
    assert await describer.summarize("Example", pages) == (
        "Example Site runs long generation jobs and streams their progress."
    )


async def test_make_describer_rejects_unknown_and_misconfigured(http_client: httpx.AsyncClient) -> None:
    ollama = OllamaConfig("http://127.0.0.1:1")
    with pytest.raises(UnknownProviderError, match="unknown description provider 'openai'"):
        make_describer("openai", http_client, ollama, GeminiConfig())
    with pytest.raises(ProviderConfigError, match="GEMINI_API_KEY"):
        make_describer("gemini", http_client, ollama, GeminiConfig(api_key=""))
    with pytest.raises(ProviderConfigError, match="OLLAMA_URL"):
        make_describer("ollama", http_client, OllamaConfig(""), GeminiConfig())
    assert make_describer(" Ollama ", http_client, ollama, GeminiConfig()) is not None


# --- Reading model answers ----------------------------------------------------------------------------

BATCH = ["https://site.test/", "https://site.test/docs/a", "https://site.test/docs/b/"]


@pytest.mark.parametrize(
    "answer",
    [
        '{"https://site.test/": "Home.", "https://site.test/docs/a": "A.", "https://site.test/docs/b/": "B."}',
        '```json\n{"https://site.test/": "Home.", "https://site.test/docs/a": "A.",'
        ' "https://site.test/docs/b/": "B."}\n```',
        'Here you go: {"descriptions": {"https://site.test": "Home.", "HTTPS://SITE.TEST/docs/a/": "A.", '
        '"https://site.test/docs/b": "B."}} Hope it helps!',
        '[{"url": "https://site.test/", "description": "Home."},'
        ' {"url": "https://site.test/docs/a", "description": "A."},'
        ' {"url": "https://site.test/docs/b/", "description": "B."}]',
        '{"Page 1": "Home.", "2": "A.", "page 3": {"description": "B."}}',
    ],
)
def test_parse_descriptions_accepts_common_answer_shapes(answer: str) -> None:
    assert parse_descriptions(answer, BATCH) == {BATCH[0]: "Home.", BATCH[1]: "A.", BATCH[2]: "B."}


def test_parse_descriptions_cleans_and_filters() -> None:
    answer = (
        '{"https://site.test/": "  \\"Multi\\nline\\"  ", "https://other.test/": "Not in the batch.", '
        '"https://site.test/docs/a": "", "https://site.test/docs/b/": "' + "long " * 100 + '", "7": "out of range"}'
    )
    found = parse_descriptions(answer, BATCH)
    assert found[BATCH[0]] == "Multi line"
    assert BATCH[1] not in found
    assert len(found[BATCH[2]]) <= 200
    assert set(found) == {BATCH[0], BATCH[2]}


@pytest.mark.parametrize("answer", ["", "no json here", "{broken", "42", '"just a string"'])
def test_parse_descriptions_rejects_non_json(answer: str) -> None:
    with pytest.raises(ProviderCallError) as caught:
        parse_descriptions(answer, BATCH)
    assert caught.value.cause == "bad_response"


def test_describe_prompt_lists_pages_with_excerpts_without_link_urls() -> None:
    pages = make_pages(3)
    prompt = build_describe_prompt(pages, excerpt_chars=100)
    assert prompt.count("\nURL: ") == 3
    assert "Content: # Page 1 Some content about topic 1." in prompt
    assert "https://site.test/x" not in prompt


async def test_site_wide_meta_description_gives_way_to_first_paragraph(http_client: httpx.AsyncClient) -> None:
    # Given a site that repeats one meta description on every page
    template = "Acme: the best tool for everything."
    pages = [
        PageInfo(
            url=f"https://site.test{path}",
            title=path,
            description=template,
            markdown="",
            first_paragraph=paragraph,
        )
        for path, paragraph in [
            ("/", "Welcome to Acme."),
            ("/docs/a", "Install Acme with pip and run the setup command."),
            ("/docs/b", None),
        ]
    ]
    # When described without a model
    result = await ExtractiveDescriber().describe(pages)
    # Then pages other than home use their own first paragraph when they have one
    assert result.descriptions == {
        "https://site.test/": template,
        "https://site.test/docs/a": "Install Acme with pip and run the setup command.",
        "https://site.test/docs/b": template,
    }
