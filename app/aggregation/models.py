"""Tables written when cycles and joint purchase campaigns close."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.ids import new_id
from app.core.timeutil import UTCDateTime, utcnow


def _id() -> Any:
    return Field(default_factory=new_id, primary_key=True, max_length=36)


def _fk(target: str, *, ondelete: Any = None) -> Any:
    kwargs: dict[str, Any] = {"max_length": 36, "foreign_key": target, "index": True}
    if ondelete:
        kwargs["ondelete"] = ondelete
    return Field(**kwargs)


def _qty(default: Decimal | None = None) -> Any:
    if default is None:
        return Field(max_digits=14, decimal_places=3)
    return Field(default=default, max_digits=14, decimal_places=3)


def _now() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Allocation(SQLModel, table=True):
    """How much of a SKU's demand one association's offer supplies in a closed cycle."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("cycle_id", "offer_id"),)

    id: str = _id()
    cycle_id: str = _fk("order_cycles.id", ondelete="CASCADE")
    sku_id: str = _fk("brand_skus.id")
    association_id: str = _fk("organizations.id")
    offer_id: str = _fk("offers.id")
    quantity: Decimal = _qty()
    pinned: Decimal = _qty(Decimal(0))
    producer_price_cents: int
    product_id: str = Field(max_length=36)
    product_version: int
    minimum_waived: bool = False
    created_at: datetime = _now()


class DeliveryOrderStatus(StrEnum):
    open = "open"
    received = "received"


class DeliveryOrder(SQLModel, table=True):
    """What one association delivers to the collection centre for a cycle."""

    __tablename__ = "delivery_orders"
    __table_args__ = (UniqueConstraint("cycle_id", "association_id"),)

    id: str = _id()
    cycle_id: str = _fk("order_cycles.id", ondelete="CASCADE")
    association_id: str = _fk("organizations.id")
    collection_centre_id: str = _fk("organizations.id")
    status: str = Field(default=DeliveryOrderStatus.open, sa_type=String(16))
    created_at: datetime = _now()


class DeliveryOrderLine(SQLModel, table=True):
    __tablename__ = "delivery_order_lines"
    __table_args__ = (UniqueConstraint("delivery_order_id", "sku_id"),)

    id: str = _id()
    delivery_order_id: str = _fk("delivery_orders.id", ondelete="CASCADE")
    sku_id: str = _fk("brand_skus.id")
    quantity: Decimal = _qty()
    producer_price_cents: int
    product_id: str = Field(max_length=36)
    product_version: int
    # set by the collection centre: what it accepted, and what of it went to buyers (its own
    # allocation plus any other association's shortfall it covered; it is paid for this)
    accepted_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    supplied_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)


class CampaignStatus(StrEnum):
    open = "open"
    closed = "closed"


class PurchaseCampaign(SQLModel, table=True):
    """A joint purchase of an input (feed, packaging, seed) by a network's associations."""

    __tablename__ = "purchase_campaigns"

    id: str = _id()
    network_id: str = _fk("organizations.id")
    supplier_name: str = Field(max_length=200)
    item_name: str = Field(max_length=200)
    unit: str = Field(max_length=16)
    pack_size: Decimal = _qty()
    tiers: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    currency: str = Field(sa_type=String(3))
    closes_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default=CampaignStatus.open, sa_type=String(16))
    packs: int | None = None
    pack_price_cents: int | None = None
    total_cost_cents: int | None = None
    rounding: str | None = Field(default=None, max_length=8)
    created_at: datetime = _now()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PurchaseRequest(SQLModel, table=True):
    __tablename__ = "purchase_requests"
    __table_args__ = (UniqueConstraint("campaign_id", "association_id"),)

    id: str = _id()
    campaign_id: str = _fk("purchase_campaigns.id", ondelete="CASCADE")
    association_id: str = _fk("organizations.id")
    quantity: Decimal = _qty()
    tolerance: Decimal = _qty(Decimal(0))
    allocated_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    cost_cents: int | None = None
    cost_alone_cents: int | None = None
    created_at: datetime = _now()
