"""The README's example kind end to end: declared in one file, run by the real API and worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.conftest import ApiUser
from tests.integration.test_jobs_api import assert_error, create, wait_terminal
from tests.support.services import ServiceProcess


async def test_the_example_kind_runs_and_serves_its_artifact(
    worker: ServiceProcess, make_user: Callable[..., Awaitable[ApiUser]]
) -> None:
    user = await make_user()
    # When a job of the kind is started
    job = await create(user.client, "word_count", params={"text": "the cat saw the other cat and the dog"})
    done = await wait_terminal(user.client, job["id"])
    # Then it ran in the worker with its own settings section (top 3 words)
    assert done["status"] == "succeeded", done
    assert done["result"] == {"words": 9, "top": ["the", "cat", "and"]}
    assert done["title"] == "the"
    # and its declared artifact is served under the declared name
    download = await user.client.get(f"/api/jobs/{job['id']}/artifacts/counts.json")
    assert download.status_code == 200, download.text
    assert download.json() == {"the": 3, "cat": 2, "saw": 1, "other": 1, "and": 1, "dog": 1}
    assert 'filename="word-counts-the.json"' in download.headers["content-disposition"]
    assert download.headers["content-type"].startswith("application/json")
    # an undeclared one is not
    assert_error(await user.client.get(f"/api/jobs/{job['id']}/artifacts/llms.txt"), 404, "artifact_not_found")
    # and bad params are refused, naming the field
    bad = await user.client.post("/api/jobs", json={"kind": "word_count", "params": {"text": ""}})
    error = assert_error(bad, 400, "invalid_params")
    assert error["details"][0]["field"] == "text"
