"""HTTP endpoints of the accounts domain: parse, authorise, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.accounts import authentication, service
from app.accounts import exceptions as exc
from app.accounts.models import OrganizationKind
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    AuditEventPublic,
    LoginForm,
    MemberCreate,
    MemberPublic,
    MemberUpdate,
    MePublic,
    MeUpdate,
    NetworkAssociationCreate,
    NetworkAssociationPublic,
    OrganizationCreate,
    OrganizationPublic,
    TokenPublic,
)
from app.api.deps import (
    CurrentPrincipal,
    CurrentUser,
    PlatformAdmin,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    UserRequired,
)
from app.api.ids import IdPath, IdQuery
from app.core.pagination import Page, PageParamsDep
from app.core.problems import InvalidInput, Unauthenticated, responses
from app.core.schemas import PlainText

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


@router.post(
    "/organizations/{organization_id}/members",
    response_model=MemberPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["organizations"],
    responses=MEMBER_ERRORS | AUTH,
)
async def add_member(
    session: SessionDep, principal: CurrentPrincipal, organization_id: IdPath, body: MemberCreate
) -> MemberPublic:
    return await service.add_member(session, principal, organization_id, body)


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


NETWORK_ERRORS = responses(
    exc.NetworkNotFound, exc.InsufficientRole, exc.NotAnAssociation, exc.AlreadyInNetwork
)


@router.post(
    "/networks/{network_id}/associations",
    response_model=NetworkAssociationPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["networks"],
    responses=NETWORK_ERRORS | AUTH,
)
async def add_association(
    session: SessionDep,
    principal: CurrentPrincipal,
    network_id: IdPath,
    body: NetworkAssociationCreate,
) -> NetworkAssociationPublic:
    return await service.add_association_to_network(
        session, principal, network_id, body.association_id
    )


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
