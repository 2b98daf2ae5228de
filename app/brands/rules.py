"""The brand rules a product sheet must meet to supply a SKU. Pure: plain data in and out.

Approval answers with every failed rule, not the first one, so an association can fix its
sheet in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.core.text import normalize


@dataclass(frozen=True)
class BrandRules:
    territory_provinces: Sequence[str]
    territory_cantons: Sequence[str]
    required_certifications: Sequence[str]
    allowed_categories: Sequence[str]
    sanitary_registration_required_for: Sequence[str]


@dataclass(frozen=True)
class Certification:
    kind: str
    expires_on: date | None


@dataclass(frozen=True)
class SheetFacts:
    status: str
    category: str
    unit: str
    origin_province: str
    origin_canton: str
    certifications: Sequence[Certification] = field(default_factory=tuple)
    sanitary_number: str | None = None
    sanitary_expires_on: date | None = None


@dataclass(frozen=True)
class SkuFacts:
    category: str
    unit: str


@dataclass(frozen=True)
class Failure:
    rule: str
    detail: str


def in_territory(rules: BrandRules, province: str, canton: str) -> bool:
    """Inside when the province or the canton is named; an empty territory is everywhere."""
    provinces = {normalize(p) for p in rules.territory_provinces}
    cantons = {normalize(c) for c in rules.territory_cantons}
    if not provinces and not cantons:
        return True
    return normalize(province) in provinces or normalize(canton) in cantons


def check_supplier(
    rules: BrandRules,
    sku: SkuFacts,
    sheet: SheetFacts,
    *,
    licensed: bool,
    license_suspended: bool = False,
    today: date,
) -> list[Failure]:
    failures: list[Failure] = []
    if sheet.status != "published":
        failures.append(Failure("sheet_not_published", f"the sheet is {sheet.status}"))
    if not licensed:
        failures.append(
            Failure(
                "not_licensed",
                "the association's licence for this brand is suspended"
                if license_suspended
                else "the association holds no licence for this brand",
            )
        )
    if not in_territory(rules, sheet.origin_province, sheet.origin_canton):
        failures.append(
            Failure(
                "outside_territory",
                f"{sheet.origin_canton}, {sheet.origin_province} is outside the brand's territory",
            )
        )
    if rules.allowed_categories and sheet.category not in rules.allowed_categories:
        failures.append(
            Failure("category_not_allowed", f"the brand does not sell {sheet.category}")
        )
    if sheet.category != sku.category:
        failures.append(
            Failure(
                "category_mismatch",
                f"the sheet is {sheet.category} but the SKU is {sku.category}",
            )
        )
    if sheet.unit != sku.unit:
        failures.append(
            Failure("unit_mismatch", f"the sheet sells by {sheet.unit}, the SKU by {sku.unit}")
        )
    valid = {c.kind for c in sheet.certifications if c.expires_on is None or c.expires_on >= today}
    held = {c.kind for c in sheet.certifications}
    for kind in rules.required_certifications:
        if kind not in valid:
            detail = "has expired" if kind in held else "is missing"
            failures.append(Failure("missing_certification", f"certification {kind} {detail}"))
    if sheet.category in rules.sanitary_registration_required_for:
        if not sheet.sanitary_number:
            failures.append(
                Failure(
                    "sanitary_registration_missing",
                    f"{sheet.category} needs a sanitary registration",
                )
            )
        elif sheet.sanitary_expires_on is not None and sheet.sanitary_expires_on < today:
            failures.append(
                Failure(
                    "sanitary_registration_expired",
                    f"the sanitary registration expired on {sheet.sanitary_expires_on}",
                )
            )
    return failures
