"""aggregation: allocations, delivery orders, purchase campaigns

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 15:02:01.839603
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchase_campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("supplier_name", sa.String(length=200), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("pack_size", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("packs", sa.Integer(), nullable=True),
        sa.Column("pack_price_cents", sa.Integer(), nullable=True),
        sa.Column("total_cost_cents", sa.Integer(), nullable=True),
        sa.Column("rounding", sa.String(length=8), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("purchase_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_campaigns_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "delivery_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(["cycle_id"], ["order_cycles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "association_id"),
    )
    with op.batch_alter_table("delivery_orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_orders_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_orders_collection_centre_id"),
            ["collection_centre_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_delivery_orders_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "purchase_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("tolerance", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("allocated_quantity", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("cost_cents", sa.Integer(), nullable=True),
        sa.Column("cost_alone_cents", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(["campaign_id"], ["purchase_campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "association_id"),
    )
    with op.batch_alter_table("purchase_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_purchase_requests_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_purchase_requests_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "delivery_order_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_order_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("producer_price_cents", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_order_id"], ["delivery_orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["brand_skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_order_id", "sku_id"),
    )
    with op.batch_alter_table("delivery_order_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_order_lines_delivery_order_id"),
            ["delivery_order_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_delivery_order_lines_sku_id"), ["sku_id"], unique=False
        )

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("offer_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("pinned", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("producer_price_cents", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("minimum_waived", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(["cycle_id"], ["order_cycles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["brand_skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "offer_id"),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allocations_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_allocations_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocations_sku_id"), ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocations_sku_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_offer_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_allocations_association_id"))

    op.drop_table("allocations")
    with op.batch_alter_table("delivery_order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_order_lines_sku_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_order_lines_delivery_order_id"))

    op.drop_table("delivery_order_lines")
    with op.batch_alter_table("purchase_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_requests_campaign_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_requests_association_id"))

    op.drop_table("purchase_requests")
    with op.batch_alter_table("delivery_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_orders_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_orders_collection_centre_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_orders_association_id"))

    op.drop_table("delivery_orders")
    with op.batch_alter_table("purchase_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_campaigns_network_id"))

    op.drop_table("purchase_campaigns")
