"""Tables of the catalogue: categories, product sheets, certifications, versions, images.

As in accounts, no ORM relationships: rows of a page are loaded with one query per table
(see ``service.public_sheets``), so a list never does one query per product.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field, timestamp
from app.core.timeutil import UTCDateTime


class Unit(StrEnum):
    kg = "kg"
    lb = "lb"
    unit = "unit"
    litre = "litre"
    dozen = "dozen"


class Storage(StrEnum):
    ambient = "ambient"
    chilled = "chilled"
    frozen = "frozen"


class ProductStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class CertificationKind(StrEnum):
    organic = "organic"
    agroecological = "agroecological"
    sello_chakra = "sello_chakra"
    pgs = "pgs"
    fair_trade = "fair_trade"


class SanitaryAuthority(StrEnum):
    ARCSA = "ARCSA"  # Ecuador
    INVIMA = "INVIMA"  # Colombia


def _product_fk() -> Any:
    return Field(max_length=36, foreign_key="products.id", ondelete="CASCADE", index=True)


class Category(SQLModel, table=True):
    """The category taxonomy, seeded by the migration; ``processed`` food needs more papers."""

    __tablename__ = "categories"

    slug: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=100)
    processed: bool = False


class Product(SQLModel, table=True):
    """A product sheet (ficha de producto).

    Until its first publication the row is the draft its association edits; once published,
    the row is the public face and later edits wait in ``draft`` until published again.
    """

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("pack_size > 0", name="pack_size_positive"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: str = id_field()
    association_id: str = Field(max_length=36, foreign_key="organizations.id", index=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=40, foreign_key="categories.slug", index=True)
    description: str = Field(default="", sa_type=Text)
    story: str = Field(default="", sa_type=Text)
    unit: str = Field(sa_type=String(10))
    pack_size: Decimal = Field(max_digits=12, decimal_places=3)
    variable_weight: bool = False
    shelf_life_days: int | None = None
    storage: str = Field(sa_type=String(10))
    allergens: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    gtin: str | None = Field(default=None, max_length=14, index=True)
    sanitary_authority: str | None = Field(default=None, sa_type=String(10))
    sanitary_number: str | None = Field(default=None, max_length=60)
    sanitary_expires_on: date | None = None
    origin_parish: str = Field(max_length=100)
    origin_canton: str = Field(max_length=100)
    origin_province: str = Field(max_length=100)
    origin_latitude: float
    origin_longitude: float
    # The parish folded by ``search.parish_key``, for the accent-insensitive parish filter.
    origin_parish_key: str = Field(max_length=100, index=True)
    status: str = Field(default=ProductStatus.draft, sa_type=String(16), index=True)
    version: int = 1
    search_text: str = Field(default="", sa_type=Text)
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp()
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Changes to a published sheet that are not published yet (see ``drafts``): the fields
    # of its PATCHes as the API spells them, only those that differ from the row, which
    # stays the public face that buyers, brands and search read until the next publish.
    draft: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    draft_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProductCertification(SQLModel, table=True):
    __tablename__ = "product_certifications"

    id: str = id_field()
    product_id: str = _product_fk()
    kind: str = Field(sa_type=String(20))
    number: str | None = Field(default=None, max_length=60)
    expires_on: date | None = None


class ProductVersion(SQLModel, table=True):
    """A published sheet, frozen: orders point at the version they were placed against."""

    __tablename__ = "product_versions"
    __table_args__ = (UniqueConstraint("product_id", "version"),)

    id: str = id_field()
    product_id: str = Field(max_length=36, foreign_key="products.id", ondelete="CASCADE")
    version: int
    snapshot: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    published_at: datetime = timestamp()


class ProductImage(SQLModel, table=True):
    __tablename__ = "product_images"

    id: str = id_field()
    product_id: str = _product_fk()
    filename: str = Field(max_length=100)
    content_type: str = Field(max_length=32)
    size_bytes: int
    created_at: datetime = timestamp()
