"""article orders: the catalog (publisher domains and their articles), orders, their immutable versions and
their audit trail (issue 14)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 03:35:20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_domains",
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("niche", sa.Text(), server_default="", nullable=False),
        sa.Column("language", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("article_price_cents", sa.Integer(), nullable=False),
        sa.Column("backlink_price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), server_default="usd", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "article_price_cents >= 0 AND backlink_price_cents >= 0", name=op.f("ck_catalog_domains_prices_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_domains")),
        sa.UniqueConstraint("hostname", name=op.f("uq_catalog_domains_hostname")),
    )
    op.create_table(
        "catalog_articles",
        sa.Column("domain_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["domain_id"],
            ["catalog_domains.id"],
            name=op.f("fk_catalog_articles_domain_id_catalog_domains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_articles")),
        sa.UniqueConstraint("domain_id", "url", name="uq_catalog_articles_domain_url"),
    )
    op.create_index(op.f("ix_catalog_articles_domain_id"), "catalog_articles", ["domain_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("domain_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=True),
        sa.Column("topic", sa.Text(), server_default="", nullable=False),
        sa.Column("niche", sa.Text(), server_default="", nullable=False),
        sa.Column("keyword", sa.Text(), server_default="", nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("anchor_text", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column("min_words", sa.Integer(), server_default="800", nullable=False),
        sa.Column("max_words", sa.Integer(), server_default="2000", nullable=False),
        sa.Column("allow_external_links", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("complimentary", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("locale", sa.String(length=8), server_default="en", nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("first_job_id", sa.Uuid(), nullable=True),
        sa.Column("current_job_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_version_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending_payment', 'processing', 'quality_check', 'admin_review', 'completed', 'failed', "
            "'cancelled')",
            name=op.f("ck_orders_status_valid"),
        ),
        sa.CheckConstraint("type IN ('article', 'backlink')", name=op.f("ck_orders_type_valid")),
        sa.CheckConstraint("min_words >= 1 AND max_words >= min_words", name=op.f("ck_orders_words_valid")),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["catalog_articles.id"],
            name=op.f("fk_orders_article_id_catalog_articles"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["current_job_id"], ["jobs.id"], name=op.f("fk_orders_current_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["domain_id"], ["catalog_domains.id"], name=op.f("fk_orders_domain_id_catalog_domains"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["first_job_id"], ["jobs.id"], name=op.f("fk_orders_first_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_orders_owner_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(
        "ix_orders_owner_created", "orders", ["owner_id", sa.literal_column("created_at DESC")], unique=False
    )
    op.create_index("ix_orders_status_created", "orders", ["status", "created_at"], unique=False)
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index("ix_order_events_order_at", "order_events", ["order_id", "at"], unique=False)
    op.create_table(
        "order_versions",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("qc_report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("backlink", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("revision_notes", sa.Text(), nullable=True),
        sa.Column("revision_by", sa.Text(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_order_versions_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_versions_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_versions")),
        sa.UniqueConstraint("order_id", "number", name="uq_order_versions_order_number"),
    )
    # Orders and versions refer to each other: this key is added once both tables exist.
    op.create_foreign_key(
        op.f("fk_orders_submitted_version_id_order_versions"),
        "orders",
        "order_versions",
        ["submitted_version_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_orders_submitted_version_id_order_versions"), "orders", type_="foreignkey")
    op.drop_table("order_versions")
    op.drop_index("ix_order_events_order_at", table_name="order_events")
    op.drop_table("order_events")
    op.drop_index("ix_orders_status_created", table_name="orders")
    op.drop_index("ix_orders_owner_created", table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_catalog_articles_domain_id"), table_name="catalog_articles")
    op.drop_table("catalog_articles")
    op.drop_table("catalog_domains")
