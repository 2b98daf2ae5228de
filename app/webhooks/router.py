"""HTTP endpoints of integrators' webhooks: parse, authorise, call one service function."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.accounts import exceptions as accounts_exc
from app.api.deps import CurrentPrincipal, SessionDep, SettingsDep
from app.api.ids import IdPath, RequiredIdQuery
from app.core.pagination import Page, PageParamsDep
from app.core.problems import InvalidInput, Unauthenticated, responses
from app.webhooks import exceptions as exc
from app.webhooks import service
from app.webhooks.models import DeliveryState
from app.webhooks.schemas import (
    WebhookDeliveryPublic,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPublic,
    WebhookReplayAccepted,
)

router = APIRouter(tags=["webhooks"])

# every problem of a route in one ``responses`` call: it joins those that share a status
AUTH = (Unauthenticated, InvalidInput, accounts_exc.InsufficientRole)
ENDPOINT = responses(*AUTH, exc.WebhookEndpointNotFound)


@router.post(
    "/webhook-endpoints",
    response_model=WebhookEndpointCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Register an endpoint for events (Standard Webhooks); its secret is shown once",
    responses=responses(*AUTH, accounts_exc.OrganizationNotFound, exc.WebhookUrlNotAllowed),
)
async def create_webhook_endpoint(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    body: WebhookEndpointCreate,
) -> WebhookEndpointCreated:
    return await service.create_endpoint(session, principal, settings, body)


@router.get(
    "/webhook-endpoints",
    response_model=Page[WebhookEndpointPublic],
    summary="An organisation's webhook endpoints (without their secrets)",
    responses=responses(*AUTH, accounts_exc.OrganizationNotFound),
)
async def list_webhook_endpoints(
    session: SessionDep,
    principal: CurrentPrincipal,
    organization_id: RequiredIdQuery,
    page: PageParamsDep,
) -> Page[WebhookEndpointPublic]:
    rows, cursor = await service.list_endpoints(session, principal, organization_id, page)
    return Page(items=[WebhookEndpointPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    response_model=WebhookEndpointPublic,
    summary="A webhook endpoint: its URL, events and state (never its secret)",
    responses=ENDPOINT,
)
async def get_webhook_endpoint(
    session: SessionDep, principal: CurrentPrincipal, endpoint_id: IdPath
) -> WebhookEndpointPublic:
    row = await service.get_endpoint(session, principal, endpoint_id)
    return WebhookEndpointPublic.model_validate(row)


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Disable the endpoint: nothing more is sent to it (its delivery log stays)",
    responses=ENDPOINT,
)
async def disable_webhook_endpoint(
    session: SessionDep, principal: CurrentPrincipal, endpoint_id: IdPath
) -> Response:
    await service.disable_endpoint(session, principal, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=Page[WebhookDeliveryPublic],
    summary="The endpoint's delivery log, newest first",
    responses=ENDPOINT,
)
async def list_webhook_deliveries(
    session: SessionDep, principal: CurrentPrincipal, endpoint_id: IdPath, page: PageParamsDep
) -> Page[WebhookDeliveryPublic]:
    rows, cursor = await service.list_deliveries(session, principal, endpoint_id, page)
    return Page(items=[WebhookDeliveryPublic.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/replay",
    response_model=WebhookReplayAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a delivery again (same webhook-id), whatever its state",
    responses=responses(
        *AUTH,
        exc.WebhookEndpointNotFound,
        exc.WebhookDeliveryNotFound,
        exc.WebhookEndpointDisabled,
    ),
)
async def replay_webhook_delivery(
    session: SessionDep, principal: CurrentPrincipal, endpoint_id: IdPath, delivery_id: IdPath
) -> WebhookReplayAccepted:
    row = await service.replay(session, principal, endpoint_id, delivery_id)
    return WebhookReplayAccepted(id=row.id, state=DeliveryState(row.state))
