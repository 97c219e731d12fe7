"""The website kind end to end: real API, scheduler and worker processes against a fake generator over HTTP.

Polling runs on a millisecond schedule (every 0.2 s for the first second, then every 0.3 s). These tests
start and kill workers, so they use an isolated stack (the session's shared worker would take the jobs).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from db.live import job_stream_key
from tests.conftest import ApiUser
from tests.support.fake_generator import GENERATOR_TEST_KEY, FakeGenerator, fake_generator
from tests.support.isolated_stack import WORKER_READY, IsolatedStack, isolated_stack, wait_for_log
from tests.support.notify_receivers import Receivers
from tests.support.services import ServiceProcess
from tests.support.sse import is_terminal_status, read_events

pytestmark = pytest.mark.slow

SCHEDULE = "0.2@1,0.3"


@pytest.fixture(scope="module")
def generator() -> Iterator[FakeGenerator]:
    yield from fake_generator()


@pytest.fixture(scope="module")
def website_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str], generator: FakeGenerator
) -> Iterator[IsolatedStack]:
    env = {
        **service_env,
        "WEBSITE_GENERATOR_URL": generator.base_url,
        "WEBSITE_GENERATOR_API_KEY": GENERATOR_TEST_KEY,
        "WEBSITE_POLL_SCHEDULE": SCHEDULE,
        "WEBSITE_DEADLINE_SECONDS": "60",
        "WEBSITE_BACKOFF_INITIAL_SECONDS": "0.1",
        "WEBSITE_BACKOFF_MAX_SECONDS": "0.4",
        "WEBSITE_RATE_LIMIT": "3",
        "PUBLIC_URL": "https://jobs.example.com",
    }
    yield from isolated_stack(start_service, env, scheduler=True)


@pytest.fixture
def stack(website_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from website_stack.for_one_test()


@pytest.fixture
async def user(stack: IsolatedStack) -> AsyncIterator[ApiUser]:
    api_user = await stack.make_user()
    yield api_user
    await api_user.client.aclose()


def start_worker(stack: IsolatedStack, **env: str) -> ServiceProcess:
    proc = stack.start_service(
        "worker", "--processes", "1", "--threads", "2", env={**stack.env, **env}, name="website-worker"
    )
    stack.processes.append(proc)
    wait_for_log(proc, WORKER_READY)
    return proc


async def create_website(user: ApiUser, prompt: str, **params: Any) -> str:
    response = await user.client.post("/api/jobs", json={"kind": "website", "params": {"prompt": prompt, **params}})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def status_is(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda job: job["status"] in statuses


def count_to(stack: IsolatedStack, job_id: str, status: str) -> int:
    with stack.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM job_events WHERE job_id = :id AND to_status = :s"),
                {"id": job_id, "s": status},
            ).scalar_one()
        )


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_success_shows_the_tracking_url_from_the_first_moment_and_succeeds_once(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    # Given a project that is processing six times, then completed, and no worker running yet
    prompt = generator.script("A bakery in Lisbon with an online menu", polls=["processing"] * 6 + ["completed"])

    # When a user starts a website job
    created = await user.client.post("/api/jobs", json={"kind": "website", "params": {"prompt": prompt}})
    assert created.status_code == 202, created.text
    job_id = created.json()["id"]
    page = f"https://jobs.example.com/generations/{job_id}"

    # Then the answer, GET and the first event of the job's SSE stream already carry its tracking URL
    assert created.json()["tracking_url"] == page
    assert (await user.client.get(f"/api/jobs/{job_id}")).json()["result"] == {"tracking_url": page}
    first = await read_events(user.client, f"/api/jobs/{job_id}/events", stop=lambda events: len(events) >= 1)
    assert first.events[0].event == "snapshot"
    assert first.events[0].data["status"] == "queued"
    assert first.events[0].data["result"]["tracking_url"] == page

    # and once a worker runs it, the stream shows the generator's page beside it, then the success once
    start_worker(stack)
    stream = await read_events(user.client, f"/api/jobs/{job_id}/events", timeout=60)
    assert stream.ended and is_terminal_status(stream.events[-1])
    assert stream.events[-1].data["status"] == "succeeded", stream.events[-1].data
    assert all(e.data["result"]["tracking_url"] == page for e in stream.events if e.data.get("result"))
    done = stack.job(job_id)
    project_id = done["result"]["project_id"]
    generator_page = f"https://generator.example.com/p/{project_id}"
    assert done["result"]["tracking_url"] == page
    assert done["result"]["generator_tracking_url"] == generator_page
    assert done["result"]["url"] == f"https://sites.example.com/{project_id}"
    assert done["attempts"] == 1
    assert count_to(stack, job_id, "succeeded") == 1
    # and the first live event that carries the generator's page comes before the success
    entries = [json.loads(fields[b"data"]) for _, fields in stack.redis.xrange(job_stream_key(job_id))]
    with_project = [i for i, e in enumerate(entries) if (e.get("result") or {}).get("generator_tracking_url")]
    succeeded_at = next(i for i, e in enumerate(entries) if e.get("status") == "succeeded")
    assert with_project and with_project[0] < succeeded_at
    # and the generator saw one create and seven status checks, all with our key, at least 0.2 s apart
    assert len(generator.creates(prompt)) == 1
    polls = generator.polls(prompt)
    assert len(polls) == 7
    assert all(r.authorization == f"Bearer {GENERATOR_TEST_KEY}" for r in generator.of_prompt(prompt))
    assert min(gaps([r.at for r in polls])) >= 0.19


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("en", "The website could not be generated: "), ("es", "No se pudo generar el sitio web: ")],
)
async def test_generator_failure_fails_the_job_in_the_users_language(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator, locale: str, expected: str
) -> None:
    prompt = generator.script(
        f"A portfolio for a photographer ({locale})", polls=["processing", "failed:out of credits"]
    )
    start_worker(stack)
    job_id = await create_website(user, prompt, locale=locale)
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 30, "the end")
    assert done["status"] == "failed"
    assert done["error"].startswith(expected + "out of credits")
    assert done["attempts"] == 1


async def test_deadline_ends_the_job_timed_out_and_tells_the_user_in_their_language(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator, receivers: Receivers
) -> None:
    # Given a project that never finishes, a deadline of 1.5 s, and a user told on their signed webhook
    secret = await user.client.post("/api/me/notifications/webhook-secret")
    assert secret.status_code == 201, secret.text
    url = receivers.webhook(f"deadline-{int(time.time() * 1000)}", secret.json()["webhook_secret"])
    prompt = generator.script("A site that takes forever to build", polls=["processing"])
    start_worker(stack, WEBSITE_DEADLINE_SECONDS="1.5")
    job_id = await create_website(user, prompt, locale="es", notify={"channel": "webhook", "to": url})
    # Then the job ends timed_out with a message in Spanish that points to the generator's page
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 30, "the deadline")
    assert done["status"] == "timed_out"
    assert done["error"].startswith("El sitio web no estuvo listo en 2 segundos, así que dejamos de esperar.")
    assert "https://generator.example.com/p/" in done["error"]
    # and the last status check happened at the deadline, not later
    polls = generator.polls(prompt)
    assert polls[-1].at - generator.creates(prompt)[0].at < 1.5 + 2.0
    # and the user is told once, in Spanish, with a signature their receiver verified
    deadline = time.monotonic() + 30
    while not receivers.delivered(url):
        assert time.monotonic() < deadline, f"no timed_out webhook; got {receivers.received(url)}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # room for a duplicate to show up, were one sent
    [hit] = receivers.delivered(url)
    assert hit.json is not None
    assert hit.json["event"] == "job.timed_out"
    assert hit.json["locale"] == "es"
    assert hit.json["job"]["status"] == "timed_out"
    assert hit.json["message"].startswith("Tu sitio web «A site that takes forever to build» tardó más de lo permitido")
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    sent = [h for h in history if h["type"] == "notification_sent"]
    assert [h["detail"]["event"] for h in sent] == ["timed_out"], history


async def test_server_errors_back_off_then_polling_succeeds(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    prompt = generator.script(
        "A landing page for a cycling club", polls=["processing", "500", "500", "500", "processing", "completed"]
    )
    start_worker(stack)
    job_id = await create_website(user, prompt)
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 30, "the end")
    assert done["status"] == "succeeded", done["error"]
    assert done["attempts"] == 1
    # The waits after the three 500s doubled: at least 0.1, 0.2 and 0.4 s (the cap).
    after_errors = gaps([r.at for r in generator.polls(prompt)])[1:4]
    assert [round(g, 2) >= floor for g, floor in zip(after_errors, [0.1, 0.2, 0.4], strict=True)] == [True] * 3


async def test_rate_limited_poll_honours_retry_after(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    prompt = generator.script("A wedding site with RSVP form", polls=["processing", "429:1", "completed"])
    start_worker(stack)
    job_id = await create_website(user, prompt)
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 30, "the end")
    assert done["status"] == "succeeded", done["error"]
    # The schedule says 0.2 s; the generator asked for 1 s.
    assert gaps([r.at for r in generator.polls(prompt)])[1] >= 1.0


async def test_rejected_prompt_fails_with_a_readable_message(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    prompt = generator.script("A site selling something forbidden", create=["400:the prompt breaks our content rules"])
    start_worker(stack)
    job_id = await create_website(user, prompt)
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 30, "the end")
    assert done["status"] == "failed"
    assert done["error"] == (
        "The website generator could not accept your request: the prompt breaks our content rules. "
        "Please change the description and try again."
    )
    assert len(generator.creates(prompt)) == 1
    assert GENERATOR_TEST_KEY not in done["error"]


async def test_worker_killed_between_polls_polling_resumes_and_completes_once(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    # Given a job polling a long project on a worker
    prompt = generator.script("A travel blog about the Andes", polls=["processing"] * 14 + ["completed"])
    first = start_worker(stack)
    job_id = await create_website(user, prompt)
    deadline = time.monotonic() + 20
    while len(generator.polls(prompt)) < 2:
        assert time.monotonic() < deadline, "no polls"
        await asyncio.sleep(0.02)

    # When the worker is SIGKILLed between two polls and another worker starts
    first.kill()
    killed_at = time.time()
    start_worker(stack)

    # Then polling continues on the new worker, and the job completes exactly once
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 60, "the end")
    assert done["status"] == "succeeded", done["error"]
    assert count_to(stack, job_id, "succeeded") == 1
    assert any(r.at > killed_at for r in generator.polls(prompt))
    # without creating the project again
    assert len(generator.creates(prompt)) == 1
    assert len(generator.projects) == len({p.id for p in generator.projects.values()})
    assert done["result"]["project_id"] in generator.projects
    # and by one poller only: the dead worker's delayed message, requeued by Dramatiq or not, never starts a
    # second chain beside the sweeper's (two chains would interleave their checks closer than the schedule)
    after = [r.at for r in generator.polls(prompt) if r.at > killed_at]
    assert min(gaps(after[1:]), default=1.0) >= 0.15, gaps(after)


async def test_a_lost_poll_message_is_resumed_by_the_sweeper(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    # Given a job polling a project on a worker
    prompt = generator.script("A recipe site for a family cookbook", polls=["processing"] * 12 + ["completed"])
    first = start_worker(stack)
    job_id = await create_website(user, prompt)
    deadline = time.monotonic() + 20
    while len(generator.polls(prompt)) < 2:
        assert time.monotonic() < deadline, "no polls"
        await asyncio.sleep(0.02)

    # When its worker dies and every message of the website queue is lost from Redis (not even Dramatiq's
    # requeue of a dead worker's messages can bring the next poll back)
    first.kill()
    lost = [key for key in stack.redis.scan_iter(match="dramatiq:*website*")]
    assert lost, "the delayed poll message should have been in Redis"
    stack.redis.delete(*lost)
    polls_before = len(generator.polls(prompt))
    start_worker(stack)

    # Then the sweeper takes the job back once its lease runs out, and polling resumes on the same project
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 60, "the end")
    assert done["status"] == "succeeded", done["error"]
    reclaims = [e for e in stack.history(job_id) if e["actor"] == "scheduler" and e["to_status"] == "retrying"]
    assert len(reclaims) == 1, stack.history(job_id)
    assert len(generator.polls(prompt)) > polls_before
    assert len(generator.creates(prompt)) == 1
    assert count_to(stack, job_id, "succeeded") == 1


async def test_cancelling_a_polling_job_stops_its_polls(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator
) -> None:
    prompt = generator.script("A shop for handmade ceramics", polls=["processing"])
    start_worker(stack)
    job_id = await create_website(user, prompt)
    deadline = time.monotonic() + 20
    while len(generator.polls(prompt)) < 2:
        assert time.monotonic() < deadline, "no polls"
        await asyncio.sleep(0.02)

    assert (await user.client.delete(f"/api/jobs/{job_id}")).status_code == 204
    await stack.wait_for_job(job_id, status_is("cancelled"), 10, "cancelled")
    # One poll may already be in flight; after it, none for several poll intervals.
    seen = len(generator.polls(prompt))
    await asyncio.sleep(1.5)
    assert len(generator.polls(prompt)) <= seen + 1
    assert stack.job(job_id)["status"] == "cancelled"


async def test_rate_limit_refuses_a_burst_with_when_to_retry(stack: IsolatedStack, user: ApiUser) -> None:
    # Given a limit of 3 website jobs per hour, when a user fires 5 at once
    body = {"kind": "website", "params": {"prompt": "A page for my neighbourhood choir"}}
    responses = await asyncio.gather(*(user.client.post("/api/jobs", json=body) for _ in range(5)))

    # Then exactly 3 are accepted and the others are told when to retry
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 202, 202, 429, 429]
    refused = next(r for r in responses if r.status_code == 429)
    retry_after = int(refused.headers["Retry-After"])
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert 3500 < retry_after <= 3600
    assert error["details"]["retry_after_seconds"] == retry_after
    assert "at most 3 website jobs per hour" in error["message"]
    # and another user is not affected
    other = await stack.make_user()
    try:
        assert (await other.client.post("/api/jobs", json=body)).status_code == 202
    finally:
        await other.client.aclose()


async def test_a_site_finished_across_a_worker_crash_is_announced_once_with_its_tracking_url(
    stack: IsolatedStack, user: ApiUser, generator: FakeGenerator, receivers: Receivers
) -> None:
    # Given a website job that asks to be told on the user's signed webhook, polling on a worker
    secret = await user.client.post("/api/me/notifications/webhook-secret")
    assert secret.status_code == 201, secret.text
    url = receivers.webhook(f"site-{int(time.time() * 1000)}", secret.json()["webhook_secret"])
    prompt = generator.script("A bakery site with an online menu", polls=["processing"] * 10 + ["completed"])
    first = start_worker(stack)
    job_id = await create_website(
        user, prompt, message_to_user="Your site is on its way", notify={"channel": "webhook", "to": url}
    )
    deadline = time.monotonic() + 20
    while len(generator.polls(prompt)) < 2:
        assert time.monotonic() < deadline, "no polls"
        await asyncio.sleep(0.02)

    # When the worker is SIGKILLed between two polls and another one takes over
    first.kill()
    start_worker(stack)

    # Then the user hears once that it started and once that it is done, with the generator's tracking URL
    done = await stack.wait_for_job(job_id, status_is("succeeded", "failed", "timed_out"), 60, "the end")
    assert done["status"] == "succeeded", done["error"]
    tracking_url = done["result"]["tracking_url"]
    deadline = time.monotonic() + 30
    while not any(h.json and h.json["event"] == "job.succeeded" for h in receivers.delivered(url)):
        assert time.monotonic() < deadline, f"no completion webhook; got {receivers.received(url)}"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # room for a duplicate to show up, were one sent (the scheduler repairs every second)
    events = [h.json["event"] for h in receivers.delivered(url) if h.json]
    assert sorted(events) == ["job.message_to_user", "job.succeeded"], events
    [announced] = [h.json for h in receivers.delivered(url) if h.json and h.json["event"] == "job.succeeded"]
    assert announced["job"]["url"] == tracking_url
    assert announced["job"]["id"] == job_id
