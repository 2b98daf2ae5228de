"""fulfilment: receipts, lots, shipments, vehicles, routes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:10:35.313995
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_windows",
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("opens_min", sa.Integer(), nullable=False),
        sa.Column("closes_min", sa.Integer(), nullable=False),
        sa.Column("service_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "closes_min > opens_min", name=op.f("ck_delivery_windows_closes_after_opening")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_delivery_windows_buyer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("buyer_id", name=op.f("pk_delivery_windows")),
    )
    op.create_table(
        "vehicles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("capacity_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("chilled", sa.Boolean(), nullable=False),
        sa.Column("shift_start_min", sa.Integer(), nullable=False),
        sa.Column("shift_end_min", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("capacity_kg > 0", name=op.f("ck_vehicles_capacity_positive")),
        sa.CheckConstraint(
            "shift_end_min > shift_start_min", name=op.f("ck_vehicles_shift_ends_after_start")
        ),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
            name=op.f("fk_vehicles_collection_centre_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
    )
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vehicles_collection_centre_id"), ["collection_centre_id"], unique=False
        )

    op.create_table(
        "route_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("depot_latitude", sa.Float(), nullable=False),
        sa.Column("depot_longitude", sa.Float(), nullable=False),
        sa.Column("matrix_source", sa.String(length=16), nullable=False),
        sa.Column("routed_m", sa.Integer(), nullable=False),
        sa.Column("legs_to_centre_m", sa.Integer(), nullable=False),
        sa.Column("direct_delivery_m", sa.Integer(), nullable=False),
        sa.Column("unassigned", sa.JSON(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_by_user_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
            name=op.f("fk_route_plans_collection_centre_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_route_plans_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_plans")),
        sa.UniqueConstraint("cycle_id", name=op.f("uq_route_plans_cycle_id")),
    )
    with op.batch_alter_table("route_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_route_plans_collection_centre_id"),
            ["collection_centre_id"],
            unique=False,
        )

    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("chilled", sa.Boolean(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_by_user_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["organizations.id"], name=op.f("fk_shipments_buyer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
            name=op.f("fk_shipments_collection_centre_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_shipments_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("cycle_id", "buyer_id", name=op.f("uq_shipments_cycle_id_buyer_id")),
    )
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipments_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipments_collection_centre_id"), ["collection_centre_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shipments_cycle_id"), ["cycle_id"], unique=False)

    op.create_table(
        "goods_receipts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_order_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("collection_centre_id", sa.String(length=36), nullable=False),
        sa.Column("received_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_alert", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
            name=op.f("fk_goods_receipts_association_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["collection_centre_id"],
            ["organizations.id"],
            name=op.f("fk_goods_receipts_collection_centre_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_goods_receipts_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_order_id"],
            ["delivery_orders.id"],
            name=op.f("fk_goods_receipts_delivery_order_id_delivery_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_receipts")),
    )
    with op.batch_alter_table("goods_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_goods_receipts_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_goods_receipts_collection_centre_id"),
            ["collection_centre_id"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_goods_receipts_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_goods_receipts_delivery_order_id"), ["delivery_order_id"], unique=False
        )

    op.create_table(
        "planned_routes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("departure_s", sa.Integer(), nullable=False),
        sa.Column("load_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["route_plans.id"],
            name=op.f("fk_planned_routes_plan_id_route_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_planned_routes_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_routes")),
    )
    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_planned_routes_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_planned_routes_vehicle_id"), ["vehicle_id"], unique=False
        )

    op.create_table(
        "lots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("delivery_order_id", sa.String(length=36), nullable=False),
        sa.Column("cycle_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("accepted_quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("rejected_quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("temperature_c", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("temperature_alert", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("accepted_quantity >= 0", name=op.f("ck_lots_accepted_not_negative")),
        sa.CheckConstraint("rejected_quantity >= 0", name=op.f("ck_lots_rejected_not_negative")),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
            name=op.f("fk_lots_association_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["order_cycles.id"],
            name=op.f("fk_lots_cycle_id_order_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_order_id"],
            ["delivery_orders.id"],
            name=op.f("fk_lots_delivery_order_id_delivery_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["goods_receipts.id"],
            name=op.f("fk_lots_receipt_id_goods_receipts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_lots_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lots")),
        sa.UniqueConstraint("code", name=op.f("uq_lots_code")),
    )
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lots_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lots_cycle_id"), ["cycle_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lots_delivery_order_id"), ["delivery_order_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lots_receipt_id"), ["receipt_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lots_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "route_stops",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("route_id", sa.String(length=36), nullable=False),
        sa.Column("shipment_id", sa.String(length=36), nullable=False),
        sa.Column("buyer_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("eta_seconds", sa.Integer(), nullable=False),
        sa.Column("load_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["planned_routes.id"],
            name=op.f("fk_route_stops_route_id_planned_routes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_route_stops_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stops")),
    )
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_route_stops_route_id"), ["route_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_route_stops_shipment_id"), ["shipment_id"], unique=False
        )

    op.create_table(
        "shipment_items",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("shipment_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("order_line_id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("confirmed_at_close", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("real_weight_kg", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("returned_quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("return_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipment_items_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_shipment_items_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_items_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["brand_skus.id"], name=op.f("fk_shipment_items_sku_id_brand_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_items")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_shipment_items_order_line_id")),
    )
    with op.batch_alter_table("shipment_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_items_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipment_items_shipment_id"), ["shipment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shipment_items_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "shipment_lots",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("shipment_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("weight_kg", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["shipment_items.id"],
            name=op.f("fk_shipment_lots_item_id_shipment_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["lots.id"], name=op.f("fk_shipment_lots_lot_id_lots"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_lots_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_lots")),
    )
    with op.batch_alter_table("shipment_lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_lots_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shipment_lots_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_shipment_lots_shipment_id"), ["shipment_id"], unique=False
        )

    with op.batch_alter_table("delivery_order_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accepted_quantity", sa.Numeric(precision=14, scale=3), nullable=True)
        )
        batch_op.add_column(
            sa.Column("supplied_quantity", sa.Numeric(precision=14, scale=3), nullable=True)
        )

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("billed_quantity", sa.Numeric(precision=14, scale=3), nullable=True)
        )

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("billed_quantity")

    with op.batch_alter_table("delivery_order_lines", schema=None) as batch_op:
        batch_op.drop_column("supplied_quantity")
        batch_op.drop_column("accepted_quantity")

    with op.batch_alter_table("shipment_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_lots_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_shipment_lots_lot_id"))
        batch_op.drop_index(batch_op.f("ix_shipment_lots_item_id"))

    op.drop_table("shipment_lots")
    with op.batch_alter_table("shipment_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_items_sku_id"))
        batch_op.drop_index(batch_op.f("ix_shipment_items_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_shipment_items_order_id"))

    op.drop_table("shipment_items")
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_stops_shipment_id"))
        batch_op.drop_index(batch_op.f("ix_route_stops_route_id"))

    op.drop_table("route_stops")
    with op.batch_alter_table("lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lots_sku_id"))
        batch_op.drop_index(batch_op.f("ix_lots_receipt_id"))
        batch_op.drop_index(batch_op.f("ix_lots_delivery_order_id"))
        batch_op.drop_index(batch_op.f("ix_lots_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_lots_association_id"))

    op.drop_table("lots")
    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_planned_routes_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_planned_routes_plan_id"))

    op.drop_table("planned_routes")
    with op.batch_alter_table("goods_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_receipts_delivery_order_id"))
        batch_op.drop_index(batch_op.f("ix_goods_receipts_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_goods_receipts_collection_centre_id"))
        batch_op.drop_index(batch_op.f("ix_goods_receipts_association_id"))

    op.drop_table("goods_receipts")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipments_cycle_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_collection_centre_id"))
        batch_op.drop_index(batch_op.f("ix_shipments_buyer_id"))

    op.drop_table("shipments")
    with op.batch_alter_table("route_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_plans_collection_centre_id"))

    op.drop_table("route_plans")
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicles_collection_centre_id"))

    op.drop_table("vehicles")
    op.drop_table("delivery_windows")
    # ### end Alembic commands ###
