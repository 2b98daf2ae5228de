"""An association joins a network only when its own admins agree (issue 11, finding 10).

A network admin's ``POST /networks/{id}/associations`` invites the association (202); one of
the association's admins accepts (200, the membership) or declines; the network admin may
revoke it while it is pending. Until it is accepted there is no ``network_associations``
row, and everything a network may do with its associations — see their records, license
them, approve their sheets as suppliers, count them in the dashboard — goes by that row.

Someone entitled to accept — a platform admin, or a person who administers both the network
and the association — joins it at once (201), as before, and a pending invitation of the pair
is closed as accepted.

One pending invitation per network and association: asking again while one is pending is a
409 ``network_invitation_pending`` (the network admin lists its invitations). Accepting moves
the row from ``pending`` with a conditional UPDATE, so two acceptances at once make one
membership; the unique key of ``network_associations`` backs that up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit, service
from app.accounts.exceptions import (
    AlreadyInNetwork,
    InsufficientRole,
    InvitationNotPending,
    NetworkInvitationNotFound,
    NetworkInvitationPending,
    NotAnAssociation,
)
from app.accounts.models import (
    InvitationStatus,
    NetworkAssociation,
    NetworkInvitation,
    Organization,
    OrganizationKind,
    Role,
)
from app.accounts.principal import Principal
from app.accounts.schemas import (
    NetworkAssociationPublic,
    NetworkInvitationCreated,
    NetworkInvitationPublic,
)
from app.core.pagination import PageParams, paginate
from app.core.timeutil import utcnow

_invitations: Any = NetworkInvitation.__table__  # type: ignore[attr-defined]


async def _association(session: AsyncSession, association_id: str) -> Organization:
    association = await session.get(Organization, association_id)
    if association is None or association.kind != OrganizationKind.association:
        raise NotAnAssociation(
            errors=[{"field": "association_id", "detail": "no association with this id"}]
        )
    return association


async def _refuse_members(session: AsyncSession, network_id: str, association_id: str) -> None:
    if await session.scalar(
        select(NetworkAssociation.id).where(
            NetworkAssociation.network_id == network_id,
            NetworkAssociation.association_id == association_id,
        )
    ):
        raise AlreadyInNetwork()


async def join_or_invite(
    session: AsyncSession, principal: Principal, network_id: str, association_id: str
) -> NetworkAssociationPublic | NetworkInvitationCreated:
    """A network admin's request: the association joins at once when the caller may also
    accept for it (a platform admin, or an admin of both), and is invited otherwise."""
    network = await service.network(session, principal, network_id, Role.admin)
    association = await _association(session, association_id)
    await _refuse_members(session, network_id, association_id)
    if principal.is_member(association_id, Role.admin):
        return await _join(session, principal, network, association)

    if await session.scalar(
        select(NetworkInvitation.id).where(
            NetworkInvitation.network_id == network_id,
            NetworkInvitation.pending_association_id == association_id,
        )
    ):
        raise NetworkInvitationPending()
    invitation = NetworkInvitation(
        network_id=network_id,
        association_id=association_id,
        status=InvitationStatus.pending,
        pending_association_id=association_id,
        invited_by_user_id=principal.user_id,
    )
    session.add(invitation)
    try:
        await session.flush()
    except IntegrityError:  # the same invitation made at the same moment
        raise NetworkInvitationPending() from None
    await audit.record(
        session,
        principal,
        action="network_invitation.create",
        object_type="network_invitation",
        object_id=invitation.id,
        organization_id=network_id,
        changes=audit.diff(None, {"association_id": association_id, "status": "pending"}),
    )
    public = _public(invitation, {network.id: network.name, association.id: association.name})
    return NetworkInvitationCreated(**public.model_dump(), invitation_id=invitation.id)


async def _join(
    session: AsyncSession,
    principal: Principal,
    network: Organization,
    association: Organization,
    *,
    invitation_id: str | None = None,
) -> NetworkAssociationPublic:
    link = NetworkAssociation(network_id=network.id, association_id=association.id)
    session.add(link)
    try:
        await session.flush()
    except IntegrityError:  # joined another way at the same moment
        raise AlreadyInNetwork() from None
    if invitation_id is None:  # joined directly: a pending invitation of the pair is done
        await session.execute(
            update(_invitations)
            .where(
                _invitations.c.network_id == network.id,
                _invitations.c.pending_association_id == association.id,
            )
            .values(
                status=InvitationStatus.accepted,
                pending_association_id=None,
                decided_by_user_id=principal.user_id,
                decided_at=utcnow(),
            )
        )
    changes: dict[str, Any] = {"association_id": association.id}
    if invitation_id is not None:
        changes["invitation_id"] = invitation_id
    await audit.record(
        session,
        principal,
        action="network.association_add",
        object_type="network_association",
        object_id=link.id,
        organization_id=network.id,
        changes=audit.diff(None, changes),
    )
    return service.network_association_public(link, association)


# --- the invitation's answers --------------------------------------------------------------


async def _visible(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> NetworkInvitation:
    """The invitation, for the members of its network and of its association; 404 else."""
    invitation = await session.get(NetworkInvitation, invitation_id)
    if invitation is None or not (
        principal.is_platform_admin
        or principal.role_in(invitation.network_id) is not None
        or principal.role_in(invitation.association_id) is not None
    ):
        raise NetworkInvitationNotFound()
    return invitation


def _require_admin_of(principal: Principal, organization_id: str, who: str) -> None:
    if not principal.is_member(organization_id, Role.admin):
        raise InsufficientRole(f"Only an admin of the {who} may do this")


async def _close(
    session: AsyncSession,
    principal: Principal,
    invitation: NetworkInvitation,
    status: InvitationStatus,
    now: datetime,
) -> None:
    """Move the invitation out of ``pending``, or 409 when someone else just did: the row's
    lock orders concurrent answers, and the later one finds it no longer pending."""
    if invitation.status != InvitationStatus.pending:
        raise InvitationNotPending(f"The invitation is {invitation.status}")
    result = await session.execute(
        update(_invitations)
        .where(
            _invitations.c.id == invitation.id,
            _invitations.c.status == InvitationStatus.pending,
        )
        .values(
            status=status,
            pending_association_id=None,
            decided_by_user_id=principal.user_id,
            decided_at=now,
        )
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvitationNotPending()
    await session.refresh(invitation)
    await audit.record(
        session,
        principal,
        action=f"network_invitation.{_VERBS[status]}",
        object_type="network_invitation",
        object_id=invitation.id,
        # the association's answer is in its own trail; the network's withdrawal in the network's
        organization_id=(
            invitation.network_id
            if status is InvitationStatus.revoked
            else invitation.association_id
        ),
        changes=audit.diff({"status": "pending"}, {"status": status}),
    )


_VERBS = {
    InvitationStatus.accepted: "accept",
    InvitationStatus.declined: "decline",
    InvitationStatus.revoked: "revoke",
}


async def accept(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> NetworkAssociationPublic:
    """An admin of the invited association (or a platform admin) makes it a member."""
    invitation = await _visible(session, principal, invitation_id)
    _require_admin_of(principal, invitation.association_id, "invited association")
    network = await session.get(Organization, invitation.network_id)
    association = await session.get(Organization, invitation.association_id)
    assert network is not None  # the invitation goes with either organisation
    assert association is not None
    await _close(session, principal, invitation, InvitationStatus.accepted, utcnow())
    # a pending invitation's pair is not linked (a direct join closes it); the link's unique
    # key settles a race with one
    return await _join(session, principal, network, association, invitation_id=invitation.id)


async def decline(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> NetworkInvitationPublic:
    invitation = await _visible(session, principal, invitation_id)
    _require_admin_of(principal, invitation.association_id, "invited association")
    await _close(session, principal, invitation, InvitationStatus.declined, utcnow())
    return (await _publics(session, [invitation]))[0]


async def revoke(session: AsyncSession, principal: Principal, invitation_id: str) -> None:
    invitation = await _visible(session, principal, invitation_id)
    _require_admin_of(principal, invitation.network_id, "network")
    await _close(session, principal, invitation, InvitationStatus.revoked, utcnow())


# --- reading -------------------------------------------------------------------------------


def _public(invitation: NetworkInvitation, names: dict[str, str]) -> NetworkInvitationPublic:
    return NetworkInvitationPublic(
        id=invitation.id,
        network_id=invitation.network_id,
        network_name=names.get(invitation.network_id, ""),
        association_id=invitation.association_id,
        association_name=names.get(invitation.association_id, ""),
        status=InvitationStatus(invitation.status),
        created_at=invitation.created_at,
        decided_at=invitation.decided_at,
    )


async def _publics(
    session: AsyncSession, rows: Sequence[NetworkInvitation]
) -> list[NetworkInvitationPublic]:
    ids = {r.network_id for r in rows} | {r.association_id for r in rows}
    names = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(col(Organization.id).in_(ids))
            )
        ).all()
    )
    return [_public(r, names) for r in rows]


async def list_for_association(
    session: AsyncSession,
    principal: Principal,
    association_id: str,
    *,
    status: InvitationStatus | None,
    page: PageParams,
) -> tuple[list[NetworkInvitationPublic], str | None]:
    """The networks' invitations to an association, for its admins."""
    principal.require_member(association_id, Role.admin)
    stmt = select(NetworkInvitation).where(NetworkInvitation.association_id == association_id)
    return await _page(session, stmt, status, page)


async def list_for_network(
    session: AsyncSession,
    principal: Principal,
    network_id: str,
    *,
    status: InvitationStatus | None,
    page: PageParams,
) -> tuple[list[NetworkInvitationPublic], str | None]:
    """The invitations a network has sent, for its admins."""
    await service.network(session, principal, network_id, Role.admin)
    stmt = select(NetworkInvitation).where(NetworkInvitation.network_id == network_id)
    return await _page(session, stmt, status, page)


async def _page(
    session: AsyncSession, stmt: Any, status: InvitationStatus | None, page: PageParams
) -> tuple[list[NetworkInvitationPublic], str | None]:
    if status is not None:
        stmt = stmt.where(NetworkInvitation.status == status)
    rows, cursor = await paginate(session, stmt, key=col(NetworkInvitation.id), params=page)
    return await _publics(session, rows), cursor
