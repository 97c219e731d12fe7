"""Alembic migrations on an empty database: up to head, down to base, and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import actors.kinds
from db.base import Base
from db.engine import make_engine
from db.migrate import alembic_config, downgrade, upgrade
from service.settings import Settings
from tests.support.services import admin_database_url, create_database, drop_database, unique_name

actors.kinds.import_all()  # the kinds' own tables join Base.metadata

APP_TABLES = {
    "users",
    "api_keys",
    "user_sessions",
    "jobs",
    "job_events",
    "scheduler_runs",
    "stripe_events",
    "job_polls",
    "notifications",
    "notification_preferences",
    "job_logs",
    "payments",
    # The article kind's own tables (actors/kinds/article/models).
    "catalog_domains",
    "catalog_articles",
    "orders",
    "order_versions",
    "order_events",
}


@pytest.fixture
def fresh_database_url() -> Iterator[str]:
    """The sync SQLAlchemy URL of a new, empty database, dropped afterwards."""
    admin = admin_database_url()
    name = unique_name("genjobs_migrate")
    url = create_database(admin, name)
    try:
        yield Settings.from_env({"DATABASE_URL": url}).database.sync_url
    finally:
        drop_database(admin, name)


def tables_and_revision(url: str) -> tuple[set[str], list[str]]:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = (
                list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
                if "alembic_version" in tables
                else []
            )
    finally:
        engine.dispose()
    return tables - {"alembic_version"}, revision


def test_upgrade_downgrade_upgrade(fresh_database_url: str) -> None:
    url = fresh_database_url
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    # Given an empty database
    assert tables_and_revision(url) == (set(), [])
    # When it is upgraded to head, then the tables exist and the version is head
    upgrade(url)
    assert tables_and_revision(url) == (APP_TABLES, [head])
    # When it is downgraded to base, then they are gone
    downgrade(url, "base")
    assert tables_and_revision(url) == (set(), [])
    # When it is upgraded again, it works just as the first time
    upgrade(url)
    assert tables_and_revision(url) == (APP_TABLES, [head])
    # And upgrading an up-to-date database changes nothing
    upgrade(url)
    assert tables_and_revision(url) == (APP_TABLES, [head])


def test_migrations_match_the_models(fresh_database_url: str) -> None:
    # The models and the migrations describe the same schema: nothing left for autogenerate to add.
    upgrade(fresh_database_url)
    engine = make_engine(fresh_database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_payment_columns_move_to_their_table_and_back(fresh_database_url: str) -> None:
    # Given a database at 0009 with a paid job (its payment on the jobs row) and a free one
    url = fresh_database_url
    upgrade(url, "0009")
    engine = make_engine(url, pool_size=1)
    user_id, paid_id, free_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    jobs = (
        "INSERT INTO jobs (id, owner_id, kind, params, status, queue, {cols}) VALUES (:id, :user, 'llms_txt', '{{}}', "
        "'failed', 'default', {vals})"
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO users (id, email, password_hash) VALUES (:id, 'old@example.test', 'x')"),
                {"id": user_id},
            )
            conn.execute(
                text(
                    jobs.format(
                        cols="amount_cents, currency, payment_session_id, payment_url, payment_status, "
                        "payment_intent_id, refund_id, refund_status",
                        vals="250, 'usd', 'cs_old', 'https://pay.example/cs_old', 'paid', 'pi_old', 're_old', "
                        "'pending'",
                    )
                ),
                {"id": paid_id, "user": user_id},
            )
            conn.execute(text(jobs.format(cols="title", vals="'free'")), {"id": free_id, "user": user_id})
        # When it is upgraded, then the paid job has one payment row holding what its columns held
        upgrade(url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT job_id, amount_cents, currency, session_id, url, status, intent_id, refund_id, "
                    "refund_status FROM payments"
                )
            ).all()
            columns = {c["name"] for c in inspect(conn).get_columns("jobs")}
        assert [tuple(r) for r in rows] == [
            (paid_id, 250, "usd", "cs_old", "https://pay.example/cs_old", "paid", "pi_old", "re_old", "pending")
        ]
        assert not columns & {"amount_cents", "payment_status", "refund_id"}
        # And downgraded again, the columns are back on the job with the same values
        downgrade(url, "0009")
        with engine.connect() as conn:
            back = conn.execute(
                text("SELECT id, amount_cents, payment_session_id, refund_status FROM jobs ORDER BY title NULLS FIRST")
            ).all()
        assert [tuple(r) for r in back] == [(paid_id, 250, "cs_old", "pending"), (free_id, None, None, None)]
    finally:
        engine.dispose()
