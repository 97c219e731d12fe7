"""Article orders through the whole workflow, with a fake language model that answers in 0.5 s.

Ours: ``N`` complimentary orders (no Stripe) from 8 admin customers at once, each driven by its own client:
create -> version 1 (``article-generation``) -> a revision (``backlink-revision``) -> submit -> approve ->
completed; the clients poll ``GET /api/orders/{id}`` once a second. One worker process with 8 threads; the model is the
fake of ``tests/support/fake_chat.py`` (0.5 s per answer, in this process). Orders per minute =
N / (first create -> last completed).

Peer: the same model calls alone (two per order, 8 at once, through the same ``ChatClient``): the rate the
workflow would reach if everything but the model's wait cost nothing. The ratio says what the platform
keeps of that. The extra CPU per order is the API's, the worker's and Postgres's CPU time during the run
divided by N: what an order costs beyond waiting for the model.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx

from actors.llm.chat import ChatClient, ChatConfig
from service.auth.users import create_user_with_key
from service.settings import Settings
from tests.bench.common import HOST, BenchEnv, BenchResult, logged_exceptions
from tests.bench.procstats import MachineLoad, database_cpu_seconds, tree_cpu_seconds, wait_until_quiet
from tests.support.fake_chat import FakeChat
from tests.support.services import free_port, wait_for_http, wait_for_workers

NAME = "article_orders"
MODEL_SECONDS = 0.5
CUSTOMERS = 8
WORKER_THREADS = 8
POLL_SECONDS = 1.0
GOAL_RATIO = 0.7


@dataclass(frozen=True)
class Plan:
    orders: int
    timeout_seconds: float = 600


FULL = Plan(orders=80)
QUICK = Plan(orders=16, timeout_seconds=240)


async def _wait(client: httpx.AsyncClient, order_id: str, status: str, deadline: float) -> dict[str, object]:
    while time.monotonic() < deadline:
        body: dict[str, object] = (await client.get(f"/api/orders/{order_id}")).json()
        if body["status"] == status:
            return body
        if body["status"] in ("failed", "cancelled"):
            raise RuntimeError(f"order {order_id} ended {body['status']}")
        await asyncio.sleep(POLL_SECONDS)
    raise TimeoutError(f"order {order_id} did not reach {status}")


async def _one_order(client: httpx.AsyncClient, host: str, deadline: float) -> None:
    created = await client.post(
        "/api/orders",
        json={
            "type": "article",
            "domain": host,
            "topic": "Brewing green tea",
            "keyword": "green tea",
            "target_url": "https://shop.test/green-tea",
            "anchor_text": "green tea shop",
            "complimentary": True,
        },
    )
    created.raise_for_status()
    order_id = created.json()["id"]
    await _wait(client, order_id, "quality_check", deadline)
    (await client.post(f"/api/orders/{order_id}/revisions", json={"notes": "Shorter intro."})).raise_for_status()
    ready = await _wait(client, order_id, "quality_check", deadline)
    latest = ready["latest_version"]
    assert isinstance(latest, dict)
    (await client.post(f"/api/orders/{order_id}/submit", json={"version_id": latest["id"]})).raise_for_status()
    (await client.post(f"/api/admin/orders/{order_id}/approve", json={})).raise_for_status()


async def _workflow(base: str, keys: list[str], plan: Plan) -> float:
    clients = [httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {k}"}, timeout=60) for k in keys]
    try:
        host = "bench.example.com"
        domain = await clients[0].post(
            "/api/catalog/domains",
            json={"hostname": host, "article_price_cents": 100, "backlink_price_cents": 100, "language": "en"},
        )
        domain.raise_for_status()
        started = time.monotonic()
        deadline = started + plan.timeout_seconds
        await asyncio.gather(*(_one_order(clients[i % len(clients)], host, deadline) for i in range(plan.orders)))
        return time.monotonic() - started
    finally:
        for client in clients:
            await client.aclose()


async def _model_only(fake: FakeChat, calls: int) -> float:
    config = ChatConfig(
        provider="openai", base_url=f"{fake.url}/v1", model="fake", api_key=fake.env()["OPENAI_API_KEY"]
    )
    prompt = "Task: write a new article.\nTopic: Brewing green tea\nTarget URL: https://shop.test/x\nAnchor text: x"
    limit = asyncio.Semaphore(WORKER_THREADS)
    async with httpx.AsyncClient() as http:
        client = ChatClient(http, config)

        async def one() -> None:
            async with limit:
                await client.ask("system", prompt)

        started = time.monotonic()
        await asyncio.gather(*(one() for _ in range(calls)))
        return time.monotonic() - started


def run(env: BenchEnv, quick: bool) -> BenchResult:
    plan = QUICK if quick else FULL
    fake = FakeChat(delay_seconds=MODEL_SECONDS)
    fake.start()
    try:
        settings = Settings.from_env(env.env)
        keys = [
            asyncio.run(
                create_user_with_key(
                    settings,
                    email=f"orders-{uuid.uuid4().hex[:8]}@example.com",
                    password="bench password",
                    is_admin=True,
                )
            )[1]
            for _ in range(CUSTOMERS)
        ]
        extra = {**fake.env(), "PUBLIC_URL": "http://127.0.0.1"}
        port = free_port()
        api = env.start_service("api", "--host", HOST, "--port", str(port), name="orders-api", env=extra)
        base = f"http://{HOST}:{port}"
        wait_for_http(f"{base}/api/health", api)
        worker = env.start_service(
            "worker", "--processes", "1", "--threads", str(WORKER_THREADS), name="orders-worker", env=extra
        )
        wait_for_workers(base)
        # The clock and the CPU counters start once the worker's start-up (its pool processes' imports) is over.
        wait_until_quiet(worker.pid)

        def cpu_now() -> tuple[float, float, float]:
            return tree_cpu_seconds(api.pid), tree_cpu_seconds(worker.pid), database_cpu_seconds(env.database_name)

        cpu_before = cpu_now()
        load = MachineLoad()
        seconds = asyncio.run(_workflow(base, keys, plan))
        busy = load.busy_cores()
        api_cpu, worker_cpu, db_cpu = (after - before for after, before in zip(cpu_now(), cpu_before, strict=True))
        cpu = api_cpu + worker_cpu + db_cpu
        calls = len(fake.prompts)
        model_seconds = asyncio.run(_model_only(fake, calls))
    finally:
        fake.stop()
    per_minute = plan.orders / seconds * 60
    model_per_minute = plan.orders / model_seconds * 60
    ratio = per_minute / model_per_minute
    cpu_ms = cpu / plan.orders * 1000
    figures = {
        "orders": plan.orders,
        "model_calls": calls,
        "orders_per_minute": round(per_minute, 1),
        "model_only_orders_per_minute": round(model_per_minute, 1),
        "ratio_to_model_only": round(ratio, 2),
        "extra_cpu_ms_per_order": round(cpu_ms, 1),
        "api_cpu_ms_per_order": round(api_cpu / plan.orders * 1000, 1),
        "worker_cpu_ms_per_order": round(worker_cpu / plan.orders * 1000, 1),
        "postgres_cpu_ms_per_order": round(db_cpu / plan.orders * 1000, 1),
        "machine_busy_cores": round(busy, 2),
        "worker_errors": logged_exceptions(worker.log_path),
    }
    return BenchResult(
        NAME,
        f"{per_minute:.0f} orders/min through the whole workflow (2 model calls of {MODEL_SECONDS} s each), "
        f"{ratio:.2f}x the model-only rate ({model_per_minute:.0f}/min); {cpu_ms:.0f} ms of CPU per order "
        f"(API + worker + Postgres) beyond the model's wait",
        figures,
        goal=f"at least {GOAL_RATIO}x the model-only rate",
        goal_met=ratio >= GOAL_RATIO,
        notes=[
            f"CPU per order: API {figures['api_cpu_ms_per_order']} ms (with the clients' polls), worker "
            f"{figures['worker_cpu_ms_per_order']} ms, Postgres {figures['postgres_cpu_ms_per_order']} ms"
        ],
    )
