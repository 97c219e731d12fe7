"""``db.direct``: a group of statements is one transaction in one round trip, and a failed group leaves nothing
and a usable connection."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert

from db.direct import DirectStatement, connection, open_pool
from service.settings import Settings
from tests.support.tcp_proxy import outage_proxy

_things = Table("direct_things", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20)))
_INSERT = DirectStatement(insert(_things).values(id=bindparam("id"), name=bindparam("name")))


async def test_a_group_is_one_transaction_in_one_round_trip(settings: Settings) -> None:
    url = urlsplit(settings.database.url)
    with outage_proxy(url.hostname or "127.0.0.1", url.port or 5432) as proxy:
        # Given a pool that reaches Postgres through a counting proxy, and an empty table
        pool = open_pool(url._replace(netloc=url.netloc.replace(f":{url.port}", f":{proxy.port}")).geturl(), max_size=1)
        await pool.open(wait=True)
        try:
            async with connection(pool) as conn:
                await conn.execute("CREATE TEMP TABLE direct_things (id int PRIMARY KEY, name text)")
                # When a group of rows is inserted
                before = proxy.round_trips
                await _INSERT.execute_many(conn, [{"id": n, "name": f"n{n}"} for n in range(5)])
                # Then it took one round trip and every row is there
                assert proxy.round_trips - before == 1
                assert (await (await conn.execute("SELECT count(*) FROM direct_things")).fetchone()) == (5,)
                # When a group fails on its third row
                with pytest.raises(psycopg.errors.UniqueViolation):
                    await _INSERT.execute_many(conn, [{"id": n, "name": "again"} for n in (10, 11, 3, 12)])
                # Then none of its rows was kept, and the connection is ready for the next statement
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                assert (await (await conn.execute("SELECT count(*) FROM direct_things")).fetchone()) == (5,)
        finally:
            await pool.close()
