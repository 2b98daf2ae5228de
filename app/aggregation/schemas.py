"""API shapes of closing cycles and joint purchases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.core.ids import Id
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SkuClose(BaseModel):
    sku_id: str
    sku_name: str
    demand: Quantity
    final_unit_price_cents: int


class CloseResult(BaseModel):
    id: str
    status: str
    closed_at: datetime | None
    skus: list[SkuClose]


class AllocationPublic(BaseModel):
    sku_id: str
    sku_name: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    offer_id: str
    quantity: Quantity
    pinned: Quantity
    producer_price_cents: int
    product_id: str
    product_name: str
    product_version: int
    minimum_waived: bool


class DeliveryLinePublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    producer_price_cents: int
    product_id: str
    product_name: str
    product_version: int


class DeliveryOrderPublic(BaseModel):
    id: str
    cycle_id: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    collection_centre_id: str
    collection_centre_name: str
    status: str
    lines: list[DeliveryLinePublic]


class PackTierIn(Strict):
    min_packs: int = Field(ge=0, le=1_000_000)
    pack_price_cents: int = Field(gt=0, le=100_000_000)


class CampaignCreate(Strict):
    network_id: Id
    supplier_name: Text
    item_name: Text
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    pack_size: PositiveQuantity
    tiers: list[PackTierIn] = Field(min_length=1, max_length=20)
    closes_at: datetime


class RequestCreate(Strict):
    association_id: Id
    quantity: PositiveQuantity
    tolerance: Quantity = Decimal(0)


class SharePublic(BaseModel):
    association_id: str
    quantity: Quantity
    cost_cents: int
    cost_alone_cents: int
    saved_cents: int


class RequestPublic(BaseModel):
    id: str
    campaign_id: str
    association_id: str
    quantity: Quantity
    tolerance: Quantity
    created_at: datetime


class CampaignPublic(BaseModel):
    id: str
    network_id: str
    supplier_name: str
    item_name: str
    unit: str
    pack_size: Quantity
    tiers: list[PackTierIn]
    currency: str
    closes_at: datetime
    status: str
    packs: int | None
    pack_price_cents: int | None
    total_cost_cents: int | None
    rounding: str | None
    requests: list[RequestPublic] = []
    shares: list[SharePublic] = []


class FloorSetting(Strict):
    allocation_floor_percent: int = Field(
        ge=0,
        le=100,
        description="No association gets less than this share (%) of what proportional would "
        "give it under per_member_equalizing; cycles created from now on take it",
    )


class FloorSettingPublic(BaseModel):
    network_id: str
    allocation_floor_percent: int


class PolicyOutcome(BaseModel):
    """What one policy would have given the season's cycles (the same offers and demand)."""

    policy: str
    label: str = Field(description="The policy's name in the answer's language")
    in_use: bool = Field(description="Whether the network's cycles used this policy")
    income_gini: float = Field(description="Gini index of income across associations")
    income_gini_per_member: float = Field(
        description="Gini index across members (each holding her association's income per member)"
    )
    members_reached: int
    members_women_reached: int
    largest_association_share: float = Field(
        description="Share (0-1) of the season's income of the association with most members"
    )


class AssociationIncome(BaseModel):
    association_id: str
    association_name: str
    members_total: int | None
    members_women: int | None
    income_cents: int
    income_per_member_cents: int


class SeasonReport(BaseModel):
    network_id: str
    network_name: str
    year: int
    language: str
    currency: str
    cycles: int = Field(description="Closed cycles delivered in the year")
    allocation_floor_percent: int
    policies_used: list[str]
    income_cents: int = Field(description="Producer income allocated in the year's cycles")
    income_gini: float
    income_gini_per_member: float
    members_total: int
    members_women: int
    members_reached: int
    members_women_reached: int
    associations: list[AssociationIncome]
    what_if: list[PolicyOutcome]
    summary: str = Field(description="The what-if in one sentence, in the answer's language")
