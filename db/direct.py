"""Hot statements run on a psycopg connection directly, without SQLAlchemy's work on each execution.

A Core statement is compiled once for psycopg (its SQL text, its bind processors, its Python-side column
defaults and literal values); each execution then costs psycopg alone. Measured on the API's job insert (the
same statement, an autocommit connection, the same machine): 0.25 ms of CPU per execution, against 0.8 ms
through the async engine (greenlet hops, the compiled-cache key, the execution context, pool events).

The connections come from a ``psycopg_pool`` pool of autocommit connections (``open_pool`` for the API's
event loop, ``open_sync_pool`` for a worker's threads), so each statement is its own transaction. The pool
does not ping before use: a connection found dead by a statement fails that statement
(``psycopg.OperationalError``: a 503 in the API, ridden out in a worker) and sets off a check of the pool's
idle connections, so the next statements get working ones.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import msgspec
import psycopg
from psycopg.rows import TupleRow, namedtuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy import CTE, ClauseElement, ColumnClause, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.sql.compiler import SQLCompiler

from db.engine import CONNECT_TIMEOUT_SECONDS

# How long a statement waits for a connection. While Postgres is down a pool cannot make one and the waiter
# is not told why: this bounds how long a request takes to answer 503 (psycopg_pool's default is 30 s).
POOL_TIMEOUT_SECONDS = 5.0

_DIALECT = PGDialectAsync_psycopg()  # type: ignore[no-untyped-call]


class DirectStatement:
    """A Core statement compiled once, executed on a psycopg connection with named parameters."""

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        required = {name for bind, name in compiled.bind_names.items() if bind.required}
        if any(bind.expanding and bind.required for bind in compiled.bind_names):
            raise ValueError("a direct statement cannot take an IN list as a parameter")
        # IN lists of fixed values (``status IN (...)``) rendered once, one parameter per value.
        expanded = compiled.construct_expanded_state(dict.fromkeys(required))
        self.sql: str = expanded.statement
        # The values the statement carries itself (literals, fixed IN lists); the caller gives the rest.
        self._fixed: dict[str, Any] = {k: v for k, v in expanded.parameters.items() if k not in required}
        self._processors: dict[str, Callable[[Any], Any]] = dict(expanded.processors)
        for bind, name in compiled.bind_names.items():
            if bind.expanding:
                continue  # its values, rendered one by one, are in ``expanded.processors``
            processor = bind.type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
            if processor is not None:
                self._processors[name] = processor
        # Columns an INSERT fills from a Python-side default when the caller gives no value.
        self._defaults: dict[str, Callable[[], Any]] = {}
        for column in compiled.insert_prefetch:
            default = column.default
            if default is None or not (default.is_scalar or default.is_callable):
                raise ValueError(f"column {column.key} has a default that cannot be computed without SQLAlchemy")
            self._defaults[column.key] = _default_value(default.arg, default.is_scalar)  # type: ignore[attr-defined]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        params = {**self._fixed, **values}
        for name, default in self._defaults.items():
            if name not in values:
                params[name] = default()
        for name, processor in self._processors.items():
            params[name] = processor(params[name])
        return params

    async def execute(
        self, conn: psycopg.AsyncConnection[TupleRow], values: Mapping[str, Any]
    ) -> psycopg.AsyncCursor[TupleRow]:
        """Run the statement (prepared on the server after its first run on ``conn``)."""
        return await conn.execute(self.sql, self.parameters(values), prepare=True)

    async def fetch_named(self, conn: psycopg.AsyncConnection[TupleRow], values: Mapping[str, Any]) -> Any | None:
        """Run the statement; its first row with its columns as attributes (a named tuple), or None."""
        cursor = conn.cursor(row_factory=namedtuple_row)
        await cursor.execute(self.sql, self.parameters(values), prepare=True)
        return await cursor.fetchone()

    async def fetch_all_named(self, conn: psycopg.AsyncConnection[TupleRow], values: Mapping[str, Any]) -> list[Any]:
        """Run the statement; all its rows as named tuples."""
        cursor = conn.cursor(row_factory=namedtuple_row)
        await cursor.execute(self.sql, self.parameters(values), prepare=True)
        return await cursor.fetchall()

    def execute_sync(self, conn: psycopg.Connection[TupleRow], values: Mapping[str, Any]) -> psycopg.Cursor[TupleRow]:
        """``execute`` on a blocking connection (a worker thread)."""
        return conn.execute(self.sql, self.parameters(values), prepare=True)


def json_rows(parameter: str, name: str, *columns: ColumnClause[Any]) -> CTE:
    """Rows given to a statement as one JSON array parameter (objects keyed by ``columns``' names), as the CTE
    ``name``: a statement for many rows at once (creations, claims, successes) with one parameter for psycopg
    to send, encoded at once by msgspec (``encode_json_rows``), where an array per column costs psycopg a
    Python dumper per element (measured: 297 us for one job's creation against 150 us)."""
    given = (
        func.jsonb_to_recordset(cast(bindparam(parameter, type_=Text()), JSONB))
        .table_valued(*columns)
        .render_derived(name="given", with_types=True)
    )
    return select(given).cte(name)


_encode_json = msgspec.json.Encoder().encode


def encode_json_rows(rows: Sequence[Mapping[str, Any]]) -> str:
    """The value of a ``json_rows`` parameter."""
    return _encode_json(rows).decode()


# The psycopg form of statements run on psycopg connections by their callers' shared code paths, by the
# statement's identity (the statement is kept with it, so its id is never reused).
_compiled: dict[int, tuple[ClauseElement, DirectStatement]] = {}


def compiled(statement: ClauseElement) -> DirectStatement:
    """``statement`` (one built once, as the hot paths' are) compiled for psycopg, once."""
    known = _compiled.get(id(statement))
    if known is None:
        known = _compiled[id(statement)] = (statement, DirectStatement(statement))
    return known[1]


def _default_value(arg: Any, is_scalar: bool) -> Callable[[], Any]:
    if is_scalar:
        return lambda: arg
    # SQLAlchemy wraps a default function to take the execution context, which none of ours reads.
    return lambda: arg(None)


def _pool_arguments(url: str) -> tuple[str, dict[str, Any]]:
    """psycopg's URL for a SQLAlchemy or libpq one, and the connections' settings: autocommit, and the
    engines' connect timeout unless the URL sets its own."""
    scheme, sep, rest = url.partition("://")
    if "+" in scheme:
        url = f"{scheme.split('+', 1)[0]}{sep}{rest}"
    kwargs: dict[str, Any] = {"autocommit": True}
    if "connect_timeout=" not in url:
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    return url, kwargs


def open_pool(url: str, *, max_size: int) -> AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]:
    """A pool of autocommit connections to ``url`` (libpq's or SQLAlchemy's), not yet open (``await
    pool.open()``): one connection kept, up to ``max_size`` while busy."""
    conninfo, kwargs = _pool_arguments(url)
    return AsyncConnectionPool(
        conninfo, min_size=1, max_size=max_size, kwargs=kwargs, open=False, name="direct", timeout=POOL_TIMEOUT_SECONDS
    )


def open_sync_pool(url: str, *, max_size: int) -> ConnectionPool[psycopg.Connection[TupleRow]]:
    """``open_pool`` for threads (a worker process), not yet open (``pool.open()``)."""
    conninfo, kwargs = _pool_arguments(url)
    return ConnectionPool(
        conninfo, min_size=1, max_size=max_size, kwargs=kwargs, open=False, name="direct", timeout=POOL_TIMEOUT_SECONDS
    )


# Checks started after a dead connection was found (held so that they are not garbage-collected midway).
_checks: set[asyncio.Task[None]] = set()


@asynccontextmanager
async def connection(
    pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]],
) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
    """A connection of ``pool`` for one or more autocommit statements.

    Taken and given back with ``getconn``/``putconn`` rather than ``pool.connection()``, whose ``async with``
    on the connection ends each use with a commit, with nothing to commit on an autocommit connection (a
    small saving, within the noise of the benchmarks). ``putconn`` still discards a broken connection and
    rolls back one left in a transaction."""
    conn = await pool.getconn()
    try:
        yield conn
    except psycopg.OperationalError:
        if conn.broken and not _checks:
            # Postgres went away (a restart): the other idle connections are likely dead too.
            task = asyncio.get_running_loop().create_task(pool.check())
            _checks.add(task)
            task.add_done_callback(_checks.discard)
        raise
    finally:
        await pool.putconn(conn)


@contextmanager
def sync_connection(pool: ConnectionPool[psycopg.Connection[TupleRow]]) -> Iterator[psycopg.Connection[TupleRow]]:
    """``connection`` for threads: a dead connection found by a statement has the pool check its idle ones."""
    with pool.connection() as conn:
        try:
            yield conn
        except psycopg.OperationalError:
            if conn.broken and not _sync_checking.locked():
                threading.Thread(target=_check, args=(pool,), name="direct-pool-check", daemon=True).start()
            raise


_sync_checking = threading.Lock()


def _check(pool: ConnectionPool[psycopg.Connection[TupleRow]]) -> None:
    if _sync_checking.acquire(blocking=False):
        try:
            pool.check()
        finally:
            _sync_checking.release()
