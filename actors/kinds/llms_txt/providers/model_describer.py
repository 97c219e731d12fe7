"""What the language-model providers share: batching, fallbacks, the failure breaker, and the HTTP call.

A provider subclasses `ModelDescriber` and implements ``_ask(prompt, json_answer=...)``, raising
`ProviderCallError` with a cause for every failure. Everything else is here:

- pages go out in batches of ``batch_size`` (one call describes many pages), at most ``concurrency`` at once;
- a call answered with 429 or 5xx is retried ``retries`` times, after ``Retry-After`` (capped) or
  ``retry_delay_seconds``: rate limits are routine on Gemini's free tier;
- a failed batch's pages get their extracted descriptions; the result counts them and the cause;
- after ``MAX_CONSECUTIVE_FAILURES`` failed calls in a row, or one permanent failure (a 4xx other than
  429: bad key, unknown model), no more calls are made: a site of 5,000 pages must not wait 500 timeouts
  for a provider that is down. The remaining batches count as ``skipped``; the summary falls back too.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Protocol

from actors.kinds.llms_txt.extract import PageInfo
from actors.kinds.llms_txt.providers.base import (
    BAD_RESPONSE,
    HTTP_4XX,
    HTTP_5XX,
    INCOMPLETE,
    RATE_LIMITED,
    SKIPPED,
    DescribeResult,
    ProgressCallback,
    ProviderCallError,
)
from actors.kinds.llms_txt.providers.extractive import (
    extractive_description,
    extractive_summary,
    shared_descriptions,
)
from actors.kinds.llms_txt.providers.prompts import (
    SUMMARY_CHARS,
    build_describe_prompt,
    build_summary_prompt,
    clean_answer,
    parse_descriptions,
)

logger = logging.getLogger(__name__)

MAX_CONSECUTIVE_FAILURES = 3
MAX_RETRY_DELAY_SECONDS = 20.0
_PERMANENT = frozenset({HTTP_4XX})
_RETRIED = frozenset({RATE_LIMITED, HTTP_5XX})

_BatchOutcome = tuple[list[PageInfo], dict[str, str], str | None]


class BatchingConfig(Protocol):
    """What every model provider's config says about batching and retries."""

    @property
    def batch_size(self) -> int: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def excerpt_chars(self) -> int: ...
    @property
    def retries(self) -> int: ...
    @property
    def retry_delay_seconds(self) -> float: ...


class ModelDescriber(ABC):
    """Base of the `Describer`s that call a language model; see the module docstring.

    Attributes:
        provider: Name used in log lines ("ollama", "gemini").
        gave_up: The cause that stopped further calls, or None while calls are still made.
    """

    provider = "model"

    def __init__(self, config: BatchingConfig) -> None:
        self._batch_size = max(1, config.batch_size)
        self._concurrency = max(1, config.concurrency)
        self._excerpt_chars = max(0, config.excerpt_chars)
        self._retries = max(0, config.retries)
        self._retry_delay = max(0.0, config.retry_delay_seconds)
        self._failures_in_a_row = 0
        self.gave_up: str | None = None

    @abstractmethod
    async def _ask(self, prompt: str, *, json_answer: bool) -> str:
        """Send one prompt; return the model's text. Raises `ProviderCallError` on any failure."""

    async def describe(self, pages: list[PageInfo], on_batch: ProgressCallback | None = None) -> DescribeResult:
        """Describe every page in batches; failed batches fall back to extracted descriptions.

        Args:
            pages: The pages; a repeated URL is described once.
            on_batch: Called with (pages done, pages total) after each batch, in completion order.

        Returns:
            A description for every page URL, with fallback and error counts.
        """
        unique = list({page.url: page for page in pages}.values())
        batches = [unique[i : i + self._batch_size] for i in range(0, len(unique), self._batch_size)]
        limit = asyncio.Semaphore(self._concurrency)
        shared = shared_descriptions(unique)
        result = DescribeResult()

        async def run(batch: list[PageInfo]) -> _BatchOutcome:
            async with limit:
                return await self._describe_batch(batch)

        tasks = [asyncio.ensure_future(run(batch)) for batch in batches]
        done = 0
        try:
            # Merged here, in the calling coroutine, so an exception from on_batch propagates as itself.
            for next_done in asyncio.as_completed(tasks):
                batch, found, cause = await next_done
                self._merge(result, batch, found, cause, shared)
                done += len(batch)
                if on_batch is not None:
                    on_batch(done, len(unique))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return result

    async def summarize(self, site_name: str, pages: list[PageInfo], home: PageInfo | None = None) -> str:
        """One-paragraph site summary from the model; the extractive summary when the call fails."""
        fallback = extractive_summary(pages, home)
        if not pages or self.gave_up is not None:
            return fallback
        try:
            prompt = build_summary_prompt(site_name, pages, self._excerpt_chars, home)
            answer = await self._ask_with_retries(prompt, json_answer=False)
        except ProviderCallError as exc:
            logger.warning(
                "%s: summary call failed (%s: %s); using the extractive summary", self.provider, exc.cause, exc
            )
            return fallback
        return clean_answer(answer, SUMMARY_CHARS) or fallback

    async def _describe_batch(self, batch: list[PageInfo]) -> _BatchOutcome:
        if self.gave_up is not None:
            return batch, {}, SKIPPED
        urls = [page.url for page in batch]
        try:
            answer = await self._ask_with_retries(build_describe_prompt(batch, self._excerpt_chars), json_answer=True)
            found = parse_descriptions(answer, urls)
            if not found:
                raise ProviderCallError(BAD_RESPONSE, "the answer described none of the pages")
        except ProviderCallError as exc:
            self._record_failure(exc.cause)
            logger.warning(
                "%s: batch of %d pages failed (%s: %s); using extracted descriptions",
                self.provider,
                len(batch),
                exc.cause,
                exc,
            )
            return batch, {}, exc.cause
        self._failures_in_a_row = 0
        return batch, found, INCOMPLETE if len(found) < len(batch) else None

    async def _ask_with_retries(self, prompt: str, *, json_answer: bool) -> str:
        attempt = 0
        while True:
            try:
                return await self._ask(prompt, json_answer=json_answer)
            except ProviderCallError as exc:
                if exc.cause not in _RETRIED or attempt >= self._retries or self.gave_up is not None:
                    raise
                attempt += 1
                delay = exc.retry_after if exc.retry_after is not None else self._retry_delay
                await asyncio.sleep(min(delay, MAX_RETRY_DELAY_SECONDS))

    def _record_failure(self, cause: str) -> None:
        self._failures_in_a_row += 1
        if self.gave_up is None and (cause in _PERMANENT or self._failures_in_a_row >= MAX_CONSECUTIVE_FAILURES):
            self.gave_up = cause
            logger.error(
                "%s: giving up after %d failed calls in a row (last: %s); remaining pages use extracted descriptions",
                self.provider,
                self._failures_in_a_row,
                cause,
            )

    @staticmethod
    def _merge(
        result: DescribeResult,
        batch: list[PageInfo],
        found: dict[str, str],
        cause: str | None,
        shared: frozenset[str],
    ) -> None:
        for page in batch:
            if page.url in found:
                result.descriptions[page.url] = found[page.url]
            else:
                result.descriptions[page.url] = extractive_description(page, shared)
                result.fallbacks += 1
        if cause is not None:
            result.errors[cause] = result.errors.get(cause, 0) + 1
