"""Adding people to an organisation: an invitation to an e-mail address, which the person it
names accepts (issue 11, finding 6).

Inviting never looks an account up, so its answer and its work are the same whether the
e-mail has an account or not: the statements run at invite time read the organisation, its
own members (whom its admins list anyway) and its invitations, never the accounts. The
answer carries a single-use token for the inviter to pass on; only its SHA-256 is stored.

Accepting:

- a logged-in person whose e-mail is the invitation's accepts it by id
  (``POST /invitations/{id}/accept``; ``GET /me/invitations`` lists theirs);
- someone holding the token makes the account of the invited e-mail
  (``POST /invitations/accept`` with a password) — never an account for another e-mail, and
  never for one that exists: then the token is not enough, that person logs in and accepts.

Either way an invitation is used once: its row moves from ``pending`` with a conditional
UPDATE, so two acceptances at once make one membership (and the membership's unique key
backs that up). Invitations expire after ``INVITATION_TTL``; organisation admins list and
revoke them; the invited person may decline.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit, passwords, service
from app.accounts.exceptions import (
    AlreadyMember,
    InvitationExpired,
    InvitationLoginRequired,
    InvitationNotFound,
    InvitationNotPending,
    InvitationPending,
)
from app.accounts.models import (
    InvitationStatus,
    MemberInvitation,
    Membership,
    Organization,
    Role,
    User,
)
from app.accounts.principal import Principal
from app.accounts.schemas import (
    InvitationSignup,
    MemberCreate,
    MemberInvitationCreated,
    MemberInvitationPublic,
    MemberPublic,
)
from app.core.pagination import PageParams, paginate
from app.core.security import hash_password
from app.core.timeutil import utcnow
from app.notifications.service import Recipient, language_of, notify

INVITATION_TTL = timedelta(days=7)
TOKEN_BYTES = 32

_invitations: Any = MemberInvitation.__table__  # type: ignore[attr-defined]


def token_hash(token: str) -> str:
    # the token carries 256 random bits, so a fast hash is enough (as for API keys)
    return hashlib.sha256(token.encode()).hexdigest()


def _email(value: object) -> str:
    return str(value).strip().lower()


def effective_status(invitation: MemberInvitation, now: datetime) -> InvitationStatus:
    status = InvitationStatus(invitation.status)
    if status is InvitationStatus.pending and invitation.expires_at <= now:
        return InvitationStatus.expired
    return status


# --- adding a member -----------------------------------------------------------------------


async def add_member(
    session: AsyncSession, principal: Principal, organization_id: str, data: MemberCreate
) -> MemberPublic | MemberInvitationCreated:
    """Invite a person (``data`` without ``password``: 202), or, in the older form that sets
    the password, make a new account and its membership (201).

    The older form never links an existing account and never shows anything of it: for an
    e-mail that has one it answers the invitation that the form without a password answers,
    after hashing the password all the same so that its time does not differ. Its 201 and
    202 do tell the organisation's admin whether the e-mail already has an account, though;
    that is why the invitation form is the one to use, and the older one is kept only for
    the clients (the demo, scripts) that make brand-new accounts with it.
    """
    principal.require_member(organization_id, Role.admin)
    organization = await service.existing_organization(session, organization_id)
    email = _email(data.email)
    if data.password is None:
        await _refuse_members(session, organization_id, email)
        return await _invite(session, principal, organization, email, data)

    # before any look-up: a weak password is refused alike for every e-mail
    passwords.check_password(data.password, email=email)
    await _refuse_members(session, organization_id, email)
    password_hash = hash_password(data.password)  # for a known e-mail too: the same work
    if await account_exists(session, email):
        return await _invite(session, principal, organization, email, data)
    user = User(email=email, full_name=data.full_name, password_hash=password_hash)
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:  # the account was made at this very moment: it exists now
        return await _invite(session, principal, organization, email, data)
    membership = Membership(organization_id=organization_id, user_id=user.id, role=data.role)
    session.add(membership)
    await session.flush()
    # an invitation still pending for the e-mail is moot now
    await session.execute(
        update(_invitations)
        .where(
            _invitations.c.organization_id == organization_id,
            _invitations.c.pending_email == email,
        )
        .values(status=InvitationStatus.revoked, pending_email=None, decided_at=utcnow())
    )
    await audit.record(
        session,
        principal,
        action="member.add",
        object_type="membership",
        object_id=membership.id,
        organization_id=organization_id,
        changes=audit.diff(None, {"user_id": user.id, "email": email, "role": data.role}),
    )
    return service.member_public(membership, user)


async def account_exists(session: AsyncSession, email: str) -> bool:
    """Whether an account has the e-mail: asked only where the answer may differ anyway."""
    return await session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None


async def _refuse_members(session: AsyncSession, organization_id: str, email: str) -> None:
    """409 for a person already in the organisation. The statement reads the organisation's
    own members, whom its admins list anyway, and is the same whatever the e-mail."""
    exists = await session.scalar(
        select(Membership.id)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.organization_id == organization_id, func.lower(User.email) == email)
    )
    if exists:
        raise AlreadyMember()


async def _invite(
    session: AsyncSession,
    principal: Principal,
    organization: Organization,
    email: str,
    data: MemberCreate,
) -> MemberInvitationCreated:
    """The invitation: the same statements, and so the same time, for every e-mail."""
    now = utcnow()
    # an expired invitation gives its place to a new one
    await session.execute(
        update(_invitations)
        .where(
            _invitations.c.organization_id == organization.id,
            _invitations.c.pending_email == email,
            _invitations.c.expires_at <= now,
        )
        .values(status=InvitationStatus.expired, pending_email=None)
    )
    pending = await session.scalar(
        select(MemberInvitation.id).where(
            MemberInvitation.organization_id == organization.id,
            MemberInvitation.pending_email == email,
        )
    )
    if pending is not None:
        raise InvitationPending()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    invitation = MemberInvitation(
        organization_id=organization.id,
        email=email,
        full_name=data.full_name,
        role=data.role,
        status=InvitationStatus.pending,
        pending_email=email,
        token_hash=token_hash(token),
        invited_by_user_id=principal.user_id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    try:
        await session.flush()
    except IntegrityError:  # another admin invited the same e-mail at the same moment
        raise InvitationPending() from None
    await audit.record(
        session,
        principal,
        action="member_invitation.create",
        object_type="member_invitation",
        object_id=invitation.id,
        organization_id=organization.id,
        changes=audit.diff(None, {"email": email, "role": data.role, "status": "pending"}),
    )
    inviter = await session.get(User, principal.user_id) if principal.user_id else None
    await notify(
        session,
        kind="invitation",
        event_key=invitation.id,
        recipients=[Recipient(None, email, language_of(None, organization.country))],
        context={
            "full_name": data.full_name,
            "organization_name": organization.name,
            "inviter_name": inviter.full_name if inviter else organization.name,
            "role": str(data.role),
            "expires_at": invitation.expires_at.isoformat(),
            "link_path": f"/invitations/accept?token={token}",
        },
    )
    public = _public(invitation, organization.name, now)
    return MemberInvitationCreated(**public.model_dump(), invitation_id=invitation.id, token=token)


# --- accepting, declining, revoking --------------------------------------------------------


def _check_open(invitation: MemberInvitation, now: datetime) -> None:
    status = effective_status(invitation, now)
    if status is InvitationStatus.expired:
        raise InvitationExpired()
    if status is not InvitationStatus.pending:
        raise InvitationNotPending(f"The invitation is {status}")


async def _close(
    session: AsyncSession,
    invitation: MemberInvitation,
    status: InvitationStatus,
    now: datetime,
    *,
    user_id: str | None = None,
) -> None:
    """Move the invitation out of ``pending``, or 409 when someone else just did: the row's
    lock orders concurrent attempts, and the later one finds it no longer pending."""
    values: dict[str, Any] = {"status": status, "pending_email": None, "decided_at": now}
    if user_id is not None:
        values["accepted_user_id"] = user_id
    result = await session.execute(
        update(_invitations)
        .where(
            _invitations.c.id == invitation.id,
            _invitations.c.status == InvitationStatus.pending,
            _invitations.c.expires_at > now,
        )
        .values(**values)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvitationNotPending()
    await session.refresh(invitation)


async def _accept(
    session: AsyncSession, actor: Principal, invitation: MemberInvitation, user: User
) -> MemberPublic:
    now = utcnow()
    _check_open(invitation, now)
    if await session.scalar(
        select(Membership.id).where(
            Membership.organization_id == invitation.organization_id,
            Membership.user_id == user.id,
        )
    ):
        raise AlreadyMember()
    await _close(session, invitation, InvitationStatus.accepted, now, user_id=user.id)
    membership = Membership(
        organization_id=invitation.organization_id, user_id=user.id, role=invitation.role
    )
    session.add(membership)
    try:
        await session.flush()
    except IntegrityError:  # a membership made another way at the same moment
        raise AlreadyMember() from None
    await audit.record(
        session,
        actor,
        action="member_invitation.accept",
        object_type="member_invitation",
        object_id=invitation.id,
        organization_id=invitation.organization_id,
        changes=audit.diff({"status": "pending"}, {"status": "accepted", "user_id": user.id}),
    )
    await audit.record(
        session,
        actor,
        action="member.add",
        object_type="membership",
        object_id=membership.id,
        organization_id=invitation.organization_id,
        changes=audit.diff(
            None,
            {
                "user_id": user.id,
                "email": user.email,
                "role": invitation.role,
                "invitation_id": invitation.id,
            },
        ),
    )
    return service.member_public(membership, user)


async def _addressed_to(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> MemberInvitation:
    """The caller's own invitation; 404 for anyone else's (never tell that it exists)."""
    email = _email(principal.email or "")
    invitation = await session.get(MemberInvitation, invitation_id)
    if invitation is None or not email or invitation.email != email:
        raise InvitationNotFound()
    return invitation


async def accept_invitation(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> MemberPublic:
    """The logged-in person the invitation names joins the organisation."""
    invitation = await _addressed_to(session, principal, invitation_id)
    assert principal.user_id is not None
    user = await session.get(User, principal.user_id)
    assert user is not None
    return await _accept(session, principal, invitation, user)


async def decline_invitation(
    session: AsyncSession, principal: Principal, invitation_id: str
) -> MemberInvitationPublic:
    invitation = await _addressed_to(session, principal, invitation_id)
    now = utcnow()
    _check_open(invitation, now)
    await _close(session, invitation, InvitationStatus.declined, now)
    await audit.record(
        session,
        principal,
        action="member_invitation.decline",
        object_type="member_invitation",
        object_id=invitation.id,
        organization_id=invitation.organization_id,
        changes=audit.diff({"status": "pending"}, {"status": "declined"}),
    )
    return (await _publics(session, [invitation], now))[0]


async def accept_with_token(session: AsyncSession, data: InvitationSignup) -> MemberPublic:
    """Make the account of the invited e-mail and its membership, for the token's holder.

    The account is always the invitation's e-mail; when that e-mail has an account already,
    the token is not enough (it would hand the account to whoever holds it): the person logs
    in and accepts by id.
    """
    invitation = await session.scalar(
        select(MemberInvitation).where(MemberInvitation.token_hash == token_hash(data.token))
    )
    if invitation is None:
        raise InvitationNotFound()
    _check_open(invitation, utcnow())
    passwords.check_password(data.password, email=invitation.email)
    password_hash = hash_password(data.password)
    if await account_exists(session, invitation.email):
        raise InvitationLoginRequired()
    user = User(
        email=invitation.email,
        full_name=data.full_name or invitation.full_name,
        password_hash=password_hash,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # the account was made another way at the same moment
        raise InvitationLoginRequired() from None
    return await _accept(session, Principal(user_id=user.id, email=user.email), invitation, user)


async def revoke_invitation(
    session: AsyncSession, principal: Principal, organization_id: str, invitation_id: str
) -> None:
    principal.require_member(organization_id, Role.admin)
    invitation = await session.scalar(
        select(MemberInvitation).where(
            MemberInvitation.id == invitation_id,
            MemberInvitation.organization_id == organization_id,
        )
    )
    if invitation is None:
        raise InvitationNotFound()
    if invitation.status != InvitationStatus.pending:
        raise InvitationNotPending(f"The invitation is {invitation.status}")
    result = await session.execute(
        update(_invitations)
        .where(
            _invitations.c.id == invitation.id,
            _invitations.c.status == InvitationStatus.pending,
        )
        .values(status=InvitationStatus.revoked, pending_email=None, decided_at=utcnow())
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvitationNotPending()
    await audit.record(
        session,
        principal,
        action="member_invitation.revoke",
        object_type="member_invitation",
        object_id=invitation.id,
        organization_id=organization_id,
        changes=audit.diff({"status": "pending"}, {"status": "revoked"}),
    )


# --- reading -------------------------------------------------------------------------------


def _public(
    invitation: MemberInvitation, organization_name: str, now: datetime
) -> MemberInvitationPublic:
    return MemberInvitationPublic(
        id=invitation.id,
        organization_id=invitation.organization_id,
        organization_name=organization_name,
        email=invitation.email,
        full_name=invitation.full_name,
        role=Role(invitation.role),
        status=effective_status(invitation, now),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        decided_at=invitation.decided_at,
    )


async def _publics(
    session: AsyncSession, rows: Sequence[MemberInvitation], now: datetime
) -> list[MemberInvitationPublic]:
    names = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(
                    col(Organization.id).in_({r.organization_id for r in rows})
                )
            )
        ).all()
    )
    return [_public(r, names.get(r.organization_id, ""), now) for r in rows]


def _with_status(status: InvitationStatus, now: datetime) -> Any:
    stored = col(MemberInvitation.status)
    if status is InvitationStatus.pending:
        return and_(stored == status, col(MemberInvitation.expires_at) > now)
    if status is InvitationStatus.expired:
        return or_(
            stored == status,
            and_(stored == InvitationStatus.pending, col(MemberInvitation.expires_at) <= now),
        )
    return stored == status


async def list_invitations(
    session: AsyncSession,
    principal: Principal,
    organization_id: str,
    *,
    status: InvitationStatus | None,
    page: PageParams,
) -> tuple[list[MemberInvitationPublic], str | None]:
    """An organisation's invitations, for its admins; ``status`` filters (``pending`` ones
    are those that can still be accepted)."""
    principal.require_member(organization_id, Role.admin)
    now = utcnow()
    stmt = select(MemberInvitation).where(MemberInvitation.organization_id == organization_id)
    if status is not None:
        stmt = stmt.where(_with_status(status, now))
    rows, cursor = await paginate(session, stmt, key=col(MemberInvitation.id), params=page)
    return await _publics(session, rows, now), cursor


async def my_invitations(
    session: AsyncSession, principal: Principal, page: PageParams
) -> tuple[list[MemberInvitationPublic], str | None]:
    """The invitations the caller can accept: pending, unexpired, to their e-mail."""
    now = utcnow()
    stmt = select(MemberInvitation).where(
        MemberInvitation.email == _email(principal.email or ""),
        _with_status(InvitationStatus.pending, now),
    )
    rows, cursor = await paginate(session, stmt, key=col(MemberInvitation.id), params=page)
    return await _publics(session, rows, now), cursor
