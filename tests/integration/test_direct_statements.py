"""A group of free jobs created together (``sm.create_direct_many``, the API's creation groups) is one statement in
one round trip: every job with its ``created`` audit event, or, when one of them fails, none of them and a
usable connection."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import Engine, text

from db import state_machine as sm
from db.base import utcnow
from db.direct import connection, open_pool
from service.settings import Settings
from tests.conftest import ApiUser
from tests.support.tcp_proxy import outage_proxy


def _job(owner_id: uuid.UUID, n: int, job_id: uuid.UUID | None = None) -> sm.NewJob:
    now = utcnow()
    return sm.NewJob(
        id=job_id or uuid.uuid4(),
        owner_id=owner_id,
        kind="test_noop",
        params={"n": n},
        status="queued",
        queue="noop",
        max_attempts=1,
        created_at=now,
        queued_at=now,
        message_id=str(uuid.uuid4()),
    )


async def test_a_group_is_one_statement_in_one_round_trip_all_or_none(
    settings: Settings, make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine
) -> None:
    user = await make_user()
    url = urlsplit(settings.database.url)
    with outage_proxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        # Given a pool that reaches Postgres through a counting proxy
        pool = open_pool(url._replace(netloc=url.netloc.replace(f":{url.port}", f":{proxy.port}")).geturl(), max_size=1)
        await pool.open(wait=True)
        try:
            async with connection(pool) as conn:
                # (its first run also prepares the statement on this connection: a round trip of its own)
                await sm.create_direct_many(conn, [(_job(user.id, -1), f"user:{user.id}")])
                # When a group of five jobs is created
                group = [_job(user.id, n) for n in range(5)]
                before = proxy.round_trips
                events = await sm.create_direct_many(conn, [(job, f"user:{user.id}") for job in group])
                # Then it took one round trip, and each job has its live event
                assert proxy.round_trips - before == 1
                assert [event.job_id for event in events] == [job.id for job in group]
                # When a group fails on its third job (an id already taken)
                failing = [_job(user.id, 10), _job(user.id, 11), _job(user.id, 12, job_id=group[0].id)]
                with pytest.raises(psycopg.errors.UniqueViolation):
                    await sm.create_direct_many(conn, [(job, "user:other") for job in failing])
                # Then the connection is ready for the next statement
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        finally:
            await pool.close()
    # And the first group is stored whole, each job with its own params and its created event, and none of the
    # failed group's jobs or events is
    with db_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT j.params->>'n' AS n, j.status, j.message_id, e.actor, e.to_status FROM jobs j "
                "JOIN job_events e ON e.job_id = j.id AND e.type = 'created' WHERE j.owner_id = :owner"
            ),
            {"owner": user.id},
        ).all()
        others = conn.execute(text("SELECT count(*) FROM job_events WHERE actor = 'user:other'")).scalar_one()
    assert sorted(int(row.n) for row in rows) == list(range(-1, 5))
    assert {(row.status, row.actor, row.to_status) for row in rows} == {("queued", f"user:{user.id}", "queued")}
    assert {job.message_id for job in group} <= {row.message_id for row in rows}
    assert others == 0
