"""One trace from a job's POST to its worker's run: the API and a worker run in this process with an in-memory
span exporter (the SDK provider a program installs is used as if ``OTEL_*`` had asked for it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterator

import dramatiq
import pytest
from litestar.testing import AsyncTestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.settings import Settings
from tests.conftest import ApiUser
from tests.support.fake_stripe import FakeStripe

TRACE_KINDS = "tests.support.trace_kinds"
# Building the app in this process meets Litestar 3 deprecation notices about existing handlers (the other tests
# build it in subprocesses, where they are not turned into errors).
pytestmark = [
    pytest.mark.filterwarnings("ignore::litestar.exceptions.LitestarDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Deprecated 'query' parameter:DeprecationWarning"),
]


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def traced_settings(service_env: dict[str, str]) -> Settings:
    modules = ",".join(filter(None, [service_env.get("JOB_KIND_MODULES", ""), TRACE_KINDS]))
    return Settings.from_env({**service_env, "JOB_KIND_MODULES": modules})


@pytest.fixture
def in_process_worker(traced_settings: Settings, exporter: InMemorySpanExporter) -> Iterator[dramatiq.Worker]:
    from service import worker_boot

    broker = worker_boot.configure_worker_broker(traced_settings)
    worker = dramatiq.Worker(broker, queues={"traced"}, worker_threads=1, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop(timeout=10_000)
    broker.close()
    # Dramatiq's Redis broker does not close its client: its consumers' connections would be left to the GC.
    broker.client.connection_pool.disconnect()
    # and the broker the module builds at import (for the dramatiq CLI), unused here
    worker_boot.broker.client.connection_pool.disconnect()


def _wait_for_span(exporter: InMemorySpanExporter, name: str, timeout: float = 30) -> ReadableSpan:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for span in exporter.get_finished_spans():
            if span.name == name:
                return span
        time.sleep(0.05)
    raise AssertionError(f"no span {name!r}; have {[s.name for s in exporter.get_finished_spans()]}")


async def test_one_trace_links_post_claim_run_outbound_call_and_finish(
    make_user: Callable[..., Awaitable[ApiUser]],
    traced_settings: Settings,
    exporter: InMemorySpanExporter,
    in_process_worker: dramatiq.Worker,
    fake_stripe: FakeStripe,
) -> None:
    user = await make_user()
    exporter.clear()
    # Given the API (in this process, traced)
    async with AsyncTestClient(app=create_app(traced_settings)) as client:
        # When a job is started with a POST
        response = await client.post(
            "/api/jobs",
            json={"kind": "test_traced", "params": {"url": f"{fake_stripe.base_url}/health"}},
            headers={"Authorization": f"Bearer {user.api_key}"},
        )
        assert response.status_code == 202, response.text
        job_id = uuid.UUID(response.json()["id"])
        # Then the worker's claim and finish are spans...
        finish = _wait_for_span(exporter, "job running -> succeeded")
    claim = _wait_for_span(exporter, "job queued -> running")
    run = _wait_for_span(exporter, "run job:test_traced:traced")
    spans = exporter.get_finished_spans()
    posts = [s for s in spans if s.kind == trace.SpanKind.SERVER and "POST" in s.name]
    assert posts, [s.name for s in spans]
    post = posts[0]
    # ...in the POST's trace: the run continues the trace the message carried
    trace_id = post.context.trace_id
    assert {claim.context.trace_id, run.context.trace_id, finish.context.trace_id} == {trace_id}
    assert claim.attributes is not None and claim.attributes["job.id"] == str(job_id)
    assert run.parent is not None and run.parent.trace_id == trace_id
    assert claim.parent is not None and claim.parent.span_id == run.context.span_id
    assert finish.parent is not None and finish.parent.span_id == run.context.span_id
    # and the job's outbound call is a child of its run
    outbound = [s for s in spans if s.kind == trace.SpanKind.CLIENT and s.context.trace_id == trace_id]
    assert any(s.parent is not None and s.parent.span_id == run.context.span_id for s in outbound), [
        (s.name, s.kind) for s in spans
    ]
