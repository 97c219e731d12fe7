"""``db.direct.DirectStatement``: the parameters psycopg gets are those SQLAlchemy would have sent."""

from __future__ import annotations

from datetime import datetime

from psycopg.types.json import Jsonb
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from db.base import utcnow
from db.direct import DirectStatement

_table = Table(
    "things",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("data", JSONB),
    Column("count", Integer, default=7),
    Column("at", DateTime(timezone=True), default=utcnow),
)


def test_defaults_literals_and_json_are_filled_in() -> None:
    # Given an INSERT with Python-side defaults, a JSONB column and a literal in a CTE's SELECT
    new = insert(_table).values(name=bindparam("name"), data=bindparam("data", type_=JSONB)).returning(_table.c.id)
    statement = select(new.cte("new").c.id, literal("fixed"))
    direct = DirectStatement(statement)
    # When its parameters are built from the caller's values only
    params = direct.parameters({"name": "a", "data": {"k": 1}})
    # Then the defaults were computed, the JSON wrapped for psycopg, and the literal given its value
    assert params["name"] == "a"
    assert params["count"] == 7
    assert isinstance(params["at"], datetime) and params["at"].tzinfo is not None
    assert isinstance(params["data"], Jsonb) and params["data"].obj == {"k": 1}
    assert "fixed" in params.values()
    assert "%(name)s" in direct.sql and "%(count)s" in direct.sql


def test_a_value_given_wins_over_the_default() -> None:
    direct = DirectStatement(insert(_table).values(name=bindparam("name"), count=bindparam("count")))
    assert direct.parameters({"name": "b", "count": 3})["count"] == 3
