"""Description providers for llms.txt: extractive (no model), Ollama and Gemini, behind one `Describer`.

Use `make_describer` with the provider named in the job's params; the caller owns the ``httpx.AsyncClient``.
"""

from __future__ import annotations

import httpx

from actors.kinds.llms_txt.providers.base import (
    Describer,
    DescribeResult,
    ProgressCallback,
    ProviderConfigError,
    ProviderError,
    UnknownProviderError,
)
from actors.kinds.llms_txt.providers.extractive import ExtractiveDescriber
from actors.kinds.llms_txt.providers.gemini import GeminiConfig, GeminiDescriber
from actors.kinds.llms_txt.providers.ollama import OllamaConfig, OllamaDescriber

__all__ = [
    "PROVIDERS",
    "DescribeResult",
    "Describer",
    "ExtractiveDescriber",
    "GeminiConfig",
    "GeminiDescriber",
    "OllamaConfig",
    "OllamaDescriber",
    "ProgressCallback",
    "ProviderConfigError",
    "ProviderError",
    "UnknownProviderError",
    "make_describer",
]

PROVIDERS = ("extractive", "ollama", "gemini")


def make_describer(
    provider: str, client: httpx.AsyncClient | None, ollama: OllamaConfig, gemini: GeminiConfig
) -> Describer:
    """Build the `Describer` for a provider name.

    Args:
        provider: "extractive", "ollama" or "gemini" (case-insensitive).
        client: Shared HTTP client, owned (and closed) by the caller; None is enough for "extractive".
        ollama: Ollama settings (used for "ollama").
        gemini: Gemini settings (used for "gemini").

    Returns:
        A new describer; use one per job (it remembers a provider that keeps failing).

    Raises:
        UnknownProviderError: ``provider`` is none of `PROVIDERS`.
        ProviderConfigError: "gemini" without an API key, or a provider without a base URL.
    """
    name = provider.strip().lower()
    if name == "extractive":
        return ExtractiveDescriber()
    if name not in ("ollama", "gemini"):
        raise UnknownProviderError(f"unknown description provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    if client is None:
        raise ProviderConfigError(f"the {name} provider needs an HTTP client")
    if name == "ollama":
        if not ollama.base_url:
            raise ProviderConfigError("the ollama provider needs a base URL (OLLAMA_URL)")
        return OllamaDescriber(client, ollama)
    if not gemini.api_key:
        raise ProviderConfigError("the gemini provider needs an API key (GEMINI_API_KEY)")
    if not gemini.base_url:
        raise ProviderConfigError("the gemini provider needs a base URL (GEMINI_API_BASE)")
    return GeminiDescriber(client, gemini)
