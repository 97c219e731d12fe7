"""What a user asks of an llms.txt generation."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from actors.errors import OptionUnavailable
from actors.kinds.llms_txt.settings import LlmsTxtSettings
from actors.kinds.llms_txt.targets import parse_target
from actors.notify.target import Locale, NotifyTarget

Provider = Literal["extractive", "ollama", "gemini"]
PROVIDERS: tuple[str, ...] = ("extractive", "ollama", "gemini")
MAX_URLS = 5_000
Glob = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LlmsTxtParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    max_urls: Annotated[int, msgspec.Meta(ge=1, le=MAX_URLS)] = 500
    provider: Provider = "extractive"
    full_text: bool = True
    # Past this size llms-full.txt is also written per section (llms-full/<section>.txt in the bundle).
    split_full_bytes: Annotated[int, msgspec.Meta(ge=10_000, le=1_000_000_000)] = 5_000_000
    include_paths: Annotated[list[Glob], msgspec.Meta(max_length=50)] = []
    exclude_paths: Annotated[list[Glob], msgspec.Meta(max_length=50)] = []
    # Where to tell the user the job finished (default: their own default channel) and in which language.
    notify: NotifyTarget | None = None
    locale: Locale = "en"

    def __post_init__(self) -> None:
        if (self.hostname is None) == (self.url is None):
            raise ValueError("give exactly one of hostname or url")
        # Syntax only here; whether private addresses are allowed depends on the deployment (check_params).
        parse_target(self.target, allow_private=True)

    @property
    def target(self) -> str:
        return self.hostname if self.hostname is not None else str(self.url)

    @property
    def display_host(self) -> str:
        return urlsplit(parse_target(self.target, allow_private=True)).netloc


def check_params(params: LlmsTxtParams, settings: LlmsTxtSettings) -> None:
    """Refuse private and loopback targets unless the deployment crawls them (CRAWL_ALLOW_PRIVATE), and
    the gemini provider when no Gemini API key is configured (it could only fail, after payment)."""
    parse_target(params.target, allow_private=settings.allow_private)
    if params.provider == "gemini" and not settings.gemini_api_key:
        raise OptionUnavailable(
            'The "gemini" provider is not available on this server (no Gemini API key is configured); '
            'choose "extractive" or "ollama".',
            option="provider",
            value="gemini",
        )
