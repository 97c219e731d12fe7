"""Helpers for end-to-end tests of the ``llms_txt`` kind: start a job, wait on its row, read its outputs."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import llms_txt  # type: ignore[import-untyped]
from sqlalchemy import Engine, text

from tests.support.testsite.builder import SiteSpec

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out", "expired"})
# A link line of llms.txt: "- [title](url)" with an optional ": description".
_LINK_LINE = re.compile(r"^- \[[^\]]*\]\(([^)]+)\)", re.MULTILINE)
_SOURCE_LINE = re.compile(r"^Source: (\S+)$", re.MULTILINE)


async def create_llms_job(client: httpx.AsyncClient, **params: Any) -> str:
    """POST an llms_txt job; asserts 202 and returns its id."""
    response = await client.post("/api/jobs", json={"kind": "llms_txt", "params": params})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


# A job's row with its payment's columns under the names tests read them by (NULL for a free job).
JOB_ROW_SQL = text(
    "SELECT j.*, p.amount_cents, p.currency, p.session_id AS payment_session_id, p.url AS payment_url, "
    "p.expires_at AS payment_expires_at, p.status AS payment_status, p.intent_id AS payment_intent_id, "
    "p.refund_id, p.refund_status FROM jobs AS j LEFT JOIN payments AS p ON p.job_id = j.id WHERE j.id = :id"
)


def job_row(engine: Engine, job_id: str) -> dict[str, Any]:
    """The job row straight from Postgres (deleted jobs included), with its payment's columns."""
    with engine.connect() as conn:
        row = conn.execute(JOB_ROW_SQL, {"id": job_id}).mappings().one()
    return dict(row)


async def wait_for_row(
    engine: Engine, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
) -> dict[str, Any]:
    """Poll the job row until ``predicate`` holds; fail with the row's state after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        row = job_row(engine, job_id)
        if predicate(row):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; job is {row['status']} "
                f"(step {row['progress_step']}, {row['progress_done']}/{row['progress_total']}, "
                f"attempts {row['attempts']}, error {row['error']!r})"
            )
        await asyncio.sleep(0.05)


async def wait_until_terminal(engine: Engine, job_id: str, timeout: float) -> dict[str, Any]:
    return await wait_for_row(engine, job_id, lambda r: r["status"] in TERMINAL, timeout, "a terminal status")


def fetching(at_least: int) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the job is running its fetch step with at least ``at_least`` URLs done."""
    return lambda r: r["status"] == "running" and r["progress_step"] == "fetch" and r["progress_done"] >= at_least


def link_urls(llms: str) -> list[str]:
    """Every link URL of an llms.txt, in file order (duplicates kept)."""
    return _LINK_LINE.findall(llms)


def source_urls(full: str) -> list[str]:
    """Every ``Source:`` URL of an llms-full.txt (or a page Markdown file), in order."""
    return _SOURCE_LINE.findall(full)


def parse_llms(llms: str) -> Any:
    """``llms_txt.parse_llms_file`` (the reference parser), with its sections as a plain dict."""
    return llms_txt.parse_llms_file(llms)


def parsed_urls(parsed: Any) -> list[str]:
    """The link URLs the reference parser found, over every section."""
    return [link["url"] for links in parsed.sections.values() for link in links]


def duplicates(items: Iterable[str]) -> dict[str, int]:
    return {item: n for item, n in Counter(items).items() if n > 1}


def kept_paths(spec: SiteSpec) -> set[str]:
    """Pages of a sitemap site a crawl must keep: listed, served as HTML with 200, allowed by robots.txt."""
    pages = set(spec.pages)
    return {p for p in spec.listed if p in pages and p not in spec.disallowed}


def reachable_paths(spec: SiteSpec, depth: int = 3) -> set[str]:
    """Pages of a linked site a link walk of ``depth`` must find."""
    return {p for p, d in spec.depths.items() if d <= depth}
