"""notifications: per-user channel settings and delivery records (filled in by the notifications work)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:30:01
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
