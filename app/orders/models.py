"""Tables of the orders domain: cycles, per-SKU stock, offers, orders, standing orders and
the append-only event log of orders and cycles."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import foreign_key, id_field, quantity_field, timestamp
from app.core.timeutil import UTCDateTime


class CycleStatus(StrEnum):
    scheduled = "scheduled"
    open = "open"
    closed = "closed"
    # settlement has started (captures, then the books): finished by whoever resumes it
    settling = "settling"
    settled = "settled"


class AllocationPolicy(StrEnum):
    proportional = "proportional"
    equal_share = "equal_share"
    income_equalizing = "income_equalizing"
    per_member_equalizing = "per_member_equalizing"


# per_member_equalizing's floor when the network has not set one (aggregation.types says why)
DEFAULT_FLOOR_PERCENT = 50


class PaymentMethod(StrEnum):
    """How a buyer pays an order; the payments domain provides each method."""

    card = "card"
    invoice = "invoice"
    cash_on_delivery = "cash_on_delivery"


class OrderStatus(StrEnum):
    placed = "placed"
    cancelled = "cancelled"
    confirmed = "confirmed"
    delivered = "delivered"
    # its shipment failed (the buyer was not there, the truck broke down): nothing is billed
    not_delivered = "not_delivered"


class OrderEventType(StrEnum):
    """What can happen to an order after it is placed (``orders/lifecycle.py`` writes them)."""

    placed = "order.placed"
    changed = "order.changed"
    cancelled = "order.cancelled"
    confirmed = "order.confirmed"
    cut = "order.cut"
    packed = "order.packed"
    delivered = "order.delivered"
    delivery_failed = "order.delivery_failed"
    billed = "order.billed"
    credited = "order.credited"
    payment_needed = "order.payment_needed"


class OrderCycle(SQLModel, table=True):
    __tablename__ = "order_cycles"
    __table_args__ = (
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint(
            "allocation_floor_percent >= 0 AND allocation_floor_percent <= 100",
            name="allocation_floor_in_range",
        ),
    )

    id: str = id_field()
    network_id: str = foreign_key("organizations.id")
    collection_centre_id: str = foreign_key("organizations.id")
    opens_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    closes_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    delivery_date: date
    timezone: str = Field(max_length=64)
    currency: str = Field(sa_type=String(3))
    allocation_policy: str = Field(sa_type=String(32))
    # per_member_equalizing's floor: the share (in %) of proportional's allocation that every
    # association keeps; the network's setting when the cycle was created
    allocation_floor_percent: int = DEFAULT_FLOOR_PERCENT
    status: str = Field(default=CycleStatus.scheduled, sa_type=String(16), index=True)
    created_at: datetime = timestamp()
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CycleSku(SQLModel, table=True):
    """Supply of one SKU in one cycle. ``reserved`` only ever moves with a conditional
    ``UPDATE … WHERE offered - reserved >= :q``, so no order can oversell it.

    Counted in thousandths of the sale unit as integers: SQL arithmetic on them is exact on
    SQLite too (which has no decimal type) and matches the quantities' scale of 3.
    """

    __tablename__ = "cycle_skus"
    __table_args__ = (
        UniqueConstraint("cycle_id", "sku_id"),
        CheckConstraint("reserved_milli >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved_milli <= offered_milli", name="reserved_within_offered"),
    )

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    sku_id: str = foreign_key("brand_skus.id")
    offered_milli: int = Field(default=0, sa_type=BigInteger)
    reserved_milli: int = Field(default=0, sa_type=BigInteger)


class Offer(SQLModel, table=True):
    """What one approved supplier association can deliver of a SKU in a cycle."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("cycle_id", "sku_id", "association_id"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    sku_id: str = foreign_key("brand_skus.id")
    association_id: str = foreign_key("organizations.id")
    supplier_id: str = foreign_key("sku_suppliers.id", index=False)
    quantity: Decimal = quantity_field()
    min_delivery: Decimal = quantity_field(Decimal(0))
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class Order(SQLModel, table=True):
    __tablename__ = "orders"

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id")
    buyer_id: str = foreign_key("organizations.id")
    status: str = Field(default=OrderStatus.placed, sa_type=String(16), index=True)
    payment_method: str = Field(sa_type=String(24))
    payment_method_id: str | None = Field(default=None, max_length=255)
    purchase_order_number: str | None = Field(default=None, max_length=64)
    currency: str = Field(sa_type=String(3))
    total_cents: int = 0
    final_total_cents: int | None = None
    standing_order_id: str | None = Field(default=None, max_length=36, index=True)
    placed_by_user_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # why the order's card could not be charged (its hold was cancelled, expired or failed):
    # it is invoiced on terms instead, and the network collects it
    payment_issue: str | None = Field(default=None, max_length=500)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "sku_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # Half of each page stays free: closing a cycle updates every one of its lines in
        # one transaction, and with room on the same page each update is a HOT update (no
        # new entry in the four indexes, no new page): about 8 times faster at 100k lines.
        # The later updates (packing, delivery) reuse the space the close's versions free.
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: str = id_field()
    order_id: str = foreign_key("orders.id", ondelete="CASCADE")
    sku_id: str = foreign_key("brand_skus.id")
    quantity: Decimal = quantity_field()
    preferred_association_id: str | None = Field(
        default=None, max_length=36, foreign_key="organizations.id"
    )
    unit_price_cents: int
    confirmed_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    final_unit_price_cents: int | None = None
    delivered_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    # what the buyer pays for: the real weight for variable-weight goods, else delivered
    billed_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    # what credit notes took back after the invoice (in the billed quantity's unit)
    credited_quantity: Decimal = quantity_field(Decimal(0))


class OrderEvent(SQLModel, table=True):
    """Append-only history of cycles and orders: what happened, when, by whom."""

    __tablename__ = "order_events"

    id: str = id_field()
    cycle_id: str | None = Field(default=None, max_length=36, index=True)
    order_id: str | None = Field(default=None, max_length=36, index=True)
    type: str = Field(max_length=48)
    actor_user_id: str | None = Field(default=None, max_length=36)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = timestamp()


class StandingOrder(SQLModel, table=True):
    """A restaurant's regular order, placed by itself into each new cycle of the network."""

    __tablename__ = "standing_orders"

    id: str = id_field()
    buyer_id: str = foreign_key("organizations.id")
    network_id: str = foreign_key("organizations.id")
    payment_method: str = Field(sa_type=String(24))
    payment_method_id: str | None = Field(default=None, max_length=255)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    active: bool = True
    created_at: datetime = timestamp()


class StandingOrderRun(SQLModel, table=True):
    """One placement of a standing order in a cycle (at most one), with what was skipped."""

    __tablename__ = "standing_order_runs"
    __table_args__ = (UniqueConstraint("standing_order_id", "cycle_id"),)

    id: str = id_field()
    standing_order_id: str = foreign_key("standing_orders.id", ondelete="CASCADE")
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    order_id: str | None = Field(default=None, max_length=36)
    skipped: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = timestamp()
