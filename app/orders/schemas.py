"""API shapes of the orders domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from app.core.ids import Id, ProviderId
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict
from app.orders.models import AllocationPolicy, CycleStatus, OrderStatus, PaymentMethod


class CycleCreate(Strict):
    network_id: Id
    collection_centre_id: Id
    opens_at: datetime = Field(
        description="With an offset; a time without one is read in the network's time zone"
    )
    closes_at: datetime = Field(description="The cut-off, judged in the network's time zone")
    delivery_date: date
    allocation_policy: AllocationPolicy = AllocationPolicy.proportional
    allocation_floor_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="per_member_equalizing's floor: the share (%) of what proportional "
        "would give an association that it keeps; the network's setting by default (50)",
    )


class CyclePublic(BaseModel):
    id: str
    network_id: str
    network_name: str
    collection_centre_id: str
    collection_centre_name: str
    opens_at: datetime
    closes_at: datetime
    delivery_date: date
    timezone: str
    currency: str
    allocation_policy: AllocationPolicy
    allocation_floor_percent: int
    status: CycleStatus
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None


class OfferCreate(Strict):
    sku_id: Id
    association_id: Id
    quantity: PositiveQuantity
    min_delivery: Quantity = Field(default=Decimal(0))


class OfferUpdate(Strict):
    quantity: Quantity
    min_delivery: Quantity | None = None


class OfferPublic(BaseModel):
    id: str
    cycle_id: str
    sku_id: str
    sku_name: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    quantity: Quantity
    min_delivery: Quantity
    created_at: datetime
    updated_at: datetime


class Availability(BaseModel):
    sku_id: str
    sku_name: str
    offered: Quantity
    reserved: Quantity
    available: Quantity
    unit_price_cents: int


class LineIn(Strict):
    sku_id: Id
    quantity: PositiveQuantity
    preferred_association_id: Id | None = None


class OrderCreate(Strict):
    buyer_id: Id
    cycle_id: Id
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    payment_method: PaymentMethod
    payment_method_id: ProviderId | None = None
    purchase_order_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None


class OrderUpdate(Strict):
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    purchase_order_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None


class LinePublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    preferred_association_id: str | None
    preferred_association_name: str | None = None
    unit_price_cents: int
    line_total_cents: int
    confirmed_quantity: Quantity | None = None
    final_unit_price_cents: int | None = None
    delivered_quantity: Quantity | None = None
    # what the buyer pays for (the weighed quantity for variable-weight goods) and what
    # credit notes took back after the invoice
    billed_quantity: Quantity | None = None
    credited_quantity: Quantity = Decimal(0)


class OrderEventActor(BaseModel):
    user_id: str
    full_name: str


class OrderEventPublic(BaseModel):
    """One step of an order's history: what happened, when, by whom, and what changed."""

    type: str
    at: datetime
    actor: OrderEventActor | None = Field(
        default=None, description="who did it; none when Minga did it by itself"
    )
    data: dict[str, Any]


class PaymentPublic(BaseModel):
    method: str
    status: str
    amount_cents: int
    due_in_days: int | None = None


class OrderPublic(BaseModel):
    id: str
    cycle_id: str
    buyer_id: str
    buyer_name: str
    status: OrderStatus
    payment_method: str
    purchase_order_number: str | None
    currency: str
    lines: list[LinePublic]
    total_cents: int
    final_total_cents: int | None
    standing_order_id: str | None
    payment: PaymentPublic | None = None
    created_at: datetime
    updated_at: datetime


class StandingOrderCreate(Strict):
    buyer_id: Id
    network_id: Id
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    payment_method: PaymentMethod
    payment_method_id: ProviderId | None = None


class SkippedLine(BaseModel):
    sku_id: str
    quantity: Quantity
    reason: str


class StandingOrderRunPublic(BaseModel):
    cycle_id: str
    order_id: str | None
    skipped: list[SkippedLine]
    created_at: datetime


class StandingLinePublic(BaseModel):
    """A standing order's line as answered (``LineIn`` is what is written: one model for
    both would give the OpenAPI document two schemas of one name)."""

    sku_id: str
    quantity: Quantity
    preferred_association_id: str | None = None


class StandingOrderPublic(BaseModel):
    id: str
    buyer_id: str
    network_id: str
    payment_method: str
    lines: list[StandingLinePublic]
    active: bool
    created_at: datetime
    runs: list[StandingOrderRunPublic] = []
