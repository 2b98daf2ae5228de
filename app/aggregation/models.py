"""Tables written when cycles and joint purchase campaigns close."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import foreign_key, id_field, quantity_field, timestamp
from app.core.timeutil import UTCDateTime


class Allocation(SQLModel, table=True):
    """How much of a SKU's demand one association's offer supplies in a closed cycle."""

    __tablename__ = "allocations"
    __table_args__ = (UniqueConstraint("cycle_id", "offer_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    sku_id: str = foreign_key("brand_skus.id")
    association_id: str = foreign_key("organizations.id")
    offer_id: str = foreign_key("offers.id")
    quantity: Decimal = quantity_field()
    pinned: Decimal = quantity_field(Decimal(0))
    producer_price_cents: int
    product_id: str = Field(max_length=36)
    product_version: int
    minimum_waived: bool = False
    created_at: datetime = timestamp()


class DeliveryOrderStatus(StrEnum):
    open = "open"
    received = "received"


class DeliveryOrder(SQLModel, table=True):
    """What one association delivers to the collection centre for a cycle."""

    __tablename__ = "delivery_orders"
    __table_args__ = (UniqueConstraint("cycle_id", "association_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id", ondelete="CASCADE")
    association_id: str = foreign_key("organizations.id")
    collection_centre_id: str = foreign_key("organizations.id")
    status: str = Field(default=DeliveryOrderStatus.open, sa_type=String(16))
    created_at: datetime = timestamp()


class DeliveryOrderLine(SQLModel, table=True):
    __tablename__ = "delivery_order_lines"
    __table_args__ = (UniqueConstraint("delivery_order_id", "sku_id"),)

    id: str = id_field()
    delivery_order_id: str = foreign_key("delivery_orders.id", ondelete="CASCADE")
    sku_id: str = foreign_key("brand_skus.id")
    quantity: Decimal = quantity_field()
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

    id: str = id_field()
    network_id: str = foreign_key("organizations.id")
    supplier_name: str = Field(max_length=200)
    item_name: str = Field(max_length=200)
    unit: str = Field(max_length=16)
    pack_size: Decimal = quantity_field()
    tiers: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    currency: str = Field(sa_type=String(3))
    closes_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default=CampaignStatus.open, sa_type=String(16))
    packs: int | None = None
    pack_price_cents: int | None = None
    total_cost_cents: int | None = None
    rounding: str | None = Field(default=None, max_length=8)
    created_at: datetime = timestamp()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PurchaseRequest(SQLModel, table=True):
    __tablename__ = "purchase_requests"
    __table_args__ = (UniqueConstraint("campaign_id", "association_id"),)

    id: str = id_field()
    campaign_id: str = foreign_key("purchase_campaigns.id", ondelete="CASCADE")
    association_id: str = foreign_key("organizations.id")
    quantity: Decimal = quantity_field()
    tolerance: Decimal = quantity_field(Decimal(0))
    allocated_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    cost_cents: int | None = None
    cost_alone_cents: int | None = None
    created_at: datetime = timestamp()
