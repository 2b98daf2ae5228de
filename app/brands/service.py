"""Brands and licences: a network runs its regional brands. Functions take the session first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import NetworkAssociation, Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.brands.exceptions import (
    BrandNotFound,
    BrandSlugTaken,
    LicenseExists,
    LicenseNotFound,
    NotInNetwork,
    UnknownCategory,
)
from app.brands.models import Brand, BrandLicense, LicenseStatus
from app.brands.schemas import (
    BrandCreate,
    BrandPublic,
    BrandUpdate,
    LicensePublic,
    Rules,
    Territory,
)
from app.catalog.categories import existing_slugs
from app.core.pagination import PageParams, paginate
from app.core.timeutil import utcnow


def brand_public(brand: Brand) -> BrandPublic:
    return BrandPublic(
        id=brand.id,
        network_id=brand.network_id,
        name=brand.name,
        slug=brand.slug,
        story=brand.story,
        territory=Territory(
            provinces=list(brand.territory_provinces), cantons=list(brand.territory_cantons)
        ),
        rules=Rules.model_validate(
            {
                "required_certifications": brand.required_certifications,
                "allowed_categories": brand.allowed_categories,
                "sanitary_registration_required_for": brand.sanitary_registration_required_for,
            }
        ),
        created_at=brand.created_at,
        updated_at=brand.updated_at,
    )


def _brand_values(brand: Brand) -> dict[str, Any]:
    return brand_public(brand).model_dump(exclude={"created_at", "updated_at"})


async def check_categories(session: AsyncSession, named: dict[str, Sequence[str]]) -> None:
    """422 naming every field that mentions a category the taxonomy does not have."""
    wanted = {slug for slugs in named.values() for slug in slugs}
    known = await existing_slugs(session, sorted(wanted))
    errors = [
        {"field": field, "detail": f"unknown category {slug!r}"}
        for field, slugs in named.items()
        for slug in slugs
        if slug not in known
    ]
    if errors:
        raise UnknownCategory(errors[0]["detail"], errors=errors)


def _apply(brand: Brand, territory: Territory | None, rules: Rules | None) -> None:
    if territory is not None:
        brand.territory_provinces = list(territory.provinces)
        brand.territory_cantons = list(territory.cantons)
    if rules is not None:
        brand.required_certifications = [str(c) for c in rules.required_certifications]
        brand.allowed_categories = list(rules.allowed_categories)
        brand.sanitary_registration_required_for = list(rules.sanitary_registration_required_for)


async def _rules_categories(session: AsyncSession, rules: Rules | None) -> None:
    if rules is not None:
        await check_categories(
            session,
            {
                "rules.allowed_categories": rules.allowed_categories,
                "rules.sanitary_registration_required_for": (
                    rules.sanitary_registration_required_for
                ),
            },
        )


async def create_brand(session: AsyncSession, principal: Principal, data: BrandCreate) -> Brand:
    principal.require_member(data.network_id, Role.admin, not_found=NetworkNotFound)
    network = await session.get(Organization, data.network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    await _rules_categories(session, data.rules)
    if await session.scalar(select(Brand.id).where(Brand.slug == data.slug)):
        raise BrandSlugTaken()
    brand = Brand(network_id=data.network_id, name=data.name, slug=data.slug, story=data.story)
    _apply(brand, data.territory, data.rules)
    session.add(brand)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="brand.create",
        object_type="brand",
        object_id=brand.id,
        organization_id=brand.network_id,
        changes=audit.diff(None, _brand_values(brand)),
    )
    return brand


async def get_brand(session: AsyncSession, brand_id: str) -> Brand:
    """Brands are public: every signed-in user may read them."""
    brand = await session.get(Brand, brand_id)
    if brand is None:
        raise BrandNotFound()
    return brand


async def managed_brand(session: AsyncSession, principal: Principal, brand_id: str) -> Brand:
    """The brand, for its network's admins (staff 403, outsiders 404)."""
    brand = await get_brand(session, brand_id)
    principal.require_member(brand.network_id, Role.admin, not_found=BrandNotFound)
    return brand


async def update_brand(
    session: AsyncSession, principal: Principal, brand_id: str, data: BrandUpdate
) -> Brand:
    brand = await managed_brand(session, principal, brand_id)
    await _rules_categories(session, data.rules)
    before = _brand_values(brand)
    if data.name is not None:
        brand.name = data.name
    if data.story is not None:
        brand.story = data.story
    _apply(brand, data.territory, data.rules)
    brand.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        action="brand.update",
        object_type="brand",
        object_id=brand.id,
        organization_id=brand.network_id,
        changes=audit.diff(before, _brand_values(brand)),
    )
    return brand


async def list_brands(
    session: AsyncSession, *, network_id: str | None, page: PageParams
) -> tuple[Sequence[Brand], str | None]:
    stmt = select(Brand)
    if network_id is not None:
        stmt = stmt.where(Brand.network_id == network_id)
    return await paginate(session, stmt, key=col(Brand.id), params=page)


# --- licences ------------------------------------------------------------------------------


async def _license_publics(
    session: AsyncSession, licenses: Sequence[BrandLicense]
) -> list[LicensePublic]:
    names = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(
                    col(Organization.id).in_({lic.association_id for lic in licenses})
                )
            )
        ).all()
    )
    return [
        LicensePublic(
            id=lic.id,
            brand_id=lic.brand_id,
            association_id=lic.association_id,
            association_name=names.get(lic.association_id, ""),
            status=lic.status,
            reason=lic.reason,
            granted_at=lic.granted_at,
            suspended_at=lic.suspended_at,
        )
        for lic in licenses
    ]


async def grant_license(
    session: AsyncSession, principal: Principal, brand_id: str, association_id: str
) -> LicensePublic:
    brand = await managed_brand(session, principal, brand_id)
    member = await session.scalar(
        select(NetworkAssociation.id).where(
            NetworkAssociation.network_id == brand.network_id,
            NetworkAssociation.association_id == association_id,
        )
    )
    if member is None:
        raise NotInNetwork(
            errors=[{"field": "association_id", "detail": "not an association of the network"}]
        )
    if await session.scalar(
        select(BrandLicense.id).where(
            BrandLicense.brand_id == brand_id, BrandLicense.association_id == association_id
        )
    ):
        raise LicenseExists("Suspend or reinstate the existing licence instead")
    license_ = BrandLicense(brand_id=brand_id, association_id=association_id)
    session.add(license_)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="license.grant",
        object_type="brand_license",
        object_id=license_.id,
        organization_id=brand.network_id,
        changes=audit.diff(None, {"association_id": association_id, "status": "active"}),
    )
    return (await _license_publics(session, [license_]))[0]


async def set_license_status(
    session: AsyncSession,
    principal: Principal,
    brand_id: str,
    license_id: str,
    status: LicenseStatus,
    reason: str | None = None,
) -> LicensePublic:
    """Suspend or reinstate: a suspended association leaves new cycles of the brand's SKUs."""
    brand = await managed_brand(session, principal, brand_id)
    license_ = await session.scalar(
        select(BrandLicense).where(BrandLicense.id == license_id, BrandLicense.brand_id == brand_id)
    )
    if license_ is None:
        raise LicenseNotFound()
    before = {"status": license_.status, "reason": license_.reason}
    license_.status = status
    license_.reason = reason
    license_.suspended_at = utcnow() if status is LicenseStatus.suspended else None
    await session.flush()
    await audit.record(
        session,
        principal,
        action=f"license.{'suspend' if status is LicenseStatus.suspended else 'reinstate'}",
        object_type="brand_license",
        object_id=license_.id,
        organization_id=brand.network_id,
        changes=audit.diff(before, {"status": status, "reason": reason}),
    )
    return (await _license_publics(session, [license_]))[0]


async def list_licenses(
    session: AsyncSession, principal: Principal, brand_id: str, page: PageParams
) -> tuple[list[LicensePublic], str | None]:
    """The network's members see every licence; an association sees its own."""
    brand = await get_brand(session, brand_id)
    stmt = select(BrandLicense).where(BrandLicense.brand_id == brand_id)
    if not principal.is_member(brand.network_id):
        stmt = stmt.where(col(BrandLicense.association_id).in_(list(principal.roles)))
    rows, cursor = await paginate(session, stmt, key=col(BrandLicense.id), params=page)
    return await _license_publics(session, rows), cursor
