"""Run Alembic migrations from code (the CLI's ``migrate`` and the test fixtures use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(sync_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' must be escaped for configparser; URLs may contain percent-encoded characters.
    config.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return config


def upgrade(sync_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(sync_url), revision)


def downgrade(sync_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(sync_url), revision)
