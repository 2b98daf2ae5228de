"""HTTP endpoints of closing cycles and of joint purchase campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import exceptions as accounts_exc
from app.aggregation import campaigns, season, views
from app.aggregation import exceptions as exc
from app.aggregation.schemas import (
    AllocationPublic,
    CampaignCreate,
    CampaignPublic,
    CloseResult,
    DeliveryOrderPublic,
    FloorSetting,
    FloorSettingPublic,
    RequestCreate,
    RequestPublic,
    SeasonReport,
)
from app.api.deps import CurrentPrincipal, SessionDep, SessionmakerDep, SettingsDep
from app.api.ids import IdPath, IdQuery
from app.core.idempotency import (
    IdempotencyKeyHeader,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    idempotent,
)
from app.core.pagination import Page, PageParamsDep
from app.core.problems import Unauthenticated, responses
from app.core.timeutil import utcnow
from app.flows import closing
from app.orders.exceptions import CycleNotFound, CycleNotOpen

router = APIRouter()
AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole)


@router.post(
    "/cycles/{cycle_id}/close",
    response_model=CloseResult,
    tags=["cycles"],
    summary="Close now (it also closes by itself at the cut-off); closing twice changes nothing",
    responses=responses(CycleNotFound, CycleNotOpen, IdempotencyKeyReused, IdempotencyKeyInFlight)
    | AUTH,
)
async def close_cycle(
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    # the key is claimed in a transaction of its own, then the close runs in another
    await session.commit()

    async def run(tx: AsyncSession) -> tuple[int, CloseResult]:
        return status.HTTP_200_OK, await closing.close_cycle(
            tx, settings, cycle_id, now=utcnow(), actor=principal
        )

    return await idempotent(
        sessionmaker,
        scope=f"cycles.close:{cycle_id}",
        principal=principal.user_id or f"key:{principal.api_key_id}",
        key=idempotency_key,
        body={"cycle_id": cycle_id},
        run=run,
    )


@router.get(
    "/cycles/{cycle_id}/allocations",
    response_model=list[AllocationPublic],
    tags=["cycles"],
    responses=responses(CycleNotFound) | AUTH,
)
async def list_allocations(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> list[AllocationPublic]:
    return await views.list_allocations(session, principal, cycle_id)


@router.get(
    "/cycles/{cycle_id}/delivery-orders",
    response_model=list[DeliveryOrderPublic],
    tags=["cycles"],
    responses=responses(CycleNotFound) | AUTH,
)
async def list_delivery_orders(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> list[DeliveryOrderPublic]:
    return await views.list_delivery_orders(session, principal, cycle_id)


# --- joint purchase campaigns ---------------------------------------------------------------

CAMPAIGN_ERRORS = responses(
    accounts_exc.NetworkNotFound,
    exc.CampaignNotFound,
    exc.CampaignClosed,
    exc.RequestExists,
    exc.InvalidCampaign,
    accounts_exc.OrganizationNotFound,
)


@router.post(
    "/purchase-campaigns",
    response_model=CampaignPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["joint purchase"],
    responses=CAMPAIGN_ERRORS | AUTH,
)
async def create_campaign(
    session: SessionDep, principal: CurrentPrincipal, body: CampaignCreate
) -> CampaignPublic:
    campaign = await campaigns.create_campaign(session, principal, body)
    return await campaigns.campaign_public(session, principal, campaign)


@router.get(
    "/purchase-campaigns",
    response_model=Page[CampaignPublic],
    tags=["joint purchase"],
    responses=AUTH,
)
async def list_campaigns(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    network_id: IdQuery = None,
) -> Page[CampaignPublic]:
    rows, cursor = await campaigns.list_campaigns(
        session, principal, network_id=network_id, page=page
    )
    return Page(
        items=[await campaigns.campaign_public(session, principal, c) for c in rows],
        next_cursor=cursor,
    )


@router.get(
    "/purchase-campaigns/{campaign_id}",
    response_model=CampaignPublic,
    tags=["joint purchase"],
    responses=CAMPAIGN_ERRORS | AUTH,
)
async def get_campaign(
    session: SessionDep, principal: CurrentPrincipal, campaign_id: IdPath
) -> CampaignPublic:
    campaign = await campaigns.visible_campaign(session, principal, campaign_id)
    return await campaigns.campaign_public(session, principal, campaign)


@router.post(
    "/purchase-campaigns/{campaign_id}/requests",
    response_model=RequestPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["joint purchase"],
    responses=CAMPAIGN_ERRORS | AUTH,
)
async def add_request(
    session: SessionDep, principal: CurrentPrincipal, campaign_id: IdPath, body: RequestCreate
) -> RequestPublic:
    row = await campaigns.add_request(session, principal, campaign_id, body)
    return RequestPublic.model_validate(row, from_attributes=True)


@router.post(
    "/purchase-campaigns/{campaign_id}/close",
    response_model=CampaignPublic,
    tags=["joint purchase"],
    summary="Round to supplier packs, price at the pooled tier, share the cost to the cent",
    responses=CAMPAIGN_ERRORS | AUTH,
)
async def close_campaign(
    session: SessionDep, principal: CurrentPrincipal, campaign_id: IdPath
) -> CampaignPublic:
    campaign = await campaigns.close_campaign(session, principal, campaign_id, now=utcnow())
    return await campaigns.campaign_public(session, principal, campaign)


@router.put(
    "/networks/{network_id}/allocation-floor",
    response_model=FloorSettingPublic,
    tags=["networks"],
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
)
async def set_allocation_floor(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath, body: FloorSetting
) -> FloorSettingPublic:
    return await season.set_floor(session, principal, network_id, body)


@router.get(
    "/networks/{network_id}/season-report",
    response_model=SeasonReport,
    tags=["networks"],
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
)
async def season_report(
    session: SessionDep,
    principal: CurrentPrincipal,
    network_id: IdPath,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> SeasonReport:
    return await season.season_report(
        session, principal, network_id, year if year is not None else utcnow().year
    )
