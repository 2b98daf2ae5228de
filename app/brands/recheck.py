"""The supplier links of a sheet, checked again each time the sheet is published.

A link was approved against the brand's rules (``skus.approve_supplier``). When the
association publishes its sheet again, every SKU the sheet supplies is checked with the same
rules: a link whose sheet no longer passes is suspended with the rules it fails (it leaves
the SKU's suppliers and takes no new offers; offers and orders already placed keep their
version), and a suspended link whose sheet passes again is reinstated. A licence problem
alone suspends nothing: the licence's own status already keeps the association out of new
cycles, and comes back with the licence.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.brands.models import (
    Brand,
    BrandLicense,
    BrandSku,
    LicenseStatus,
    SkuSupplier,
    SupplierStatus,
)
from app.brands.rules import Failure, SkuFacts, check_supplier
from app.brands.schemas import RuleFailure, SupplierCheck
from app.brands.skus import rules_of, sheet_facts
from app.catalog import service as catalog_service
from app.core.timeutil import utcnow

# Rules about the association rather than its sheet.
LICENCE_RULES = frozenset({"not_licensed"})


def _suspends(failures: list[Failure]) -> bool:
    return any(f.rule not in LICENCE_RULES for f in failures)


async def recheck_sheet(
    session: AsyncSession, principal: Principal, product_id: str, *, today: date
) -> list[SupplierCheck]:
    """Check every approved or suspended link of the (just published) sheet; suspend or
    reinstate them as the rules say. One answer per link, in the links' order."""
    product = (await catalog_service.get_products(session, [product_id])).get(product_id)
    if product is None:
        return []
    rows = (
        await session.execute(
            select(SkuSupplier, BrandSku, Brand)
            .join(BrandSku, col(BrandSku.id) == col(SkuSupplier.sku_id))
            .join(Brand, col(Brand.id) == col(BrandSku.brand_id))
            .where(
                SkuSupplier.product_id == product_id,
                col(SkuSupplier.status).in_([SupplierStatus.approved, SupplierStatus.suspended]),
            )
            .order_by(col(SkuSupplier.id))
            .with_for_update(of=SkuSupplier)  # in primary-key order, as every lock here
        )
    ).all()
    if not rows:
        return []
    certifications = (await catalog_service.certifications_of(session, [product_id]))[product_id]
    facts = sheet_facts(product, certifications)
    licences = dict(
        (
            await session.execute(
                select(BrandLicense.brand_id, BrandLicense.status).where(
                    BrandLicense.association_id == product.association_id,
                    col(BrandLicense.brand_id).in_({brand.id for _, _, brand in rows}),
                )
            )
        ).all()
    )
    now = utcnow()
    checks = []
    for supplier, sku, brand in rows:
        licence = licences.get(brand.id)
        failures = check_supplier(
            rules_of(brand),
            SkuFacts(category=sku.category, unit=sku.unit),
            facts,
            licensed=licence == LicenseStatus.active,
            license_suspended=licence == LicenseStatus.suspended,
            today=today,
        )
        errors = [{"rule": f.rule, "detail": f.detail} for f in failures]
        previous, previous_errors = supplier.status, supplier.suspension_errors
        if _suspends(failures):
            supplier.status = SupplierStatus.suspended
            supplier.suspension_errors = errors
            if previous != SupplierStatus.suspended:
                supplier.suspended_at = now
        elif previous == SupplierStatus.suspended:
            supplier.status = SupplierStatus.approved
            supplier.suspended_at = None
            supplier.suspension_errors = None
        if supplier.status != previous:
            await session.flush()
            await audit.record(
                session,
                principal,
                action=(
                    "supplier.suspend"
                    if supplier.status == SupplierStatus.suspended
                    else "supplier.reinstate"
                ),
                object_type="sku_supplier",
                object_id=supplier.id,
                organization_id=brand.network_id,
                changes=audit.diff(
                    {"status": previous, "errors": previous_errors},
                    {"status": supplier.status, "errors": supplier.suspension_errors},
                ),
            )
        checks.append(
            SupplierCheck(
                supplier_id=supplier.id,
                sku_id=sku.id,
                sku_name=sku.name,
                brand_id=brand.id,
                brand_name=brand.name,
                checked_version=product.version,
                previous_status=previous,
                status=supplier.status,
                errors=[RuleFailure(rule=f.rule, detail=f.detail) for f in failures],
            )
        )
    await session.flush()
    return checks
