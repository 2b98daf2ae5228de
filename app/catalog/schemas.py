"""API shapes of the catalogue: what clients may write is separate from what they read."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.catalog.categories import TAXONOMY
from app.catalog.models import (
    CertificationKind,
    ProductStatus,
    SanitaryAuthority,
    Storage,
    Unit,
)
from app.core.ids import Id
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
# A category of the taxonomy, which the schema lists (the validation answers an unknown one
# with 422 `unknown_category`, naming where to find them: GET /categories).
CATEGORY_PATTERN = "^(?:" + "|".join(seed.slug for seed in TAXONOMY) + ")$"
Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    Field(json_schema_extra={"pattern": CATEGORY_PATTERN}),
]
Allergen = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
# GTIN-8, -12, -13 or -14; its last digit is a check digit, which only the validation checks
# (422 `invalid_gtin`).
GTIN_PATTERN = r"^(?:[0-9]{8}|[0-9]{12,14})$"
Gtin = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
    Field(json_schema_extra={"pattern": GTIN_PATTERN}),
]
ShelfLife = Annotated[int, Field(ge=1, le=3650)]

MAX_ALLERGENS = 20
MAX_CERTIFICATIONS = 10


class Origin(Strict):
    parish: Place
    canton: Place
    province: Place
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Certification(Strict):
    kind: CertificationKind
    number: Reference | None = None
    expires_on: date | None = None


class SanitaryRegistration(Strict):
    authority: SanitaryAuthority
    number: Reference
    expires_on: date


class ProductCreate(Strict):
    association_id: Id
    name: Name
    category: Slug
    description: LongText = ""
    story: LongText = ""
    unit: Unit
    pack_size: PositiveQuantity
    variable_weight: bool = False
    shelf_life_days: ShelfLife | None = None
    storage: Storage
    allergens: list[Allergen] = Field(default_factory=list, max_length=MAX_ALLERGENS)
    certifications: list[Certification] = Field(default_factory=list, max_length=MAX_CERTIFICATIONS)
    sanitary_registration: SanitaryRegistration | None = None
    gtin: Gtin | None = None
    origin: Origin


# Fields a PATCH may set to null; the others may be left out but not cleared.
NULLABLE = frozenset({"shelf_life_days", "sanitary_registration", "gtin"})


def _document_update(schema: dict[str, Any]) -> None:
    """The schema of a PATCH says what the validation takes: null only where it clears."""
    for name, field in schema.get("properties", {}).items():
        if name in NULLABLE or "anyOf" not in field:
            continue
        arms = [arm for arm in field.pop("anyOf") if arm != {"type": "null"}]
        if len(arms) == 1:
            field.update(arms[0])
        else:
            field["anyOf"] = arms
        if "default" in field and field["default"] is None:
            del field["default"]  # left out, the field keeps its value


class ProductUpdate(Strict):
    """A partial sheet: the fields given replace the current ones (lists and objects whole)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_update)

    name: Name | None = None
    category: Slug | None = None
    description: LongText | None = None
    story: LongText | None = None
    unit: Unit | None = None
    pack_size: PositiveQuantity | None = None
    variable_weight: bool | None = None
    shelf_life_days: ShelfLife | None = None
    storage: Storage | None = None
    allergens: list[Allergen] | None = Field(default=None, max_length=MAX_ALLERGENS)
    certifications: list[Certification] | None = Field(default=None, max_length=MAX_CERTIFICATIONS)
    sanitary_registration: SanitaryRegistration | None = None
    gtin: Gtin | None = None
    origin: Origin | None = None

    @field_validator(
        "name",
        "category",
        "description",
        "story",
        "unit",
        "pack_size",
        "variable_weight",
        "storage",
        "allergens",
        "certifications",
        "origin",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out but not set to null")
        return value


class ImagePublic(BaseModel):
    id: str
    url: str
    content_type: str


class SheetView(StrEnum):
    """Which face of a published sheet with unpublished changes its association reads."""

    working = "working"  # the draft: the published sheet with the changes applied
    published = "published"  # what everyone else sees


class DraftPublic(BaseModel):
    """The unpublished changes of a published sheet, shown to its association only."""

    version: int = Field(description="The version that publishing the changes will make")
    changed_fields: list[str] = Field(description="The sheet's fields that differ")
    updated_at: datetime


class ProductPublic(BaseModel):
    """The public sheet; a published version stores it (see ``ProductVersion``) without the
    draft fields, which only the sheet's association sees."""

    id: str
    association_id: str
    association_name: str
    name: str
    category: str
    description: str
    story: str
    unit: Unit
    pack_size: Quantity
    variable_weight: bool
    shelf_life_days: int | None
    storage: Storage
    allergens: list[str]
    certifications: list[Certification]
    sanitary_registration: SanitaryRegistration | None
    gtin: str | None
    origin: Origin
    images: list[ImagePublic]
    status: ProductStatus
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    has_unpublished_changes: bool = Field(
        default=False,
        description="The sheet has changes since it was published; only its association and "
        "platform admins are told (for everyone else it is false)",
    )
    draft: DraftPublic | None = None


# The fields of ProductPublic that are about the reader's view, not the published sheet.
DRAFT_FIELDS = frozenset({"has_unpublished_changes", "draft"})


class ProductVersionPublic(BaseModel):
    product_id: str
    version: int
    published_at: datetime
    snapshot: dict[str, Any]


class CategoryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    slug: str
    name: str
    processed: bool


class ImportResult(BaseModel):
    created: int
    items: list[str] = Field(description="The ids of the new sheets, in the file's order")
