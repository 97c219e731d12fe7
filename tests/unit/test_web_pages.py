"""Pure parts of the web pages: where a login may send the browser, and job JSON embedded in HTML."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from service.jobs.schemas import JobOut, Progress, links_for
from service.web.pages import embeddable_job_json, safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/generations/abc?x=1", "/generations/abc?x=1"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        # Browsers drop tabs and newlines inside a URL and strip leading controls: each is another host.
        ("/\t/evil.example/x", "/"),
        ("/\n/evil.example/x", "/"),
        ("/\r\n/evil.example/x", "/"),
        ("/ /evil.example", "/"),
        ("/\x00/evil.example", "/"),
        ("/\x7f/evil.example", "/"),
        # Percent-encoded, a tab stays part of the path on this site.
        ("/%09/evil.example/x", "/%09/evil.example/x"),
    ],
)
def test_safe_next_keeps_local_paths_only(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def testembeddable_job_json_cannot_close_its_script_block() -> None:
    job_id = uuid.uuid4()
    job = JobOut(
        id=job_id,
        kind="llms_txt",
        status="failed",
        priority="normal",
        title="</script><script>alert(1)</script>",
        params={},
        progress=Progress(0, None, None, None),
        result=None,
        error="a & b <c>",
        attempts=1,
        max_attempts=1,
        created_at=datetime.now(UTC),
        started_at=None,
        finished_at=None,
        links=links_for(job_id),
    )
    text = embeddable_job_json(job)
    assert "<" not in text and ">" not in text and "&" not in text
    decoded = msgspec.json.decode(text)
    assert decoded["title"] == "</script><script>alert(1)</script>"
    assert decoded["error"] == "a & b <c>"
