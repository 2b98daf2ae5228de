"""HTTP endpoints of the accounts domain: parse, authorise, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import StrictBool

from app.accounts import authentication, invitations, network_invitations, recovery, service
from app.accounts import exceptions as exc
from app.accounts.models import InvitationStatus, OrganizationKind
from app.accounts.passwords import WeakPassword
from app.accounts.principal import Principal
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    AuditEventPublic,
    EmailChangeConfirm,
    EmailChangeRequest,
    InvitationSignup,
    LoginForm,
    MemberCreate,
    MemberInvitationCreated,
    MemberInvitationPublic,
    MemberPublic,
    MemberUpdate,
    MePublic,
    MeUpdate,
    NetworkAssociationCreate,
    NetworkAssociationPublic,
    NetworkInvitationCreated,
    NetworkInvitationPublic,
    NotificationChoice,
    NotificationSettings,
    OrganizationCreate,
    OrganizationPublic,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    TokenPublic,
)
from app.api.deps import (
    CurrentPrincipal,
    CurrentUser,
    PlatformAdmin,
    PrincipalOrAnonymous,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    UserRequired,
    require,
)
from app.api.ids import IdPath, IdQuery
from app.core.pagination import Page, PageParamsDep
from app.core.problems import InvalidInput, Unauthenticated, responses
from app.core.schemas import PlainText
from app.notifications import service as notifications
from app.notifications.kinds import KINDS

router = APIRouter()

AUTH = responses(Unauthenticated, InvalidInput)


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    tags=["auth"],
    summary="Log in (OAuth2 password flow)",
    responses=responses(exc.InvalidCredentials, exc.LoginThrottled, InvalidInput),
)
async def login(
    request: Request,
    form: Annotated[LoginForm, Depends()],
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
) -> TokenPublic:
    token = await authentication.login(
        sessionmaker,
        settings,
        email=form.username,
        password=form.password,
        client_address=request.client.host if request.client else "unknown",
    )
    return TokenPublic(access_token=token.token, expires_at=token.expires_at)


@router.get(
    "/me",
    response_model=MePublic,
    tags=["auth"],
    responses=responses(Unauthenticated, UserRequired),
)
async def read_me(session: SessionDep, user: CurrentUser) -> MePublic:
    return await service.me(session, user)


@router.patch(
    "/me",
    response_model=MePublic,
    tags=["auth"],
    summary="Change my name or language",
    responses=responses(Unauthenticated, UserRequired, InvalidInput),
)
async def update_me(session: SessionDep, user: CurrentUser, body: MeUpdate) -> MePublic:
    return await service.update_me(session, user, body)


@router.post(
    "/me/password",
    response_model=TokenPublic,
    tags=["auth"],
    summary="Change my password: the tokens issued before stop working; here is a new one",
    responses=responses(
        Unauthenticated,
        UserRequired,
        exc.CurrentPasswordWrong,
        WeakPassword,
        exc.LoginThrottled,
        InvalidInput,
    ),
)
async def change_my_password(
    request: Request,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    caller: PrincipalOrAnonymous,
    body: PasswordChange,
) -> TokenPublic:
    # the caller is read outside any transaction: the change runs transactions of its own
    # (the throttle's count must commit even when the password is wrong)
    user = require(caller)
    if user.user_id is None:
        raise UserRequired()
    token = await authentication.change_password(
        sessionmaker,
        settings,
        user,
        current=body.current_password,
        new=body.new_password,
        client_address=request.client.host if request.client else "unknown",
    )
    return TokenPublic(access_token=token.token, expires_at=token.expires_at)


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,  # no body: the answer is the status
    tags=["auth"],
    summary="Mail me a link to choose a new password",
    description="Always 202, whether or not an account has this e-mail (and in the same "
    "time): if one has, a single-use link is mailed to it. Throttled per address and per "
    "client (429 `password_reset_throttled`).",
    responses=responses(exc.PasswordResetThrottled, InvalidInput),
)
async def request_password_reset(
    request: Request,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    body: PasswordResetRequest,
) -> Response:
    await recovery.request_reset(
        sessionmaker,
        settings,
        email=str(body.email),
        client_address=request.client.host if request.client else "unknown",
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/auth/password-reset/confirm",
    response_model=TokenPublic,
    tags=["auth"],
    summary="Choose a new password with the mailed link's token",
    description="The token works once and expires; every session of the account ends "
    "(access tokens issued before stop working). The answer is a new access token.",
    responses=responses(exc.AccountTokenInvalid, WeakPassword, InvalidInput),
)
async def confirm_password_reset(
    sessionmaker: SessionmakerDep, settings: SettingsDep, body: PasswordResetConfirm
) -> TokenPublic:
    token = await recovery.confirm_reset(
        sessionmaker, settings, token=body.token, new_password=body.new_password
    )
    return TokenPublic(access_token=token.token, expires_at=token.expires_at)


@router.post(
    "/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,  # no body: the answer is the status
    tags=["auth"],
    summary="Change my e-mail address: a link to confirm it is mailed to the new one",
    responses=responses(Unauthenticated, UserRequired, exc.CurrentPasswordWrong, InvalidInput),
)
async def request_email_change(
    session: SessionDep, settings: SettingsDep, user: CurrentUser, body: EmailChangeRequest
) -> Response:
    await recovery.request_email_change(
        session,
        settings,
        user,
        new_email=str(body.new_email),
        current_password=body.current_password,
    )
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/me/email/confirm",
    response_model=MePublic,
    tags=["auth"],
    summary="Confirm a new e-mail address with the mailed link's token",
    responses=responses(exc.AccountTokenInvalid, exc.EmailTaken, InvalidInput),
)
async def confirm_email_change(session: SessionDep, body: EmailChangeConfirm) -> MePublic:
    user = await recovery.confirm_email_change(session, token=body.token)
    return await service.me(session, Principal(user_id=user.id, email=user.email))


@router.get(
    "/me/notifications",
    response_model=NotificationSettings,
    tags=["auth"],
    summary="Which e-mails I get",
    responses=responses(Unauthenticated, UserRequired),
)
async def read_my_notifications(session: SessionDep, user: CurrentUser) -> NotificationSettings:
    return await _notification_settings(session, user)


@router.patch(
    "/me/notifications",
    response_model=NotificationSettings,
    tags=["auth"],
    summary='Turn kinds of e-mail on or off: `{"order_placed": false}`',
    responses=responses(
        Unauthenticated,
        UserRequired,
        exc.NotificationKindUnknown,
        exc.NotificationRequired,
        InvalidInput,
    ),
)
async def change_my_notifications(
    session: SessionDep, user: CurrentUser, body: dict[str, StrictBool]
) -> NotificationSettings:
    assert user.user_id is not None
    for kind, enabled in body.items():
        if kind not in KINDS:
            raise exc.NotificationKindUnknown(errors=[{"field": kind, "detail": "unknown kind"}])
        if not enabled and not KINDS[kind].optional:
            raise exc.NotificationRequired(errors=[{"field": kind, "detail": "always sent"}])
    await notifications.set_preferences(session, user.user_id, body)
    return await _notification_settings(session, user)


async def _notification_settings(session: SessionDep, user: Principal) -> NotificationSettings:
    assert user.user_id is not None
    chosen = await notifications.preferences(session, user.user_id)
    return NotificationSettings(
        items=[
            NotificationChoice(
                kind=name,
                description=kind.description,
                enabled=chosen[name],
                can_turn_off=kind.optional,
            )
            for name, kind in KINDS.items()
        ]
    )


@router.post(
    "/organizations",
    response_model=OrganizationPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["organizations"],
    responses=responses(
        exc.PlatformAdminRequired, exc.InvalidTaxId, exc.TaxIdTaken, exc.InvalidOrganization
    )
    | AUTH,
)
async def create_organization(
    session: SessionDep, admin: PlatformAdmin, body: OrganizationCreate
) -> OrganizationPublic:
    org = await service.create_organization(session, admin, body)
    return OrganizationPublic.model_validate(org)


@router.get(
    "/organizations",
    response_model=Page[OrganizationPublic],
    tags=["organizations"],
    responses=AUTH,
)
async def list_organizations(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    kind: OrganizationKind | None = None,
) -> Page[OrganizationPublic]:
    rows, cursor = await service.list_organizations(session, principal, kind=kind, page=page)
    return Page(items=[OrganizationPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/organizations/{organization_id}",
    response_model=OrganizationPublic,
    tags=["organizations"],
    responses=responses(exc.OrganizationNotFound) | AUTH,
)
async def get_organization(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath
) -> OrganizationPublic:
    org = await service.get_organization(session, principal, organization_id)
    return OrganizationPublic.model_validate(org)


MEMBER_ERRORS = responses(
    exc.OrganizationNotFound, exc.InsufficientRole, exc.AlreadyMember, exc.MemberNotFound
)


def _accepted(body: MemberInvitationCreated | NetworkInvitationCreated) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/organizations/{organization_id}/members",
    response_model=MemberPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["organizations"],
    summary="Invite a person (202), or make a new account with a password (201)",
    description=(
        "Without `password`: an invitation (202), the same answer whether or not the e-mail "
        "has an account; the person accepts it. With `password` (the older form): 201 and a "
        "new account for an e-mail that has none; for one that has, the same invitation (202), "
        "never a link to that account. That 201 or 202 does tell whether the e-mail has an "
        "account, so invite without a password."
    ),
    responses={
        202: {"model": MemberInvitationCreated, "description": "Invited; the person accepts"}
    }
    | responses(exc.InvitationPending, WeakPassword)
    | MEMBER_ERRORS
    | AUTH,
)
async def add_member(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, body: MemberCreate
) -> MemberPublic | JSONResponse:
    added = await invitations.add_member(session, principal, organization_id, body)
    return _accepted(added) if isinstance(added, MemberInvitationCreated) else added


@router.get(
    "/organizations/{organization_id}/members",
    response_model=Page[MemberPublic],
    tags=["organizations"],
    responses=MEMBER_ERRORS | AUTH,
)
async def list_members(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, page: PageParamsDep
) -> Page[MemberPublic]:
    items, cursor = await service.list_members(session, principal, organization_id, page)
    return Page(items=items, next_cursor=cursor)


@router.patch(
    "/organizations/{organization_id}/members/{user_id}",
    response_model=MemberPublic,
    tags=["organizations"],
    responses=responses(exc.LastAdmin) | MEMBER_ERRORS | AUTH,
)
async def change_member_role(
    session: SessionDep,
    principal: CurrentPrincipal,
    organization_id: IdPath,
    user_id: IdPath,
    body: MemberUpdate,
) -> MemberPublic:
    return await service.change_member_role(session, principal, organization_id, user_id, body.role)


@router.delete(
    "/organizations/{organization_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["organizations"],
    responses=responses(exc.LastAdmin) | MEMBER_ERRORS | AUTH,
)
async def remove_member(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, user_id: IdPath
) -> Response:
    await service.remove_member(session, principal, organization_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


INVITATION_ERRORS = responses(
    exc.InvitationNotFound, exc.InvitationNotPending, exc.InvitationExpired, exc.AlreadyMember
)


@router.get(
    "/organizations/{organization_id}/invitations",
    response_model=Page[MemberInvitationPublic],
    tags=["invitations"],
    summary="An organisation's invitations, for its admins",
    responses=responses(exc.OrganizationNotFound, exc.InsufficientRole) | AUTH,
)
async def list_invitations(
    session: SessionDep,
    principal: CurrentPrincipal,
    organization_id: IdPath,
    page: PageParamsDep,
    status: InvitationStatus | None = None,
) -> Page[MemberInvitationPublic]:
    items, cursor = await invitations.list_invitations(
        session, principal, organization_id, status=status, page=page
    )
    return Page(items=items, next_cursor=cursor)


@router.delete(
    "/organizations/{organization_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["invitations"],
    summary="Revoke a pending invitation",
    responses=responses(exc.OrganizationNotFound, exc.InsufficientRole) | INVITATION_ERRORS | AUTH,
)
async def revoke_invitation(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, invitation_id: IdPath
) -> Response:
    await invitations.revoke_invitation(session, principal, organization_id, invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/invitations",
    response_model=Page[MemberInvitationPublic],
    tags=["invitations"],
    summary="The invitations the caller can accept",
    responses=responses(UserRequired) | AUTH,
)
async def my_invitations(
    session: SessionDep, user: CurrentUser, page: PageParamsDep
) -> Page[MemberInvitationPublic]:
    items, cursor = await invitations.my_invitations(session, user, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/invitations/{invitation_id}/accept",
    response_model=MemberPublic,
    tags=["invitations"],
    summary="Accept an invitation to one's own e-mail: join the organisation",
    responses=responses(UserRequired) | INVITATION_ERRORS | AUTH,
)
async def accept_invitation(
    session: SessionDep, user: CurrentUser, invitation_id: IdPath
) -> MemberPublic:
    return await invitations.accept_invitation(session, user, invitation_id)


@router.post(
    "/invitations/{invitation_id}/decline",
    response_model=MemberInvitationPublic,
    tags=["invitations"],
    summary="Decline an invitation to one's own e-mail",
    responses=responses(UserRequired) | INVITATION_ERRORS | AUTH,
)
async def decline_invitation(
    session: SessionDep, user: CurrentUser, invitation_id: IdPath
) -> MemberInvitationPublic:
    return await invitations.decline_invitation(session, user, invitation_id)


@router.post(
    "/invitations/accept",
    response_model=MemberPublic,
    tags=["invitations"],
    summary="Accept an invitation by its token, making the account of the invited e-mail",
    description=(
        "For a person without an account: the account is always the invited e-mail's. When "
        "that e-mail has an account, the token is not enough (409 "
        "`invitation_login_required`): log in and accept with "
        "`POST /invitations/{invitation_id}/accept`."
    ),
    responses=responses(exc.InvitationLoginRequired, WeakPassword, InvalidInput)
    | INVITATION_ERRORS,
)
async def accept_invitation_with_token(session: SessionDep, body: InvitationSignup) -> MemberPublic:
    return await invitations.accept_with_token(session, body)


NETWORK_ERRORS = responses(
    exc.NetworkNotFound, exc.InsufficientRole, exc.NotAnAssociation, exc.AlreadyInNetwork
)


@router.post(
    "/networks/{network_id}/associations",
    response_model=NetworkAssociationPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["networks"],
    summary="Invite an association to the network (202), or join it at once (201)",
    description=(
        "A network admin invites the association (202); it joins when one of its admins "
        "accepts with `POST /network-invitations/{network_invitation_id}/accept`. A platform "
        "admin, or someone who administers both, joins it at once (201)."
    ),
    responses={
        202: {"model": NetworkInvitationCreated, "description": "Invited; the association accepts"}
    }
    | responses(exc.NetworkInvitationPending)
    | NETWORK_ERRORS
    | AUTH,
)
async def add_association(
    session: SessionDep,
    principal: CurrentPrincipal,
    network_id: IdPath,
    body: NetworkAssociationCreate,
) -> NetworkAssociationPublic | JSONResponse:
    added = await network_invitations.join_or_invite(
        session, principal, network_id, body.association_id
    )
    return _accepted(added) if isinstance(added, NetworkInvitationCreated) else added


@router.get(
    "/networks/{network_id}/associations",
    response_model=Page[NetworkAssociationPublic],
    tags=["networks"],
    responses=NETWORK_ERRORS | AUTH,
)
async def list_associations(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath, page: PageParamsDep
) -> Page[NetworkAssociationPublic]:
    items, cursor = await service.list_network_associations(session, principal, network_id, page)
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/networks/{network_id}/invitations",
    response_model=Page[NetworkInvitationPublic],
    tags=["networks"],
    summary="The invitations a network has sent, for its admins",
    responses=responses(exc.NetworkNotFound, exc.InsufficientRole) | AUTH,
)
async def list_network_invitations(
    session: SessionDep,
    principal: CurrentPrincipal,
    network_id: IdPath,
    page: PageParamsDep,
    status: InvitationStatus | None = None,
) -> Page[NetworkInvitationPublic]:
    items, cursor = await network_invitations.list_for_network(
        session, principal, network_id, status=status, page=page
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/organizations/{organization_id}/network-invitations",
    response_model=Page[NetworkInvitationPublic],
    tags=["networks"],
    summary="The networks' invitations to an association, for its admins",
    responses=responses(exc.OrganizationNotFound, exc.InsufficientRole) | AUTH,
)
async def list_association_invitations(
    session: SessionDep,
    principal: CurrentPrincipal,
    organization_id: IdPath,
    page: PageParamsDep,
    status: InvitationStatus | None = None,
) -> Page[NetworkInvitationPublic]:
    items, cursor = await network_invitations.list_for_association(
        session, principal, organization_id, status=status, page=page
    )
    return Page(items=items, next_cursor=cursor)


NETWORK_INVITATION_ERRORS = responses(
    exc.NetworkInvitationNotFound,
    exc.InsufficientRole,
    exc.InvitationNotPending,
    exc.AlreadyInNetwork,
)


@router.post(
    "/network-invitations/{network_invitation_id}/accept",
    response_model=NetworkAssociationPublic,
    tags=["networks"],
    summary="The invited association's admin accepts: it joins the network",
    responses=NETWORK_INVITATION_ERRORS | AUTH,
)
async def accept_network_invitation(
    session: SessionDep, principal: CurrentPrincipal, network_invitation_id: IdPath
) -> NetworkAssociationPublic:
    return await network_invitations.accept(session, principal, network_invitation_id)


@router.post(
    "/network-invitations/{network_invitation_id}/decline",
    response_model=NetworkInvitationPublic,
    tags=["networks"],
    summary="The invited association's admin declines: it stays out of the network",
    responses=NETWORK_INVITATION_ERRORS | AUTH,
)
async def decline_network_invitation(
    session: SessionDep, principal: CurrentPrincipal, network_invitation_id: IdPath
) -> NetworkInvitationPublic:
    return await network_invitations.decline(session, principal, network_invitation_id)


@router.delete(
    "/network-invitations/{network_invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["networks"],
    summary="The network's admin withdraws a pending invitation",
    responses=NETWORK_INVITATION_ERRORS | AUTH,
)
async def revoke_network_invitation(
    session: SessionDep, principal: CurrentPrincipal, network_invitation_id: IdPath
) -> Response:
    await network_invitations.revoke(session, principal, network_invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


KEY_ERRORS = responses(exc.OrganizationNotFound, exc.InsufficientRole, exc.ApiKeyNotFound)


@router.post(
    "/organizations/{organization_id}/api-keys",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    tags=["api keys"],
    responses=KEY_ERRORS | AUTH,
)
async def create_api_key(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, body: ApiKeyCreate
) -> ApiKeyCreated:
    return await service.create_api_key(session, principal, organization_id, body)


@router.get(
    "/organizations/{organization_id}/api-keys",
    response_model=Page[ApiKeyPublic],
    tags=["api keys"],
    responses=KEY_ERRORS | AUTH,
)
async def list_api_keys(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, page: PageParamsDep
) -> Page[ApiKeyPublic]:
    rows, cursor = await service.list_api_keys(session, principal, organization_id, page)
    return Page(items=[ApiKeyPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.delete(
    "/organizations/{organization_id}/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api keys"],
    responses=KEY_ERRORS | AUTH,
)
async def revoke_api_key(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, key_id: IdPath
) -> Response:
    await service.revoke_api_key(session, principal, organization_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/audit-events",
    response_model=Page[AuditEventPublic],
    tags=["audit"],
    summary="The audit trail: a platform admin's whole, or one organisation's for its admins",
    responses=responses(exc.PlatformAdminRequired, exc.OrganizationNotFound) | AUTH,
)
async def list_audit_events(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    organization_id: IdQuery = None,
    object_id: Annotated[PlainText | None, Query(max_length=64)] = None,
) -> Page[AuditEventPublic]:
    rows, cursor = await service.list_audit_events(
        session, principal, organization_id=organization_id, object_id=object_id, page=page
    )
    return Page(items=[AuditEventPublic.model_validate(r) for r in rows], next_cursor=cursor)
