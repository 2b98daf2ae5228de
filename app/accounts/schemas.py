"""API shapes of the accounts domain: what clients may write is separate from what they read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Form
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from app.accounts import passwords
from app.accounts.models import BuyerType, Country, InvitationStatus, OrganizationKind, Role
from app.core.i18n import N_, Language
from app.core.ids import Id
from app.core.schemas import PlainText, Strict

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# The policy (app.accounts.passwords) is applied where a password is set, so that every
# refusal is a 422 ``weak_password`` with its reason; the schema shows its bounds.
Password = Annotated[
    str,
    StringConstraints(max_length=passwords.MAX_LENGTH),
    Field(
        json_schema_extra={"minLength": passwords.MIN_LENGTH},
        description=(
            f"At least {passwords.MIN_LENGTH} characters; not a common password, and not "
            "containing the e-mail address (422 `weak_password` otherwise)"
        ),
    ),
]


class LoginForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form, with a cap on every field."""

    def __init__(
        self,
        *,
        grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
        username: Annotated[PlainText, Form(max_length=254)],
        password: Annotated[
            PlainText, Form(max_length=256, json_schema_extra={"format": "password"})
        ],
        scope: Annotated[PlainText, Form(max_length=1000)] = "",
        client_id: Annotated[PlainText | None, Form(max_length=200)] = None,
        client_secret: Annotated[PlainText | None, Form(max_length=200)] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at: datetime


class OrganizationCreate(Strict):
    kind: OrganizationKind
    name: Name
    tax_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    country: Country
    province: Place
    canton: Place
    parish: Place
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    buyer_type: BuyerType | None = None
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    members_total: int | None = Field(default=None, ge=0, le=1_000_000)
    members_women: int | None = Field(default=None, ge=0, le=1_000_000)
    payment_terms_days: int | None = Field(default=None, ge=0, le=180)
    allocation_floor_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="A network's floor for per_member_equalizing: no association gets less "
        "than this share (%) of what proportional would give it (default 50)",
    )
    address: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
        | None
    ) = None
    phone: (
        Annotated[
            str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()-]{5,38}$")
        ]
        | None
    ) = None
    delivery_notes: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
        | None
    ) = None


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: OrganizationKind
    name: str
    tax_id: str
    country: Country
    province: str
    canton: str
    parish: str
    latitude: float
    longitude: float
    buyer_type: BuyerType | None
    currency: str | None
    timezone: str | None
    members_total: int | None
    members_women: int | None
    payment_terms_days: int | None
    allocation_floor_percent: int | None = None
    address: str | None = None
    phone: str | None = None
    delivery_notes: str | None = None
    created_at: datetime


class MembershipPublic(BaseModel):
    organization_id: str
    organization_name: str
    organization_kind: OrganizationKind
    role: Role


class MePublic(BaseModel):
    id: str
    email: str
    full_name: str
    is_platform_admin: bool
    language: Language | None = Field(
        description="The language of answers that name none in Accept-Language; "
        "null: the language of the user's network"
    )
    memberships: list[MembershipPublic]


def _name_not_nullable(schema: dict[str, Any]) -> None:
    """The schema says what the validation takes: a name may be left out, not cleared."""
    field = schema.get("properties", {}).get("full_name", {})
    arms = [arm for arm in field.pop("anyOf", []) if arm != {"type": "null"}]
    if len(arms) == 1:
        field.update(arms[0])
    field.pop("default", None)


class PasswordChange(Strict):
    current_password: str = Field(max_length=passwords.MAX_LENGTH)
    new_password: Password


class PasswordResetRequest(Strict):
    email: EmailStr = Field(max_length=254)


class PasswordResetConfirm(Strict):
    token: str = Field(min_length=1, max_length=200, description="from the link in the e-mail")
    new_password: Password


class EmailChangeRequest(Strict):
    new_email: EmailStr = Field(max_length=254)
    current_password: str = Field(max_length=passwords.MAX_LENGTH)


class EmailChangeConfirm(Strict):
    token: str = Field(min_length=1, max_length=200, description="from the link in the e-mail")


class NotificationChoice(BaseModel):
    kind: str
    description: str
    enabled: bool
    can_turn_off: bool


class NotificationSettings(BaseModel):
    """Which messages this person gets; ``PATCH`` takes ``{kind: true|false}``."""

    items: list[NotificationChoice]


class MeUpdate(Strict):
    """What a person may change of their own account; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_name_not_nullable)

    full_name: Name | None = None
    language: Language | None = Field(
        default=None, description="es or en; null goes back to the network's language"
    )

    @field_validator("full_name")
    @classmethod
    def _name_not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError(N_("may be left out but not set to null"))
        return value


class MemberCreate(Strict):
    """Without ``password``: an invitation that the person accepts (202). With it (the older
    form): a new account with that password and its membership (201) when no account has the
    e-mail, and otherwise an invitation all the same (202): an existing account is never
    linked, and nothing about it is shown."""

    email: EmailStr = Field(max_length=254)
    full_name: Name = Field(
        description="How the inviter names the person; an existing account keeps its own name"
    )
    role: Role
    password: Annotated[
        Password | None,
        Field(
            json_schema_extra={"minLength": passwords.MIN_LENGTH},
            description=(
                "Only for the older form that sets the new account's password: at least "
                f"{passwords.MIN_LENGTH} characters; not a common password, and not containing "
                "the e-mail address (422 `weak_password` otherwise). Leave it out to invite."
            ),
        ),
    ] = None


class MemberUpdate(Strict):
    role: Role


class MemberPublic(BaseModel):
    id: str
    organization_id: str
    user_id: str
    email: str
    full_name: str
    role: Role
    created_at: datetime


class NetworkAssociationCreate(Strict):
    association_id: Id


class NetworkAssociationPublic(BaseModel):
    network_id: str
    association_id: str
    association_name: str
    parish: str
    created_at: datetime


class MemberInvitationPublic(BaseModel):
    id: str
    organization_id: str
    organization_name: str
    email: str
    full_name: str
    role: Role
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None


class MemberInvitationCreated(MemberInvitationPublic):
    invitation_id: str = Field(description="The invitation's id (the same as ``id``)")
    token: str = Field(
        description=(
            "The single-use acceptance token, shown once: pass it on to the person (it lets "
            "them make an account for the invited e-mail with POST /invitations/accept)"
        )
    )


class InvitationSignup(Strict):
    """Accept an invitation by its token, making the account of the invited e-mail."""

    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{16,128}$")]
    password: Password
    full_name: Name | None = Field(
        default=None, description="The new account's name; the inviter's wording by default"
    )


class NetworkInvitationPublic(BaseModel):
    id: str
    network_id: str
    network_name: str
    association_id: str
    association_name: str
    status: InvitationStatus
    created_at: datetime
    decided_at: datetime | None


class NetworkInvitationCreated(NetworkInvitationPublic):
    invitation_id: str = Field(description="The invitation's id (the same as ``id``)")


class ApiKeyCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role = Role.staff


class ApiKeyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key; shown once, store it now")


class AuditEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    occurred_at: datetime
    actor_user_id: str | None
    actor_api_key_id: str | None
    organization_id: str | None
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
