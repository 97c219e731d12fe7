"""The Procrastinate peer of ``tests.bench.peers``: a no-op task, Postgres as the queue.

Runs in the benchmark's own virtualenv (Procrastinate is not a dependency of the project). The worker:
``procrastinate --app=procrastinate_peer.app worker --concurrency 8``; the producer:
``procrastinate_peer.cli([N])`` (8 concurrent producers defer N jobs, then it polls until every job
succeeded and prints ``{"jobs", "succeeded", "seconds"}`` as JSON). ``cli(["schema"])``
applies Procrastinate's schema to the (fresh) database.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import procrastinate

PRODUCERS = 8
DSN = os.environ["PEER_DATABASE_URL"]

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=DSN, min_size=1, max_size=PRODUCERS + 2))


@app.task(name="noop", queue="noop")
async def noop() -> None:
    return None


async def _count_succeeded() -> int:
    async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
        cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
        row = await cursor.fetchone()
        return int(row[0])


async def produce(jobs: int) -> dict[str, float | int]:
    before = await _count_succeeded()
    share = [jobs // PRODUCERS + (1 if i < jobs % PRODUCERS else 0) for i in range(PRODUCERS)]

    async def producer(count: int) -> None:
        for _ in range(count):
            await noop.defer_async()

    started = time.monotonic()
    await asyncio.gather(*(producer(n) for n in share))
    deadline = started + 600
    while (done := await _count_succeeded() - before) < jobs and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return {"jobs": jobs, "succeeded": done, "seconds": time.monotonic() - started}


async def main(argv: list[str]) -> None:
    async with app.open_async():
        if argv[0] == "schema":
            await app.schema_manager.apply_schema_async()
            return
        await produce(10)  # warm-up
        print(json.dumps(await produce(int(argv[0]))), flush=True)


def cli(argv: list[str]) -> None:
    asyncio.run(main(argv))


if __name__ == "__main__":
    cli(sys.argv[1:])
