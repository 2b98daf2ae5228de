"""orders: cycles, stock, offers, orders, standing orders, idempotency

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:56:39.371874
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "principal", "key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "order_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=True),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("actor_user_id", sa.String(length=36), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_events_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "order_cycles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("allocation_policy", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "closes_at > opens_at", name=op.f("ck_order_cycles_closes_after_opening")
        ),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
            name=op.f("fk_order_cycles_collection_centre_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
            name=op.f("fk_order_cycles_network_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_cycles")),
    )
    with op.batch_alter_table("order_cycles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_cycles_closes_at"), ["closes_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_order_cycles_collection_centre_id"),
            ["collection_centre_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_order_cycles_network_id"), ["network_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_cycles_opens_at"), ["opens_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_cycles_status"), ["status"], unique=False)

    op.create_table(
        "standing_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("payment_method", sa.String(length=24), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_standing_orders_buyer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
            name=op.f("fk_standing_orders_network_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_orders")),
    )
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_standing_orders_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_standing_orders_network_id"), ["network_id"], unique=False
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payment_method", sa.String(length=24), nullable=False),
        sa.Column("payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("purchase_order_number", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("final_total_cents", sa.Integer(), nullable=True),
        sa.Column("standing_order_id", sa.String(length=36), nullable=True),
        sa.Column("placed_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["organizations.id"], name=op.f("fk_orders_buyer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["order_cycles.id"], name=op.f("fk_orders_cycle_id_order_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_orders_standing_order_id"), ["standing_order_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)

    op.create_table(
        "standing_order_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("standing_order_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_standing_order_runs_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["standing_order_id"],
            ["standing_orders.id"],
            name=op.f("fk_standing_order_runs_standing_order_id_standing_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standing_order_runs")),
        sa.UniqueConstraint(
            "standing_order_id",
            "cycle_id",
            name=op.f("uq_standing_order_runs_standing_order_id_cycle_id"),
        ),
    )
    with op.batch_alter_table("standing_order_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_standing_order_runs_cycle_id"), ["cycle_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_standing_order_runs_standing_order_id"),
            ["standing_order_id"],
            unique=False,
        )

    op.create_table(
        "cycle_skus",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("offered_milli", sa.BigInteger(), nullable=False),
        sa.Column("reserved_milli", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "reserved_milli <= offered_milli", name=op.f("ck_cycle_skus_reserved_within_offered")
        ),
        sa.CheckConstraint("reserved_milli >= 0", name=op.f("ck_cycle_skus_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_cycle_skus_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_cycle_skus_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_skus")),
        sa.UniqueConstraint("cycle_id", "sku_id", name=op.f("uq_cycle_skus_cycle_id_sku_id")),
    )
    with op.batch_alter_table("cycle_skus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cycle_skus_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cycle_skus_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("preferred_association_id", sa.String(length=36), nullable=True),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.Column("confirmed_quantity", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("final_unit_price_cents", sa.Integer(), nullable=True),
        sa.Column("delivered_quantity", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_lines_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["preferred_association_id"],
            ["organizations.id"],
            name=op.f("fk_order_lines_preferred_association_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_order_lines_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_lines")),
        sa.UniqueConstraint("order_id", "sku_id", name=op.f("uq_order_lines_order_id_sku_id")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_lines_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_lines_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "offers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("supplier_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("min_delivery", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_offers_quantity_not_negative")),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
            name=op.f("fk_offers_association_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_offers_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_offers_sku_id_brand_skus")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["sku_suppliers.id"], name=op.f("fk_offers_supplier_id_sku_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint(
            "cycle_id",
            "sku_id",
            "association_id",
            name=op.f("uq_offers_cycle_id_sku_id_association_id"),
        ),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offers_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_offers_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_offers_sku_id"), ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_sku_id"))
        batch_op.drop_index(batch_op.f("ix_offers_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_offers_association_id"))

    op.drop_table("offers")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_sku_id"))
        batch_op.drop_index(batch_op.f("ix_order_lines_order_id"))

    op.drop_table("order_lines")
    with op.batch_alter_table("cycle_skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cycle_skus_sku_id"))
        batch_op.drop_index(batch_op.f("ix_cycle_skus_cycle_id"))

    op.drop_table("cycle_skus")
    with op.batch_alter_table("standing_order_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standing_order_runs_standing_order_id"))
        batch_op.drop_index(batch_op.f("ix_standing_order_runs_cycle_id"))

    op.drop_table("standing_order_runs")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_status"))
        batch_op.drop_index(batch_op.f("ix_orders_standing_order_id"))
        batch_op.drop_index(batch_op.f("ix_orders_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_orders_buyer_id"))

    op.drop_table("orders")
    with op.batch_alter_table("standing_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_standing_orders_network_id"))
        batch_op.drop_index(batch_op.f("ix_standing_orders_buyer_id"))

    op.drop_table("standing_orders")
    with op.batch_alter_table("order_cycles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_cycles_status"))
        batch_op.drop_index(batch_op.f("ix_order_cycles_opens_at"))
        batch_op.drop_index(batch_op.f("ix_order_cycles_network_id"))
        batch_op.drop_index(batch_op.f("ix_order_cycles_collection_centre_id"))
        batch_op.drop_index(batch_op.f("ix_order_cycles_closes_at"))

    op.drop_table("order_cycles")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_events_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_events_cycle_id"))

    op.drop_table("order_events")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
