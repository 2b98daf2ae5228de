"""Tables of the accounts domain.

No ORM relationships are declared here: rows are joined explicitly in queries, so a lazy
load (and an N+1) cannot happen by accident. Relationships added later must use
``lazy="raise"`` (a test checks every mapper).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field, timestamp
from app.core.timeutil import UTCDateTime


class OrganizationKind(StrEnum):
    association = "association"
    buyer = "buyer"
    collection_centre = "collection_centre"
    network = "network"


class Country(StrEnum):
    EC = "EC"
    CO = "CO"


class BuyerType(StrEnum):
    restaurant = "restaurant"
    supermarket = "supermarket"
    other = "other"


class Role(StrEnum):
    admin = "admin"
    staff = "staff"


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = (UniqueConstraint("country", "tax_id"),)

    id: str = id_field()
    kind: str = Field(sa_type=String(32), index=True)
    name: str = Field(max_length=200)
    tax_id: str = Field(max_length=20)
    country: str = Field(sa_type=String(2))
    province: str = Field(max_length=100)
    canton: str = Field(max_length=100)
    parish: str = Field(max_length=100)
    latitude: float
    longitude: float
    buyer_type: str | None = Field(default=None, sa_type=String(20))
    currency: str | None = Field(default=None, sa_type=String(3))
    timezone: str | None = Field(default=None, max_length=64)
    members_total: int | None = None
    members_women: int | None = None
    payment_terms_days: int | None = None
    # a network's floor for per_member_equalizing: no association gets less than this share
    # (in %) of what proportional would give it; None is the default, 50 %
    allocation_floor_percent: int | None = None
    # a network's published catalogue readable by anyone, without logging in (its shop window)
    public_catalogue: bool = False
    # how people reach it: the street address (the parish alone does not find a door), a
    # phone, and what a driver needs to know (which door, when the kitchen takes goods)
    address: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=40)
    delivery_notes: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp()


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = id_field()
    email: str = Field(max_length=254, unique=True)
    full_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=255)
    is_platform_admin: bool = False
    is_active: bool = True
    # the language answers are in when the request names none (es, en); None: the network's
    language: str | None = Field(default=None, sa_type=String(8))
    created_at: datetime = timestamp()
    # when the password last changed: access tokens issued before it no longer work
    credentials_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: str = id_field()
    organization_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    user_id: str = Field(max_length=36, foreign_key="users.id", ondelete="CASCADE", index=True)
    role: str = Field(sa_type=String(16))
    created_at: datetime = timestamp()


class NetworkAssociation(SQLModel, table=True):
    """An association that belongs to a network (an association may be in several)."""

    __tablename__ = "network_associations"
    __table_args__ = (UniqueConstraint("network_id", "association_id"),)

    id: str = id_field()
    network_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    association_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    created_at: datetime = timestamp()


class ApiKey(SQLModel, table=True):
    """A key for a machine client, acting for one organisation with one role."""

    __tablename__ = "api_keys"

    id: str = id_field()
    organization_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True)
    key_hash: str = Field(max_length=64)
    role: str = Field(sa_type=String(16))
    created_by_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginFailure(SQLModel, table=True):
    """Failed logins in the current window, per account (``account:email``) and address."""

    __tablename__ = "login_failures"

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AuditEvent(SQLModel, table=True):
    """Who changed what: the append-only audit trail every domain writes to."""

    __tablename__ = "audit_events"

    id: str = id_field()
    occurred_at: datetime = timestamp()
    actor_user_id: str | None = Field(default=None, max_length=36, index=True)
    actor_api_key_id: str | None = Field(default=None, max_length=36)
    organization_id: str | None = Field(default=None, max_length=36, index=True)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=64)
    object_id: str = Field(max_length=64, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InvitationStatus(StrEnum):
    """Where an invitation stands. ``expired`` is stored only once a newer invitation has
    replaced an expired one; until then a pending row past ``expires_at`` reads as expired."""

    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    revoked = "revoked"
    expired = "expired"


class MemberInvitation(SQLModel, table=True):
    """An invitation to join an organisation, sent to an e-mail address; the person it names
    accepts it. It never points at an account until then: inviting looks no account up."""

    __tablename__ = "member_invitations"
    # one open invitation per e-mail and organisation: ``pending_email`` is the e-mail while
    # the invitation is pending and NULL afterwards (NULLs never collide in a unique key)
    __table_args__ = (UniqueConstraint("organization_id", "pending_email"),)

    id: str = id_field()
    organization_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    email: str = Field(max_length=254, index=True)
    full_name: str = Field(max_length=200)
    role: str = Field(sa_type=String(16))
    status: str = Field(sa_type=String(16), default=InvitationStatus.pending)
    pending_email: str | None = Field(default=None, max_length=254)
    # SHA-256 of the single-use acceptance token; the token itself is never stored
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    accepted_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NetworkInvitation(SQLModel, table=True):
    """A network's invitation to an association: it joins when one of its own admins accepts."""

    __tablename__ = "network_invitations"
    # one open invitation per network and association (see MemberInvitation.pending_email)
    __table_args__ = (UniqueConstraint("network_id", "pending_association_id"),)

    id: str = id_field()
    network_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    association_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    status: str = Field(sa_type=String(16), default=InvitationStatus.pending)
    pending_association_id: str | None = Field(default=None, max_length=36)
    invited_by_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    decided_by_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountToken(SQLModel, table=True):
    """A single-use, expiring token mailed to a person: to reset a forgotten password, or to
    confirm a new e-mail address (``new_email``). Only its SHA-256 is stored."""

    __tablename__ = "account_tokens"

    id: str = id_field()
    user_id: str = Field(max_length=36, foreign_key="users.id", ondelete="CASCADE", index=True)
    purpose: str = Field(sa_type=String(16))  # password_reset, email_change
    token_hash: str = Field(max_length=64, unique=True)
    new_email: str | None = Field(default=None, max_length=254)
    created_at: datetime = timestamp()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
