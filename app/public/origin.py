"""The origin page of a lot, for whoever scans its label: the product as its sheet was when
the lot was received, the brand and its story, the association with its parish, canton and
members, certifications, sanitary registration, and the receipt with its temperature check.

Nothing personal is shown: no buyer, no person's name, no address or coordinates of a farm,
no tax id. A handful of queries by primary key, whatever the lot.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from babel.support import Translations
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from app.accounts.models import Organization
from app.brands.models import Brand, BrandSku
from app.catalog.models import Product, ProductVersion, Storage
from app.fulfilment.models import Lot
from app.fulfilment.receipts import CHILL_LIMIT_C, COLD_STORAGE
from app.orders.models import OrderCycle

# What the traceability address admits (the receipt's lot codes, app/fulfilment/schemas.py).
LOT_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"


def N_(message: str) -> str:
    """Marks a text for the ``pages`` catalogue; it is translated where it is shown."""
    return message


STORAGE_LABELS = {
    Storage.ambient: N_("Room temperature"),
    Storage.chilled: N_("Chilled"),
    Storage.frozen: N_("Frozen"),
}
CERTIFICATION_LABELS = {
    "organic": N_("Organic"),
    "agroecological": N_("Agroecological"),
    "sello_chakra": N_("Chakra seal (Amazonian chakra system)"),
    "pgs": N_("Participatory guarantee system (PGS)"),
    "fair_trade": N_("Fair trade"),
}


class Place(BaseModel):
    parish: str
    canton: str
    province: str


class AssociationOrigin(BaseModel):
    name: str
    parish: str
    canton: str
    province: str
    members_total: int | None
    members_women: int | None


class BrandOrigin(BaseModel):
    name: str
    story: str


class CertificationOrigin(BaseModel):
    kind: str
    label: str
    number: str | None
    expires_on: date | None


class SanitaryOrigin(BaseModel):
    authority: str
    number: str
    expires_on: date | None


class TemperatureCheck(BaseModel):
    storage: Storage
    storage_label: str
    temperature_c: float | None = Field(description="Measured on arrival; null if not measured")
    limit_c: float | None = Field(description="The highest acceptable on arrival, for cold goods")
    alert: bool = Field(description="Received warmer than its storage allows")
    verdict: str


class OriginPage(BaseModel):
    """Where a lot comes from, in the visitor's language (``language``)."""

    language: str
    lot_code: str
    product_name: str
    description: str
    story: str
    origin: Place
    brand: BrandOrigin | None
    association: AssociationOrigin
    certifications: list[CertificationOrigin]
    sanitary_registration: SanitaryOrigin | None
    received_at: datetime
    received_on: date = Field(description="The day of the receipt, in the network's time zone")
    received_on_text: str
    temperature: TemperatureCheck


async def origin_page(
    session: AsyncSession, code: str, language: str, texts: Translations
) -> OriginPage | None:
    lot = await session.scalar(select(Lot).where(Lot.code == code))
    if lot is None:
        return None
    version = await session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == lot.product_id,
            ProductVersion.version == lot.product_version,
        )
    )
    product = await session.get(Product, lot.product_id)
    sheet: dict[str, Any] = version.snapshot if version is not None else {}
    association = await session.get(Organization, lot.association_id)
    sku = await session.get(BrandSku, lot.sku_id)
    brand = await session.get(Brand, sku.brand_id) if sku is not None else None
    cycle = await session.get(OrderCycle, lot.cycle_id)
    assert association is not None
    assert cycle is not None

    origin = sheet.get("origin") or {}
    place = Place(
        parish=origin.get("parish") or (product.origin_parish if product else association.parish),
        canton=origin.get("canton") or (product.origin_canton if product else association.canton),
        province=origin.get("province")
        or (product.origin_province if product else association.province),
    )
    storage = Storage(sheet.get("storage") or (product.storage if product else Storage.ambient))
    received_on = lot.received_at.astimezone(ZoneInfo(cycle.timezone)).date()
    sanitary = sheet.get("sanitary_registration")
    return OriginPage(
        language=language,
        lot_code=lot.code,
        product_name=sheet.get("name") or (product.name if product else ""),
        description=sheet.get("description") or "",
        story=sheet.get("story") or "",
        origin=place,
        brand=BrandOrigin(name=brand.name, story=brand.story) if brand is not None else None,
        association=AssociationOrigin(
            name=association.name,
            parish=association.parish,
            canton=association.canton,
            province=association.province,
            members_total=association.members_total,
            members_women=association.members_women,
        ),
        certifications=[
            CertificationOrigin(
                kind=c["kind"],
                label=texts.gettext(CERTIFICATION_LABELS.get(c["kind"], c["kind"])),
                number=c.get("number"),
                expires_on=c.get("expires_on"),
            )
            for c in sheet.get("certifications") or []
        ],
        sanitary_registration=SanitaryOrigin(**sanitary) if sanitary else None,
        received_at=lot.received_at,
        received_on=received_on,
        received_on_text=format_date(received_on, format="long", locale=language),
        temperature=_temperature(
            storage, lot.temperature_c, lot.temperature_alert, texts, language
        ),
    )


def _temperature(
    storage: Storage, measured: Any, alert: bool, texts: Translations, language: str
) -> TemperatureCheck:
    def degrees(value: Any) -> str:
        return str(format_decimal(value, format="0.0", locale=language))

    cold = storage in COLD_STORAGE
    if alert:
        verdict = texts.gettext(
            "Received warmer than it should be (%(measured)s °C, above %(limit)s °C): "
            "ask the shop how it was kept"
        ) % {"measured": degrees(measured), "limit": degrees(CHILL_LIMIT_C)}
    elif measured is not None and cold:
        verdict = texts.gettext(
            "Checked on arrival: %(measured)s °C, within the %(limit)s °C limit"
        ) % {"measured": degrees(measured), "limit": degrees(CHILL_LIMIT_C)}
    elif measured is not None:
        verdict = texts.gettext("Checked on arrival: %(measured)s °C") % {
            "measured": degrees(measured)
        }
    elif cold:
        verdict = texts.gettext("Not measured on arrival")
    else:
        verdict = texts.gettext("Kept at room temperature: no check needed")
    return TemperatureCheck(
        storage=storage,
        storage_label=texts.gettext(STORAGE_LABELS[storage]),
        temperature_c=float(measured) if measured is not None else None,
        limit_c=float(CHILL_LIMIT_C) if cold else None,
        alert=alert,
        verdict=verdict,
    )
