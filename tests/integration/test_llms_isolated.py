"""The llms_txt kind under other settings, each on an isolated stack of its own (the session's services
crawl private addresses and share one worker that consumes every queue):

- SSRF: with ``CRAWL_ALLOW_PRIVATE=0`` no job or analysis for a private, loopback, link-local or CGNAT
  address is accepted;
- providers: with ``OLLAMA_URL`` / ``GEMINI_API_BASE`` / ``GEMINI_API_KEY`` pointing at fake servers on
  127.0.0.1, each provider runs on its own queue (lane), Gemini's key travels only in a header, a failing
  Ollama falls back to extractive descriptions, and a worker bound to one lane leaves the others alone.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.conftest import ApiUser
from tests.support.fake_providers import GEMINI_TEST_KEY, FakeGemini, FakeOllama
from tests.support.fake_stripe import FakeStripe
from tests.support.isolated_stack import WORKER_READY, IsolatedStack, isolated_stack, wait_for_log
from tests.support.llms_jobs import (
    create_llms_job,
    job_row,
    link_urls,
    parse_llms,
    wait_for_row,
    wait_until_terminal,
)
from tests.support.payments import pay_and_notify
from tests.support.services import ServiceProcess
from tests.support.testsite.recording import RecordingSite
from tests.support.testsite.serving import RunningSite

pytest_plugins = ("tests.support.testsite.fixtures",)


def host_of(site: RunningSite | RecordingSite) -> str:
    return urlsplit(site.base_url).netloc


# --- 5. SSRF with CRAWL_ALLOW_PRIVATE off -------------------------------------------------------------


@pytest.fixture(scope="module")
def public_only_stack(
    start_service: Callable[..., ServiceProcess], service_env: dict[str, str]
) -> Iterator[IsolatedStack]:
    yield from isolated_stack(start_service, {**service_env, "CRAWL_ALLOW_PRIVATE": "0"}, scheduler=False)


@pytest.fixture
def public_only(public_only_stack: IsolatedStack) -> Iterator[IsolatedStack]:
    yield from public_only_stack.for_one_test()


@pytest.fixture
async def public_user(public_only: IsolatedStack) -> AsyncIterator[ApiUser]:
    user = await public_only.make_user()
    yield user
    await user.client.aclose()


@pytest.fixture(scope="module")
async def bait_site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RecordingSite]:
    """A site on 127.0.0.1 that records requests: a refused target must never reach it."""
    root = tmp_path_factory.mktemp("bait")
    (root / "index.html").write_text("<html><head><title>Internal admin</title></head><body>secret</body></html>")
    site = RecordingSite(root)
    await site.start()
    yield site
    await site.stop()


PRIVATE_TARGETS = [
    "localhost",
    "10.0.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
    "http://127.0.0.1/",
    "http://[::1]:8080/",
    "0.0.0.0",
    "192.168.1.1:8443",
]


# Names are checked when the crawler connects, after resolving them: a name that resolves to a private
# address (and a redirect to one) is refused in tests/integration/test_llms_fetch.py, through the same
# Fetcher the analysis and the job use. Here, literal addresses and single-label names are refused up front.
def private_targets(site: RecordingSite) -> list[str]:
    return [host_of(site), *PRIVATE_TARGETS]


async def test_jobs_for_private_addresses_are_refused_and_never_queued(
    public_only: IsolatedStack, public_user: ApiUser, bait_site: RecordingSite
) -> None:
    for target in private_targets(bait_site):
        # When a job is asked for a private or loopback target
        response = await public_user.client.post("/api/jobs", json={"kind": "llms_txt", "params": {"hostname": target}})
        # Then it is refused with a 400 that says why
        assert response.status_code == 400, (target, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_params", (target, error)
        assert "address" in error["message"] or "domain" in error["message"], (target, error["message"])
    # and nothing was stored, sent or fetched
    with public_only.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0
    assert [k for k in public_only.redis.scan_iter("dramatiq:*")] == []
    assert bait_site.hits == []


async def test_the_url_param_is_checked_like_the_hostname(
    public_only: IsolatedStack, public_user: ApiUser, bait_site: RecordingSite
) -> None:
    response = await public_user.client.post(
        "/api/jobs", json={"kind": "llms_txt", "params": {"url": bait_site.url("/admin/")}}
    )
    assert response.status_code == 400, response.text
    with public_only.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM jobs").scalar_one() == 0


async def test_analysis_of_private_addresses_is_refused(public_user: ApiUser, bait_site: RecordingSite) -> None:
    for target in private_targets(bait_site):
        response = await public_user.client.get("/api/sites/analyze", params={"hostname": target})
        assert response.status_code == 400, (target, response.status_code, response.text)
        assert response.json()["error"]["code"] in {"invalid_hostname", "address_not_allowed"}, target
    assert bait_site.hits == []


@pytest.fixture(scope="module")
async def fake_ollama() -> AsyncIterator[FakeOllama]:
    server = FakeOllama()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def fake_gemini() -> AsyncIterator[FakeGemini]:
    server = FakeGemini()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def providers_stack(
    start_service: Callable[..., ServiceProcess],
    service_env: dict[str, str],
    fake_ollama: FakeOllama,
    fake_gemini: FakeGemini,
) -> Iterator[IsolatedStack]:
    env = {
        **service_env,
        "OLLAMA_URL": fake_ollama.base_url,
        "GEMINI_API_BASE": fake_gemini.base_url,
        "GEMINI_API_KEY": GEMINI_TEST_KEY,
    }
    yield from isolated_stack(start_service, env, scheduler=False)


@pytest.fixture
def providers(
    providers_stack: IsolatedStack, fake_ollama: FakeOllama, fake_gemini: FakeGemini
) -> Iterator[IsolatedStack]:
    for fake in (fake_ollama, fake_gemini):
        fake.mode = "ok"
        fake.requests.clear()
        fake._script.clear()
    yield from providers_stack.for_one_test()


@pytest.fixture
async def provider_user(providers: IsolatedStack) -> AsyncIterator[ApiUser]:
    user = await providers.make_user()
    yield user
    await user.client.aclose()


def start_lane_worker(stack: IsolatedStack, *queues: str) -> ServiceProcess:
    """A worker for some queues only; waited for without blocking the loop the fakes answer in."""
    args = ["worker", "--processes", "1", "--threads", "2"]
    if queues:
        args += ["--queues", *queues]
    proc = stack.start(*args, name="iso-worker")
    wait_for_log(proc, WORKER_READY)
    return proc


SMALL = {"include_paths": ["/api/users/*"], "max_urls": 20}


async def download_llms(user: ApiUser, job_id: str) -> str:
    response = await user.client.get(f"/api/jobs/{job_id}/artifacts/llms.txt")
    assert response.status_code == 200, response.text
    return response.text


async def test_gemini_describes_pages_on_its_own_queue_with_the_key_in_a_header(
    providers: IsolatedStack,
    provider_user: ApiUser,
    fake_gemini: FakeGemini,
    fake_stripe: FakeStripe,
    acme_site: RunningSite,
) -> None:
    # Given a worker and a Gemini (fake) configured with an API key
    worker = start_lane_worker(providers)
    # When a generation asks for Gemini descriptions (a paid option: paid through the fake Stripe)
    job_id = await create_llms_job(provider_user.client, hostname=host_of(acme_site), provider="gemini", **SMALL)
    await pay_and_notify(providers.api_url, fake_stripe, job_id)
    row = await wait_until_terminal(providers.engine, job_id, 60)
    # Then it ran on the Gemini lane and succeeded without falling back
    assert row["status"] == "succeeded", row["error"]
    assert row["queue"] == "llms_txt.gemini"
    result = row["result"]
    assert result["provider"] == "gemini"
    assert result["provider_fallbacks"] == 0 and result["provider_errors"] == {}
    # and every description in llms.txt is the model's, as is the summary
    parsed = parse_llms(await download_llms(provider_user, job_id))
    links = [link for section in parsed.sections.values() for link in section]
    assert len(links) == result["pages"] > 1
    assert all(link["desc"] == f"Model description of {link['url']}" for link in links), links[:3]
    assert "Example Site is a fake website" in (parsed.summary or parsed.info)
    # and the key went only in the x-goog-api-key header: never in a URL, a query or a body
    assert fake_gemini.describe_requests()
    for request in fake_gemini.requests:
        assert request.headers.get("x-goog-api-key") == GEMINI_TEST_KEY
        assert GEMINI_TEST_KEY not in request.url and GEMINI_TEST_KEY not in request.query
        assert GEMINI_TEST_KEY not in json.dumps(request.body)
    # and it was neither stored with the job nor logged
    assert GEMINI_TEST_KEY not in json.dumps(result) + str(row["params"]) + str(row["error"])
    assert GEMINI_TEST_KEY not in worker.log_path.read_text(errors="replace")


async def test_a_failing_ollama_falls_back_to_extractive_descriptions(
    providers: IsolatedStack, provider_user: ApiUser, fake_ollama: FakeOllama, acme_site: RunningSite
) -> None:
    # Given an Ollama (fake) that answers every request with HTTP 500
    fake_ollama.mode = "error_500"
    start_lane_worker(providers)
    # When a generation asks for Ollama descriptions
    job_id = await create_llms_job(provider_user.client, hostname=host_of(acme_site), provider="ollama", **SMALL)
    row = await wait_until_terminal(providers.engine, job_id, 90)
    # Then it still succeeds, on the Ollama lane, with every page described without the model
    assert row["status"] == "succeeded", row["error"]
    assert row["queue"] == "llms_txt.ollama"
    result = row["result"]
    assert result["provider"] == "ollama"
    assert result["provider_fallbacks"] == result["pages"] > 1
    assert result["provider_errors"].get("http_5xx", 0) >= 1, result["provider_errors"]
    assert fake_ollama.requests, "the fake Ollama was never called"
    llms = await download_llms(provider_user, job_id)
    assert "Model description" not in llms
    assert len(link_urls(llms)) == result["pages"]


async def test_a_worker_bound_to_one_lane_leaves_the_other_lanes_queued(
    providers: IsolatedStack, provider_user: ApiUser, fake_ollama: FakeOllama, acme_site: RunningSite
) -> None:
    # Given a worker that consumes only the extractive lane
    start_lane_worker(providers, "llms_txt.extractive")
    # When an Ollama job and then an extractive job are started
    ollama_id = await create_llms_job(provider_user.client, hostname=host_of(acme_site), provider="ollama", **SMALL)
    extractive_id = await create_llms_job(provider_user.client, hostname=host_of(acme_site), **SMALL)
    # Then the extractive one runs to the end while the Ollama one stays queued, untouched
    done = await wait_until_terminal(providers.engine, extractive_id, 60)
    assert done["status"] == "succeeded" and done["queue"] == "llms_txt.extractive"
    ollama_row = job_row(providers.engine, ollama_id)
    assert ollama_row["queue"] == "llms_txt.ollama"
    assert ollama_row["status"] == "queued" and ollama_row["attempts"] == 0
    assert fake_ollama.requests == []
    # When a worker for the Ollama lane starts, Then the waiting job runs there
    start_lane_worker(providers, "llms_txt.ollama")
    row = await wait_for_row(providers.engine, ollama_id, lambda r: r["status"] == "succeeded", 60, "succeeded")
    assert row["result"]["provider_fallbacks"] == 0
    assert fake_ollama.describe_requests()
