"""Tables of the brands domain: regional brands, licences, brand SKUs, tiers, suppliers."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field, json_list, timestamp
from app.core.timeutil import UTCDateTime


class LicenseStatus(StrEnum):
    active = "active"
    suspended = "suspended"


class SupplierStatus(StrEnum):
    approved = "approved"
    # the sheet, published again, no longer met the brand's rules (see ``recheck``)
    suspended = "suspended"
    withdrawn = "withdrawn"


class Brand(SQLModel, table=True):
    """A regional brand owned by a network, with its territory and rules."""

    __tablename__ = "brands"

    id: str = id_field()
    network_id: str = Field(max_length=36, foreign_key="organizations.id", index=True)
    name: str = Field(max_length=120)
    slug: str = Field(max_length=60, unique=True)
    story: str = Field(default="", sa_type=Text)
    territory_provinces: list[str] = json_list()
    territory_cantons: list[str] = json_list()
    required_certifications: list[str] = json_list()
    allowed_categories: list[str] = json_list()
    sanitary_registration_required_for: list[str] = json_list()
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class BrandLicense(SQLModel, table=True):
    """An association of the network may sell under the brand while its licence is active."""

    __tablename__ = "brand_licenses"
    __table_args__ = (UniqueConstraint("brand_id", "association_id"),)

    id: str = id_field()
    brand_id: str = Field(max_length=36, foreign_key="brands.id", ondelete="CASCADE", index=True)
    association_id: str = Field(max_length=36, foreign_key="organizations.id", index=True)
    status: str = Field(default=LicenseStatus.active, sa_type=String(16))
    reason: str | None = Field(default=None, max_length=500)
    granted_at: datetime = timestamp()
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BrandSku(SQLModel, table=True):
    """A product sold under the brand, supplied by one or more associations' sheets."""

    __tablename__ = "brand_skus"
    __table_args__ = (
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
        CheckConstraint("producer_price_cents > 0", name="producer_price_positive"),
        CheckConstraint(
            "solidarity_fund_bps >= 0 AND solidarity_fund_bps <= 10000", name="fund_bps_range"
        ),
        CheckConstraint(
            "logistics_share_bps >= 0 AND logistics_share_bps <= 10000",
            name="logistics_bps_range",
        ),
    )

    id: str = id_field()
    brand_id: str = Field(max_length=36, foreign_key="brands.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=40, foreign_key="categories.slug", index=True)
    unit: str = Field(sa_type=String(10))
    pack_size: Decimal = Field(max_digits=12, decimal_places=3)
    unit_weight_kg: Decimal | None = Field(default=None, max_digits=10, decimal_places=3)
    gtin: str | None = Field(default=None, max_length=14)
    producer_price_cents: int
    solidarity_fund_bps: int = 0
    # The share of what is left after the producer and the fund that pays logistics; the
    # rest is the network's brand margin.
    logistics_share_bps: int = 5000
    search_text: str = Field(default="", sa_type=Text)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()


class SkuPriceTier(SQLModel, table=True):
    """From ``min_quantity`` of cycle volume on, the SKU sells at ``unit_price_cents``."""

    __tablename__ = "sku_price_tiers"
    __table_args__ = (
        UniqueConstraint("sku_id", "min_quantity"),
        CheckConstraint("unit_price_cents > 0", name="price_positive"),
    )

    id: str = id_field()
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id", ondelete="CASCADE", index=True)
    min_quantity: Decimal = Field(max_digits=12, decimal_places=3)
    unit_price_cents: int


class SkuSupplier(SQLModel, table=True):
    """A published sheet approved to supply a SKU, checked against every brand rule."""

    __tablename__ = "sku_suppliers"
    __table_args__ = (UniqueConstraint("sku_id", "product_id"),)

    id: str = id_field()
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id", ondelete="CASCADE", index=True)
    product_id: str = Field(max_length=36, foreign_key="products.id", index=True)
    association_id: str = Field(max_length=36, foreign_key="organizations.id", index=True)
    product_version: int
    status: str = Field(default=SupplierStatus.approved, sa_type=String(16))
    approved_at: datetime = timestamp()
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # While suspended: the rules the published sheet failed, ``[{"rule", "detail"}]``.
    suspension_errors: list[dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )


class TaxRate(SQLModel, table=True):
    """The sales tax a network charges on a category (IVA in Ecuador and Colombia), in basis
    points of the line's amount; a category without a row is taxed at 0 %."""

    __tablename__ = "tax_rates"
    __table_args__ = (CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),)

    network_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", primary_key=True
    )
    category: str = Field(max_length=40, foreign_key="categories.slug", primary_key=True)
    rate_bps: int
    name: str = Field(default="IVA", max_length=40)
    updated_at: datetime = timestamp()
    updated_by_user_id: str | None = Field(default=None, max_length=36)
