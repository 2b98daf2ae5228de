"""The brand rules a product sheet must meet to supply a SKU. Pure: plain data in and out.

Approval answers with every failed rule, not the first one, so an association can fix its
sheet in one go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.core.i18n import Message, _l
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
    message: Message  # shown in the reader's language

    @property
    def detail(self) -> str:
        """The English text (what is stored, e.g. as a supplier's suspension reason)."""
        return self.message.source()


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
        failures.append(
            Failure("sheet_not_published", _l("the sheet is {status}", status=sheet.status))
        )
    if not licensed:
        failures.append(
            Failure(
                "not_licensed",
                _l("the association's licence for this brand is suspended")
                if license_suspended
                else _l("the association holds no licence for this brand"),
            )
        )
    if not in_territory(rules, sheet.origin_province, sheet.origin_canton):
        failures.append(
            Failure(
                "outside_territory",
                _l(
                    "{canton}, {province} is outside the brand's territory",
                    canton=sheet.origin_canton,
                    province=sheet.origin_province,
                ),
            )
        )
    if rules.allowed_categories and sheet.category not in rules.allowed_categories:
        failures.append(
            Failure(
                "category_not_allowed",
                _l("the brand does not sell {category}", category=sheet.category),
            )
        )
    if sheet.category != sku.category:
        failures.append(
            Failure(
                "category_mismatch",
                _l(
                    "the sheet is {sheet} but the SKU is {sku}",
                    sheet=sheet.category,
                    sku=sku.category,
                ),
            )
        )
    if sheet.unit != sku.unit:
        failures.append(
            Failure(
                "unit_mismatch",
                _l("the sheet sells by {sheet}, the SKU by {sku}", sheet=sheet.unit, sku=sku.unit),
            )
        )
    valid = {c.kind for c in sheet.certifications if c.expires_on is None or c.expires_on >= today}
    held = {c.kind for c in sheet.certifications}
    for kind in rules.required_certifications:
        if kind not in valid:
            message = (
                _l("certification {kind} has expired", kind=kind)
                if kind in held
                else _l("certification {kind} is missing", kind=kind)
            )
            failures.append(Failure("missing_certification", message))
    if sheet.category in rules.sanitary_registration_required_for:
        if not sheet.sanitary_number:
            failures.append(
                Failure(
                    "sanitary_registration_missing",
                    _l("{category} needs a sanitary registration", category=sheet.category),
                )
            )
        elif sheet.sanitary_expires_on is not None and sheet.sanitary_expires_on < today:
            failures.append(
                Failure(
                    "sanitary_registration_expired",
                    _l(
                        "the sanitary registration expired on {date}",
                        date=sheet.sanitary_expires_on,
                    ),
                )
            )
    return failures
