"""Tables of the collection centre: goods receipts and their lots, shipments, vehicles,
buyers' delivery windows and route plans.

As elsewhere, no ORM relationships: rows are joined explicitly in queries, one query per
table for a whole page.
"""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import foreign_key, id_field, quantity_field, timestamp
from app.core.timeutil import UTCDateTime


class ShipmentStatus(StrEnum):
    packed = "packed"
    delivered = "delivered"
    # it never reached the buyer (marked by the centre with a reason): nothing billed for it
    failed = "failed"


def _kg(*, optional: bool = False) -> Any:
    if optional:
        return Field(default=None, max_digits=12, decimal_places=3)
    return Field(default=Decimal(0), max_digits=12, decimal_places=3)


class GoodsReceipt(SQLModel, table=True):
    """One arrival of goods of a delivery order at the collection centre (there may be
    several: partial deliveries add up)."""

    __tablename__ = "goods_receipts"

    id: str = id_field()
    delivery_order_id: str = foreign_key("delivery_orders.id", ondelete="CASCADE")
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    association_id: str = foreign_key("organizations.id")
    collection_centre_id: str = foreign_key("organizations.id")
    received_by_user_id: str | None = Field(default=None, max_length=36)
    received_at: datetime = timestamp()
    temperature_alert: bool = False


class Lot(SQLModel, table=True):
    """One line of a receipt: a lot of one SKU from one association, with what was accepted
    and rejected, its real weight and temperature. Lot codes are unique everywhere: they are
    printed on labels and resolve to this row from a QR code."""

    __tablename__ = "lots"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("accepted_quantity >= 0", name="accepted_not_negative"),
        CheckConstraint("rejected_quantity >= 0", name="rejected_not_negative"),
    )

    id: str = id_field()
    code: str = Field(max_length=40)
    receipt_id: str = foreign_key("goods_receipts.id", ondelete="CASCADE")
    delivery_order_id: str = foreign_key("delivery_orders.id", ondelete="CASCADE")
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    association_id: str = foreign_key("organizations.id")
    sku_id: str = foreign_key("brand_skus.id")
    product_id: str = Field(max_length=36)
    product_version: int
    accepted_quantity: Decimal = quantity_field()
    rejected_quantity: Decimal = quantity_field(Decimal(0))
    rejection_reason: str | None = Field(default=None, max_length=500)
    weight_kg: Decimal | None = _kg(optional=True)
    temperature_c: Decimal | None = Field(default=None, max_digits=4, decimal_places=1)
    temperature_alert: bool = False
    received_at: datetime = timestamp()


class Shipment(SQLModel, table=True):
    """Everything one buyer gets in one cycle, packed at the centre."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("cycle_id", "buyer_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    buyer_id: str = foreign_key("organizations.id")
    collection_centre_id: str = foreign_key("organizations.id")
    status: str = Field(default=ShipmentStatus.packed, sa_type=String(16))
    weight_kg: Decimal = _kg()
    chilled: bool = False
    built_at: datetime = timestamp()
    received_by: str | None = Field(default=None, max_length=200)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_by_user_id: str | None = Field(default=None, max_length=36)
    failure_reason: str | None = Field(default=None, max_length=500)


class ShipmentItem(SQLModel, table=True):
    """One buyer order line in a shipment. ``confirmed_at_close`` keeps what the close had
    confirmed, so that building the shipments again starts from the same point."""

    __tablename__ = "shipment_items"
    __table_args__ = (UniqueConstraint("order_line_id"),)

    id: str = id_field()
    shipment_id: str = foreign_key("shipments.id", ondelete="CASCADE")
    order_id: str = foreign_key("orders.id")
    order_line_id: str = foreign_key("order_lines.id", index=False)
    sku_id: str = foreign_key("brand_skus.id")
    confirmed_at_close: Decimal = quantity_field()
    quantity: Decimal = quantity_field()
    weight_kg: Decimal = _kg()
    real_weight_kg: Decimal | None = _kg(optional=True)
    returned_quantity: Decimal = quantity_field(Decimal(0))
    return_reason: str | None = Field(default=None, max_length=500)


class ShipmentLot(SQLModel, table=True):
    """The part of a lot packed for one shipment item (first received, first out)."""

    __tablename__ = "shipment_lots"

    id: str = id_field()
    shipment_id: str = foreign_key("shipments.id", ondelete="CASCADE")
    item_id: str = foreign_key("shipment_items.id", ondelete="CASCADE")
    lot_id: str = foreign_key("lots.id", ondelete="CASCADE")
    quantity: Decimal = quantity_field()
    # the lot's real weight prorated to this quantity, when the lot was weighed
    weight_kg: Decimal | None = _kg(optional=True)
    # this lot's part of the line: what the buyer kept of it (nominal) and is billed for it
    # (the weighed quantity for variable-weight goods); the association that supplied the
    # lot is paid on the same billed quantity
    kept_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    kept_billed_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicles"
    __table_args__ = (
        CheckConstraint("capacity_kg > 0", name="capacity_positive"),
        CheckConstraint("shift_end_min > shift_start_min", name="shift_ends_after_start"),
        CheckConstraint("capacity_crates IS NULL OR capacity_crates > 0", name="crates_positive"),
        CheckConstraint(
            "fixed_cost_cents >= 0 AND cost_per_km_cents >= 0", name="costs_not_negative"
        ),
        CheckConstraint(
            "max_route_minutes IS NULL OR max_route_minutes > 0", name="max_route_positive"
        ),
        CheckConstraint(
            "(break_start_min IS NULL AND break_end_min IS NULL AND break_minutes = 0) OR "
            "(break_end_min >= break_start_min AND break_minutes > 0)",
            name="break_complete",
        ),
    )

    id: str = id_field()
    collection_centre_id: str = foreign_key("organizations.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    capacity_kg: Decimal = Field(max_digits=12, decimal_places=3)
    chilled: bool = False
    shift_start_min: int = 6 * 60
    shift_end_min: int = 18 * 60
    active: bool = True
    # a second capacity dimension: crates (None: any number); see routes.crates_of_line
    capacity_crates: int | None = None
    # what using the vehicle costs (the planner trades trucks against kilometres)
    fixed_cost_cents: int = 0
    cost_per_km_cents: int = 100
    # the most the route may take driving and serving (waiting not counted)
    max_route_minutes: int | None = None
    # the driver's break: it starts between break_start_min and break_end_min
    break_start_min: int | None = None
    break_end_min: int | None = None
    break_minutes: int = 0
    created_at: datetime = timestamp()


class DeliveryWindow(SQLModel, table=True):
    """When a buyer takes deliveries (local time of the network), and how long unloading
    takes. A buyer without a row takes them all day, in ten minutes."""

    __tablename__ = "delivery_windows"
    __table_args__ = (CheckConstraint("closes_min > opens_min", name="closes_after_opening"),)

    buyer_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", primary_key=True
    )
    opens_min: int = 0
    closes_min: int = 24 * 60
    service_minutes: int = 10
    # further windows of the same day, [[opens_min, closes_min], ...] sorted, after the first
    more_windows: list[list[int]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime = timestamp()


class RoutePlan(SQLModel, table=True):
    """The planned delivery day of a cycle (one per cycle; planning again replaces it)."""

    __tablename__ = "route_plans"
    __table_args__ = (UniqueConstraint("cycle_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE", index=False)
    collection_centre_id: str = foreign_key("organizations.id")
    depot_latitude: float
    depot_longitude: float
    matrix_source: str = Field(max_length=16)
    routed_m: int = 0
    cost_cents: int = 0
    legs_to_centre_m: int = 0
    direct_delivery_m: int = 0
    unassigned: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    planned_at: datetime = timestamp()
    planned_by_user_id: str | None = Field(default=None, max_length=36)


class PlannedRoute(SQLModel, table=True):
    __tablename__ = "planned_routes"

    id: str = id_field()
    plan_id: str = foreign_key("route_plans.id", ondelete="CASCADE")
    vehicle_id: str = foreign_key("vehicles.id", ondelete="CASCADE")
    position: int
    distance_m: int
    duration_s: int
    departure_s: int = 0
    load_kg: Decimal = _kg()
    crates: int = 0
    cost_cents: int = 0
    break_start_s: int | None = None
    # when the vehicle left the centre (POST /routes/{id}/depart): its buyers are told
    departed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RouteStop(SQLModel, table=True):
    __tablename__ = "route_stops"

    id: str = id_field()
    route_id: str = foreign_key("planned_routes.id", ondelete="CASCADE")
    shipment_id: str = foreign_key("shipments.id", ondelete="CASCADE")
    buyer_id: str = Field(max_length=36)
    sequence: int
    eta_seconds: int
    load_kg: Decimal = _kg()
    crates: int = 0
    latitude: float
    longitude: float
