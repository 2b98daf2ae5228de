"""settlement: invoices, invoice counters, payouts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:27:19.894896
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invoice_counters",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
            name=op.f("fk_invoice_counters_network_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("network_id", name=op.f("pk_invoice_counters")),
    )
    op.create_table(
        "payouts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
            name=op.f("fk_payouts_association_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["order_cycles.id"], name=op.f("fk_payouts_cycle_id_order_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["organizations.id"], name=op.f("fk_payouts_network_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint(
            "cycle_id", "association_id", name=op.f("uq_payouts_cycle_id_association_id")
        ),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payouts_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payouts_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payouts_network_id"), ["network_id"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_method", sa.String(length=24), nullable=False),
        sa.Column("purchase_order_number", sa.String(length=64), nullable=True),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("price_breakdown", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["organizations.id"], name=op.f("fk_invoices_buyer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["order_cycles.id"], name=op.f("fk_invoices_cycle_id_order_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["organizations.id"], name=op.f("fk_invoices_network_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_invoices_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("network_id", "sequence", name=op.f("uq_invoices_network_id_sequence")),
        sa.UniqueConstraint("order_id", name=op.f("uq_invoices_order_id")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_network_id"), ["network_id"], unique=False)

    op.create_table(
        "payout_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("payout_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("producer_price_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("price_breakdown", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payout_id"],
            ["payouts.id"],
            name=op.f("fk_payout_lines_payout_id_payouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_payout_lines_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_lines")),
    )
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_lines_payout_id"), ["payout_id"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("price_breakdown", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_invoice_lines_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))

    op.drop_table("invoice_lines")
    with op.batch_alter_table("payout_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_lines_payout_id"))

    op.drop_table("payout_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_network_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_buyer_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_network_id"))
        batch_op.drop_index(batch_op.f("ix_payouts_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_payouts_association_id"))

    op.drop_table("payouts")
    op.drop_table("invoice_counters")
