"""Alembic environment: online migrations with the URL set by db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import actors.kinds
from db.base import Base
from db.models import *  # noqa: F403  (registers every table on Base.metadata)

actors.kinds.import_all()  # the kinds' own tables join Base.metadata
config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `python -m service migrate`")
run_migrations_online()
