"""API shapes of the brands domain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.catalog.models import CertificationKind, Unit
from app.catalog.schemas import CATEGORY_PATTERN, Gtin
from app.core.ids import Id
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=60)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CategorySlug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40),
    Field(json_schema_extra={"pattern": CATEGORY_PATTERN}),
]
Story = Annotated[str, StringConstraints(max_length=5000)]
Cents = Annotated[int, Field(gt=0, le=100_000_000)]
Bps = Annotated[int, Field(ge=0, le=10_000)]


class Territory(Strict):
    provinces: list[Place] = Field(default_factory=list, max_length=50)
    cantons: list[Place] = Field(default_factory=list, max_length=200)


class Rules(Strict):
    required_certifications: list[CertificationKind] = Field(default_factory=list, max_length=10)
    allowed_categories: list[CategorySlug] = Field(default_factory=list, max_length=50)
    sanitary_registration_required_for: list[CategorySlug] = Field(
        default_factory=list, max_length=50
    )


class BrandCreate(Strict):
    network_id: Id
    name: Name
    slug: Slug
    story: Story = ""
    territory: Territory = Field(default_factory=Territory)
    rules: Rules = Field(default_factory=Rules)


class BrandUpdate(Strict):
    name: Name | None = None
    story: Story | None = None
    territory: Territory | None = None
    rules: Rules | None = None


class BrandPublic(BaseModel):
    id: str
    network_id: str
    name: str
    slug: str
    story: str
    territory: Territory
    rules: Rules
    created_at: datetime
    updated_at: datetime


class LicenseCreate(Strict):
    association_id: Id


class LicenseSuspend(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class LicensePublic(BaseModel):
    id: str
    brand_id: str
    association_id: str
    association_name: str
    status: str
    reason: str | None
    granted_at: datetime
    suspended_at: datetime | None


class TierIn(Strict):
    min_quantity: Quantity
    unit_price_cents: Cents


class TierPublic(BaseModel):
    min_quantity: Quantity
    unit_price_cents: int


class SkuCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    category: CategorySlug
    unit: Unit
    pack_size: PositiveQuantity
    unit_weight_kg: PositiveQuantity | None = None
    gtin: Gtin | None = None
    producer_price_cents: Cents
    tiers: list[TierIn] = Field(min_length=1, max_length=20)
    solidarity_fund_bps: Bps = 0
    logistics_share_bps: Bps = 5000


class SkuUpdate(Strict):
    name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    unit_weight_kg: PositiveQuantity | None = None
    producer_price_cents: Cents | None = None
    tiers: list[TierIn] | None = Field(default=None, min_length=1, max_length=20)
    solidarity_fund_bps: Bps | None = None
    logistics_share_bps: Bps | None = None


class PriceBreakdown(BaseModel):
    unit_price_cents: int
    producer_cents: int
    logistics_cents: int
    network_cents: int
    solidarity_fund_cents: int
    tier_min_quantity: Quantity


class SupplierCreate(Strict):
    product_id: Id


class RuleFailure(BaseModel):
    rule: str
    detail: str


class SupplierPublic(BaseModel):
    id: str
    sku_id: str
    product_id: str
    product_name: str = Field(default="", description="The sheet's published name")
    product_version: int
    association_id: str
    association_name: str
    parish: str
    status: str = Field(
        description="approved, suspended (the sheet was published again and "
        "no longer meets the brand's rules) or withdrawn"
    )
    eligible: bool = Field(description="Licence active and papers valid today: may supply now")
    approved_at: datetime
    suspended_at: datetime | None = None
    reason: str | None = Field(
        default=None,
        description="Why the link is suspended; shown to the association and the network",
    )
    errors: list[RuleFailure] = Field(
        default_factory=list,
        description="While suspended: every brand rule the published sheet failed",
    )


class SupplierCheck(BaseModel):
    """A SKU that a sheet supplies, checked again when the sheet was published."""

    supplier_id: str
    sku_id: str
    sku_name: str
    brand_id: str
    brand_name: str
    checked_version: int = Field(description="The version of the sheet that was checked")
    previous_status: str
    status: str = Field(description="approved (passes, or reinstated) or suspended")
    errors: list[RuleFailure] = Field(
        description="Every brand rule the sheet fails; a licence problem alone does not "
        "suspend the link (the licence already keeps it out of new cycles)"
    )


class Photo(BaseModel):
    product_id: str
    url: str


class SkuPublic(BaseModel):
    id: str
    brand_id: str
    brand_name: str
    network_id: str
    currency: str
    name: str
    category: str
    unit: Unit
    pack_size: Quantity
    unit_weight_kg: Quantity | None
    gtin: str | None
    producer_price_cents: int
    solidarity_fund_bps: int
    logistics_share_bps: int
    tiers: list[TierPublic]
    current_unit_price_cents: int
    price_breakdown: PriceBreakdown
    suppliers: list[SupplierPublic]
    photos: list[Photo]
    available_quantity: Quantity | None = None


class TaxRateIn(Strict):
    category: CategorySlug
    rate_bps: int = Field(ge=0, le=10_000, description="basis points: 1500 is 15 %")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = (
        "IVA"
    )


class TaxRatePublic(BaseModel):
    network_id: str
    category: str
    rate_bps: int
    name: str
    updated_at: datetime
