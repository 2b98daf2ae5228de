"""payments: authorisations and webhook events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 14:55:58.497008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint(
            "source", "external_id", name=op.f("uq_payment_events_source_external_id")
        ),
    )
    op.create_table(
        "payment_authorizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("captured_cents", sa.Integer(), nullable=False),
        sa.Column("refunded_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("external_ref", sa.String(length=255), nullable=True),
        sa.Column("due_in_days", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_cents >= 0", name=op.f("ck_payment_authorizations_amount_not_negative")
        ),
        sa.CheckConstraint(
            "captured_cents >= 0", name=op.f("ck_payment_authorizations_captured_not_negative")
        ),
        sa.CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= captured_cents",
            name=op.f("ck_payment_authorizations_refunded_range"),
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_payment_authorizations_buyer_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_authorizations")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_payment_authorizations_external_ref")),
    )
    with op.batch_alter_table("payment_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_authorizations_buyer_id"), ["buyer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_authorizations_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("payment_authorizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_authorizations_order_id"))
        batch_op.drop_index(batch_op.f("ix_payment_authorizations_buyer_id"))

    op.drop_table("payment_authorizations")
    op.drop_table("payment_events")
