"""HTTP endpoints of cycles, offers, orders and standing orders."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from app.accounts import exceptions as accounts_exc
from app.api.deps import (
    CurrentPrincipal,
    PrincipalOrAnonymous,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    require,
)
from app.api.ids import IdPath, IdQuery, RequiredIdQuery
from app.brands.exceptions import SkuNotFound
from app.core.idempotency import (
    IdempotencyKeyHeader,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)
from app.core.pagination import Page, PageParamsDep
from app.core.problems import Unauthenticated, responses
from app.core.timeutil import utcnow
from app.flows import ordering
from app.orders import cycles, offers, service, standing
from app.orders import exceptions as exc
from app.orders.models import CycleStatus, Order, OrderStatus
from app.orders.pricing import availability
from app.orders.schemas import (
    Availability,
    CycleCreate,
    CyclePublic,
    OfferCreate,
    OfferPublic,
    OfferUpdate,
    OrderCreate,
    OrderEventPublic,
    OrderPublic,
    OrderUpdate,
    StandingOrderCreate,
    StandingOrderPublic,
)

router = APIRouter()
AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole, accounts_exc.OrganizationNotFound)


# --- cycles --------------------------------------------------------------------------------


@router.post(
    "/cycles",
    response_model=CyclePublic,
    status_code=status.HTTP_201_CREATED,
    tags=["cycles"],
    responses=responses(accounts_exc.NetworkNotFound, exc.InvalidCycle) | AUTH,
)
async def create_cycle(
    session: SessionDep, settings: SettingsDep, principal: CurrentPrincipal, body: CycleCreate
) -> CyclePublic:
    cycle = await cycles.create_cycle(session, principal, body)
    if cycle.opens_at <= utcnow():
        await cycles.open_cycle(session, settings, cycle, utcnow())
    return (await cycles.cycle_publics(session, [cycle]))[0]


@router.get("/cycles", response_model=Page[CyclePublic], tags=["cycles"], responses=AUTH)
async def list_cycles(
    session: SessionDep,
    _: CurrentPrincipal,
    page: PageParamsDep,
    network_id: IdQuery = None,
    status: CycleStatus | None = None,
) -> Page[CyclePublic]:
    rows, cursor = await cycles.list_cycles(
        session, network_id=network_id, status=status, page=page
    )
    return Page(items=await cycles.cycle_publics(session, rows), next_cursor=cursor)


@router.get(
    "/cycles/{cycle_id}",
    response_model=CyclePublic,
    tags=["cycles"],
    responses=responses(exc.CycleNotFound) | AUTH,
)
async def get_cycle(session: SessionDep, _: CurrentPrincipal, cycle_id: IdPath) -> CyclePublic:
    return (await cycles.cycle_publics(session, [await cycles.get_cycle(session, cycle_id)]))[0]


@router.get(
    "/cycles/{cycle_id}/availability",
    response_model=list[Availability],
    tags=["cycles"],
    responses=responses(exc.CycleNotFound) | AUTH,
)
async def cycle_availability(
    session: SessionDep, _: CurrentPrincipal, cycle_id: IdPath
) -> list[Availability]:
    await cycles.get_cycle(session, cycle_id)
    return await availability(session, cycle_id)


# --- offers --------------------------------------------------------------------------------

OFFER_ERRORS = responses(
    exc.CycleNotFound,
    exc.OfferNotFound,
    SkuNotFound,
    exc.CycleNotEditable,
    exc.OfferExists,
    exc.OfferBelowReserved,
    exc.NotAnApprovedSupplier,
    exc.NotPackMultiple,
)


@router.post(
    "/cycles/{cycle_id}/offers",
    response_model=OfferPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["offers"],
    responses=OFFER_ERRORS | AUTH,
)
async def create_offer(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath, body: OfferCreate
) -> OfferPublic:
    offer = await offers.create_offer(session, principal, cycle_id, body)
    return (await offers.offer_publics(session, [offer]))[0]


@router.patch(
    "/cycles/{cycle_id}/offers/{offer_id}",
    response_model=OfferPublic,
    tags=["offers"],
    responses=OFFER_ERRORS | AUTH,
)
async def update_offer(
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    offer_id: IdPath,
    body: OfferUpdate,
) -> OfferPublic:
    offer = await offers.update_offer(session, principal, cycle_id, offer_id, body)
    return (await offers.offer_publics(session, [offer]))[0]


@router.get(
    "/cycles/{cycle_id}/offers",
    response_model=list[OfferPublic],
    tags=["offers"],
    responses=OFFER_ERRORS | AUTH,
)
async def list_offers(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> list[OfferPublic]:
    rows = await offers.list_offers(session, principal, cycle_id)
    return await offers.offer_publics(session, rows)


# --- orders --------------------------------------------------------------------------------

ORDER_ERRORS = responses(
    exc.OrderNotFound,
    exc.CycleNotFound,
    SkuNotFound,
    exc.CycleNotOpen,
    exc.InsufficientSupply,
    exc.OrderNotChangeable,
    exc.OrderChangedMeanwhile,
    exc.InvalidOrder,
    exc.NotPackMultiple,
    exc.PaymentDeclined,
    exc.CardPaymentsUnavailable,
    exc.PaymentMethodRequired,
    IdempotencyKeyReused,
    IdempotencyKeyInFlight,
)


async def _order_public(session: SessionDep, order_id: str) -> OrderPublic:
    order = await session.get(Order, order_id)
    assert order is not None
    return (await service.order_publics(session, [order]))[0]


@router.post(
    "/orders",
    response_model=OrderPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["orders"],
    responses=ORDER_ERRORS | AUTH,
)
async def place_order(
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    caller: PrincipalOrAnonymous,
    body: OrderCreate,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    # The caller is read outside any transaction: placing runs its own (one for an invoice
    # order; for a card, the hold is placed with none open).
    principal = require(caller)
    return await ordering.place_order(
        sessionmaker, settings, principal, body, idempotency_key=idempotency_key
    )


@router.get("/orders", response_model=Page[OrderPublic], tags=["orders"], responses=AUTH)
async def list_orders(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    buyer_id: IdQuery = None,
    cycle_id: IdQuery = None,
    status: OrderStatus | None = None,
) -> Page[OrderPublic]:
    rows, cursor = await service.list_orders(
        session, principal, buyer_id=buyer_id, cycle_id=cycle_id, status=status, page=page
    )
    return Page(items=await service.order_publics(session, rows), next_cursor=cursor)


@router.get(
    "/orders/{order_id}", response_model=OrderPublic, tags=["orders"], responses=ORDER_ERRORS | AUTH
)
async def get_order(
    session: SessionDep, principal: CurrentPrincipal, order_id: IdPath
) -> OrderPublic:
    order = await service.get_order(session, principal, order_id)
    return (await service.order_publics(session, [order]))[0]


@router.get(
    "/orders/{order_id}/events",
    response_model=list[OrderEventPublic],
    tags=["orders"],
    summary="The order's history: who did what, when",
    responses=ORDER_ERRORS | AUTH,
)
async def order_events(
    session: SessionDep, principal: CurrentPrincipal, order_id: IdPath
) -> list[OrderEventPublic]:
    return await service.order_events(session, principal, order_id)


@router.patch(
    "/orders/{order_id}", response_model=OrderPublic, tags=["orders"], responses=ORDER_ERRORS | AUTH
)
async def change_order(
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    order_id: IdPath,
    body: OrderUpdate,
) -> OrderPublic:
    await session.commit()  # the flow's own transactions: none open while Stripe is called
    return await ordering.change_order(sessionmaker, settings, principal, order_id, body)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderPublic,
    tags=["orders"],
    responses=ORDER_ERRORS | AUTH,
)
async def cancel_order(
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    order_id: IdPath,
) -> OrderPublic:
    await session.commit()  # cancel, then release the hold with no row locked
    return await ordering.cancel_order(sessionmaker, settings, principal, order_id)


# --- standing orders -----------------------------------------------------------------------

STANDING_ERRORS = responses(
    exc.StandingOrderNotFound, accounts_exc.NetworkNotFound, exc.InvalidOrder
)


@router.post(
    "/standing-orders",
    response_model=StandingOrderPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["orders"],
    responses=STANDING_ERRORS | AUTH,
)
async def create_standing_order(
    session: SessionDep, principal: CurrentPrincipal, body: StandingOrderCreate
) -> StandingOrderPublic:
    row = await standing.create_standing_order(session, principal, body)
    return (await standing.standing_publics(session, [row]))[0]


@router.get(
    "/standing-orders",
    response_model=Page[StandingOrderPublic],
    tags=["orders"],
    responses=STANDING_ERRORS | AUTH,
)
async def list_standing_orders(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    buyer_id: RequiredIdQuery,
) -> Page[StandingOrderPublic]:
    rows, cursor = await standing.list_standing(session, principal, buyer_id=buyer_id, page=page)
    return Page(items=await standing.standing_publics(session, rows), next_cursor=cursor)


@router.get(
    "/standing-orders/{standing_order_id}",
    response_model=StandingOrderPublic,
    tags=["orders"],
    responses=STANDING_ERRORS | AUTH,
)
async def get_standing_order(
    session: SessionDep, principal: CurrentPrincipal, standing_order_id: IdPath
) -> StandingOrderPublic:
    row = await standing.get_standing(session, principal, standing_order_id)
    return (await standing.standing_publics(session, [row]))[0]


@router.post(
    "/standing-orders/{standing_order_id}/stop",
    response_model=StandingOrderPublic,
    tags=["orders"],
    responses=STANDING_ERRORS | AUTH,
)
async def stop_standing_order(
    session: SessionDep, principal: CurrentPrincipal, standing_order_id: IdPath
) -> StandingOrderPublic:
    row = await standing.deactivate(session, principal, standing_order_id)
    return (await standing.standing_publics(session, [row]))[0]
