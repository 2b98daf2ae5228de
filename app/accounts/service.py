"""The rules of the accounts domain. Functions take the session first and only flush."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts import audit, served
from app.accounts.exceptions import (
    ApiKeyNotFound,
    InvalidOrganization,
    InvalidTaxId,
    LastAdmin,
    MemberNotFound,
    NetworkNotFound,
    OrganizationNotFound,
    TaxIdTaken,
)
from app.accounts.models import (
    ApiKey,
    AuditEvent,
    Country,
    Membership,
    NetworkAssociation,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from app.accounts.principal import Principal
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    MemberPublic,
    MembershipPublic,
    MePublic,
    MeUpdate,
    NetworkAssociationPublic,
    OrganizationCreate,
)
from app.accounts.taxid import normalize_tax_id
from app.core.i18n import Language, _l
from app.core.pagination import PageParams, paginate
from app.core.security import generate_api_key
from app.core.timeutil import utcnow

COUNTRY_DEFAULTS = {
    Country.EC: ("USD", "America/Guayaquil"),
    Country.CO: ("COP", "America/Bogota"),
}


# --- organisations -------------------------------------------------------------------------


def _check_kind_fields(data: OrganizationCreate) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    kind = data.kind
    if data.buyer_type is not None and kind is not OrganizationKind.buyer:
        errors.append({"field": "buyer_type", "detail": "only buyers have a buyer type"})
    if kind is not OrganizationKind.association and (
        data.members_total is not None or data.members_women is not None
    ):
        errors.append({"field": "members_total", "detail": "only associations have members"})
    if (
        data.members_total is not None
        and data.members_women is not None
        and data.members_women > data.members_total
    ):
        errors.append({"field": "members_women", "detail": "cannot exceed members_total"})
    if data.allocation_floor_percent is not None and kind is not OrganizationKind.network:
        errors.append(
            {"field": "allocation_floor_percent", "detail": "only networks allocate sales"}
        )
    if data.timezone is not None:
        try:
            ZoneInfo(data.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append({"field": "timezone", "detail": "not an IANA time zone"})
    return errors


async def create_organization(
    session: AsyncSession, principal: Principal, data: OrganizationCreate
) -> Organization:
    principal.require_platform_admin()
    try:
        tax_id = normalize_tax_id(data.country, data.tax_id)
    except ValueError as exc:
        raise InvalidTaxId(str(exc), errors=[{"field": "tax_id", "detail": str(exc)}]) from None
    errors = _check_kind_fields(data)
    if errors:
        raise InvalidOrganization(errors[0]["detail"], errors=errors)
    taken = await session.scalar(
        select(Organization.id).where(
            Organization.country == data.country, Organization.tax_id == tax_id
        )
    )
    if taken:
        raise TaxIdTaken(
            _l(
                "Tax id {tax_id} is already registered in {country}",
                tax_id=tax_id,
                country=data.country,
            )
        )

    currency, timezone = COUNTRY_DEFAULTS[data.country]
    values = data.model_dump()
    values.update(tax_id=tax_id)
    if data.kind is OrganizationKind.buyer:
        values["buyer_type"] = data.buyer_type or "other"
    values["currency"] = data.currency or currency
    values["timezone"] = data.timezone or timezone
    org = Organization(**values)
    session.add(org)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="organization.create",
        object_type="organization",
        object_id=org.id,
        organization_id=org.id,
        changes=audit.diff(None, values),
    )
    return org


def visible_organizations(principal: Principal) -> SelectOfScalar[Organization]:
    """Organisations the caller may read: their own, the associations of their networks,
    and those their organisations serve (a centre's buyers and suppliers, see ``served``)."""
    stmt = select(Organization)
    if principal.is_platform_admin:
        return stmt
    own = list(principal.roles)
    of_my_networks = select(NetworkAssociation.association_id).where(
        col(NetworkAssociation.network_id).in_(own)
    )
    my_networks = select(NetworkAssociation.network_id).where(
        col(NetworkAssociation.association_id).in_(own)
    )
    return stmt.where(
        or_(
            col(Organization.id).in_(own),
            col(Organization.id).in_(of_my_networks),
            col(Organization.id).in_(my_networks),
            *served.conditions(col(Organization.id), own),
        )
    )


async def list_organizations(
    session: AsyncSession,
    principal: Principal,
    *,
    kind: OrganizationKind | None,
    page: PageParams,
) -> tuple[Sequence[Organization], str | None]:
    stmt = visible_organizations(principal)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    return await paginate(session, stmt, key=col(Organization.id), params=page)


async def get_organization(
    session: AsyncSession, principal: Principal, organization_id: str
) -> Organization:
    org = await session.scalar(
        visible_organizations(principal).where(Organization.id == organization_id)
    )
    if org is None:
        raise OrganizationNotFound()
    return org


# --- the caller ----------------------------------------------------------------------------


async def me(session: AsyncSession, principal: Principal) -> MePublic:
    assert principal.user_id is not None
    user = await session.get(User, principal.user_id)
    assert user is not None
    rows = await session.execute(
        select(Membership.role, Organization.id, Organization.name, Organization.kind)
        .join(Organization, col(Organization.id) == col(Membership.organization_id))
        .where(Membership.user_id == user.id)
        .order_by(Organization.name, Organization.id)
    )
    return MePublic(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_platform_admin=user.is_platform_admin,
        language=Language(user.language) if user.language else None,
        memberships=[
            MembershipPublic(
                organization_id=org_id,
                organization_name=name,
                organization_kind=OrganizationKind(kind),
                role=Role(role),
            )
            for role, org_id, name, kind in rows
        ],
    )


async def update_me(session: AsyncSession, principal: Principal, data: MeUpdate) -> MePublic:
    assert principal.user_id is not None
    user = await session.get(User, principal.user_id)
    assert user is not None
    if "full_name" in data.model_fields_set and data.full_name is not None:
        user.full_name = data.full_name
    if "language" in data.model_fields_set:
        user.language = data.language.value if data.language else None
    await session.flush()
    return await me(session, principal)


# --- members -------------------------------------------------------------------------------


def member_public(membership: Membership, user: User) -> MemberPublic:
    return MemberPublic(
        id=membership.id,
        organization_id=membership.organization_id,
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=Role(membership.role),
        created_at=membership.created_at,
    )


async def existing_organization(session: AsyncSession, organization_id: str) -> Organization:
    org = await session.get(Organization, organization_id)
    if org is None:
        raise OrganizationNotFound()
    return org


async def list_members(
    session: AsyncSession, principal: Principal, organization_id: str, page: PageParams
) -> tuple[list[MemberPublic], str | None]:
    principal.require_member(organization_id)
    rows, cursor = await paginate(
        session,
        select(Membership).where(Membership.organization_id == organization_id),
        key=col(Membership.id),
        params=page,
    )
    users = {
        u.id: u
        for u in await session.scalars(
            select(User).where(col(User.id).in_([m.user_id for m in rows]))
        )
    }
    return [member_public(m, users[m.user_id]) for m in rows], cursor


async def _membership(session: AsyncSession, organization_id: str, user_id: str) -> Membership:
    membership = await session.scalar(
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.user_id == user_id
        )
    )
    if membership is None:
        raise MemberNotFound()
    return membership


async def _ensure_another_admin(
    session: AsyncSession, organization_id: str, membership: Membership
) -> None:
    if membership.role != Role.admin:
        return
    admins = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.organization_id == organization_id, Membership.role == Role.admin)
    )
    if (admins or 0) <= 1:
        raise LastAdmin()


async def change_member_role(
    session: AsyncSession, principal: Principal, organization_id: str, user_id: str, role: Role
) -> MemberPublic:
    principal.require_member(organization_id, Role.admin)
    membership = await _membership(session, organization_id, user_id)
    if role is not Role.admin:
        await _ensure_another_admin(session, organization_id, membership)
    before = membership.role
    membership.role = role
    await session.flush()
    await audit.record(
        session,
        principal,
        action="member.role_change",
        object_type="membership",
        object_id=membership.id,
        organization_id=organization_id,
        changes=audit.diff({"role": before}, {"role": role}),
    )
    user = await session.get(User, user_id)
    assert user is not None
    return member_public(membership, user)


async def remove_member(
    session: AsyncSession, principal: Principal, organization_id: str, user_id: str
) -> None:
    principal.require_member(organization_id, Role.admin)
    membership = await _membership(session, organization_id, user_id)
    await _ensure_another_admin(session, organization_id, membership)
    await session.delete(membership)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="member.remove",
        object_type="membership",
        object_id=membership.id,
        organization_id=organization_id,
        changes=audit.diff({"user_id": user_id, "role": membership.role}, None),
    )


# --- networks ------------------------------------------------------------------------------


async def network(
    session: AsyncSession, principal: Principal, network_id: str, role: Role = Role.staff
) -> Organization:
    """The network, for its members with ``role``; 404 for anyone else."""
    principal.require_member(network_id, role, not_found=NetworkNotFound)
    found = await session.get(Organization, network_id)
    if found is None or found.kind != OrganizationKind.network:
        raise NetworkNotFound()
    return found


def network_association_public(
    link: NetworkAssociation, association: Organization
) -> NetworkAssociationPublic:
    return NetworkAssociationPublic(
        network_id=link.network_id,
        association_id=link.association_id,
        association_name=association.name,
        parish=association.parish,
        created_at=link.created_at,
    )


async def list_network_associations(
    session: AsyncSession, principal: Principal, network_id: str, page: PageParams
) -> tuple[list[NetworkAssociationPublic], str | None]:
    await network(session, principal, network_id)
    stmt = select(NetworkAssociation).where(NetworkAssociation.network_id == network_id)
    links, cursor = await paginate(session, stmt, key=col(NetworkAssociation.id), params=page)
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(
                col(Organization.id).in_([link.association_id for link in links])
            )
        )
    }
    return [network_association_public(link, orgs[link.association_id]) for link in links], cursor


async def network_ids_of_association(session: AsyncSession, association_id: str) -> list[str]:
    rows = await session.scalars(
        select(NetworkAssociation.network_id).where(
            NetworkAssociation.association_id == association_id
        )
    )
    return list(rows)


# --- API keys ------------------------------------------------------------------------------


async def create_api_key(
    session: AsyncSession, principal: Principal, organization_id: str, data: ApiKeyCreate
) -> ApiKeyCreated:
    principal.require_member(organization_id, Role.admin)
    await existing_organization(session, organization_id)
    material = generate_api_key()
    row = ApiKey(
        organization_id=organization_id,
        name=data.name,
        prefix=material.prefix,
        key_hash=material.hashed,
        role=data.role,
        created_by_user_id=principal.user_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="api_key.create",
        object_type="api_key",
        object_id=row.id,
        organization_id=organization_id,
        changes=audit.diff(None, {"name": data.name, "role": data.role, "prefix": row.prefix}),
    )
    return ApiKeyCreated.model_validate({**_columns(row), "key": material.key})


def _columns(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


async def list_api_keys(
    session: AsyncSession, principal: Principal, organization_id: str, page: PageParams
) -> tuple[Sequence[ApiKey], str | None]:
    principal.require_member(organization_id, Role.admin)
    stmt = select(ApiKey).where(ApiKey.organization_id == organization_id)
    return await paginate(session, stmt, key=col(ApiKey.id), params=page)


async def revoke_api_key(
    session: AsyncSession, principal: Principal, organization_id: str, key_id: str
) -> None:
    principal.require_member(organization_id, Role.admin)
    row = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )
    if row is None:
        raise ApiKeyNotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            principal,
            action="api_key.revoke",
            object_type="api_key",
            object_id=row.id,
            organization_id=organization_id,
        )


# --- audit trail ---------------------------------------------------------------------------


async def list_audit_events(
    session: AsyncSession,
    principal: Principal,
    *,
    organization_id: str | None,
    object_id: str | None,
    page: PageParams,
) -> tuple[Sequence[AuditEvent], str | None]:
    """Platform admins read the whole trail; an organisation's admins read their own part."""
    stmt = select(AuditEvent)
    if organization_id is not None:
        principal.require_member(organization_id, Role.admin)
        stmt = stmt.where(AuditEvent.organization_id == organization_id)
    else:
        principal.require_platform_admin()
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return await paginate(session, stmt, key=col(AuditEvent.id), params=page)
