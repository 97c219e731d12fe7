"""Where a user follows a job: its page in the web UI, the same URL from every process."""

from __future__ import annotations

import uuid


def job_page_url(public_url: str, job_id: uuid.UUID | str) -> str:
    """``{PUBLIC_URL}/generations/{id}``: the tracking URL the API, the tool API and notifications give."""
    return f"{public_url.rstrip('/')}/generations/{job_id}"


def tracking_result(public_url: str, job_id: uuid.UUID | str) -> dict[str, str]:
    """The result a tracked kind's job carries from creation until its worker adds to it."""
    return {"tracking_url": job_page_url(public_url, job_id)}
