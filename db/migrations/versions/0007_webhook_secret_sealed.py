"""webhook signing secrets are stored sealed with SECRET_KEY (issue 16): the column grows to hold the token

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:05:00

Existing secrets stay in clear (``whsec_...``) and are sealed by the worker the next time it reads them: this
migration has no key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "notification_preferences",
        "webhook_secret",
        type_=sa.String(length=512),
        existing_type=sa.String(length=128),
        existing_nullable=True,
    )


def downgrade() -> None:
    # Sealed values do not fit back: they are dropped (users rotate their secret again).
    op.execute("UPDATE notification_preferences SET webhook_secret = NULL WHERE length(webhook_secret) > 128")
    op.alter_column(
        "notification_preferences",
        "webhook_secret",
        type_=sa.String(length=128),
        existing_type=sa.String(length=512),
        existing_nullable=True,
    )
