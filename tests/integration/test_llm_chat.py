"""The shared chat clients (actors/llm) against a real local HTTP server speaking each provider's protocol."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from actors.kinds.article.job import _ask
from actors.kinds.article.settings import ArticleSettings
from actors.llm.chat import ChatClient, ChatConfig
from actors.llm.errors import CONNECTION, HTTP_4XX, ProviderCallError
from actors.outbound import tls_context
from tests.support.fake_chat import API_KEY, FakeChat
from tests.support.services import free_port

PROMPT = "Task: write a new article.\nTopic: Tea\nTarget URL: https://shop.test/t\nAnchor text: tea shop\nKeyword: tea"


@pytest.fixture
def chat_server() -> Iterator[FakeChat]:
    server = FakeChat()
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("provider", "suffix", "key"), [("openai", "/v1", API_KEY), ("ollama", "", ""), ("gemini", "", "g-key")]
)
async def test_each_provider_answers_through_its_own_protocol(
    chat_server: FakeChat, provider: str, suffix: str, key: str
) -> None:
    config = ChatConfig(provider=provider, base_url=chat_server.url + suffix, model="m", api_key=key)
    async with httpx.AsyncClient() as http:
        answer = await ChatClient(http, config).ask("Be brief.", PROMPT)
    assert answer.startswith("# Tea: a practical guide") and "[tea shop](https://shop.test/t)" in answer
    assert chat_server.prompts == [PROMPT]


async def test_a_refused_key_is_a_permanent_failure_and_the_key_never_shows(chat_server: FakeChat) -> None:
    config = ChatConfig(provider="openai", base_url=chat_server.url + "/v1", model="m", api_key="sk-wrong-secret")
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderCallError) as caught:
            await ChatClient(http, config).ask("s", PROMPT)
    assert caught.value.cause == HTTP_4XX
    assert "sk-wrong-secret" not in str(caught.value) and "sk-wrong-secret" not in repr(config)


async def test_an_unreachable_provider_is_retried_then_reported() -> None:
    config = ChatConfig(
        provider="ollama", base_url=f"http://127.0.0.1:{free_port()}", retries=1, retry_delay_seconds=0.05
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(ProviderCallError) as caught:
            await ChatClient(http, config).ask("s", PROMPT)
    assert caught.value.cause == CONNECTION


def test_an_unknown_provider_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown chat provider"):
        ChatConfig(provider="claude-local")


async def test_model_calls_share_the_processs_tls_context_instead_of_loading_the_ca_bundle_each(
    chat_server: FakeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a process whose TLS context is built (verifying certificates and host names, from the CA bundle)
    shared = tls_context()
    assert tls_context() is shared
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert shared.cert_store_stats()["x509_ca"] > 0
    # and a count of every CA bundle loaded from now on
    loads: list[Any] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    settings = ArticleSettings(
        chat=ChatConfig(provider="openai", base_url=chat_server.url + "/v1", model="m", api_key=API_KEY)
    )

    # When the article job asks the model twice (each call with a client of its own)
    answers = [await _ask(settings, PROMPT), await _ask(settings, PROMPT)]

    # Then both are answered, and no call loaded the CA bundle again (httpx's default did, about 0.1 s of CPU each)
    assert all(a.startswith("# Tea: a practical guide") for a in answers)
    assert chat_server.prompts == [PROMPT, PROMPT]
    assert loads == []
