"""HTTP endpoints of cycles, offers, orders and standing orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.accounts import audit
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
from app.brands import skus as brand_skus
from app.brands import views as brand_views
from app.brands.exceptions import SkuNotFound
from app.brands.schemas import SkuPublic
from app.core.cache import RenderCache
from app.core.etag import NOT_MODIFIED_RESPONSE, body_with_etag, etag_of
from app.core.i18n import current_language
from app.core.idempotency import (
    IdempotencyKeyHeader,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)
from app.core.pagination import Page, PageParamsDep
from app.core.problems import Unauthenticated, responses
from app.core.schemas import PlainText
from app.core.timeutil import utcnow
from app.flows import ordering
from app.orders import cycles, offers, service, standing, stock
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
# Rendered catalogue pages of this worker, keyed by the catalogue's audit stamp.
CATALOGUE_PAGES = RenderCache(max_entries=256)
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


# --- the catalogue, with a cycle's availability and prices --------------------------------


@router.get(
    "/skus",
    response_model=Page[SkuPublic],
    tags=["brands"],
    responses=responses(exc.CycleNotFound) | NOT_MODIFIED_RESPONSE | AUTH,
    summary="Brand SKUs for buyers: prices, breakdowns, suppliers; with cycle_id, availability",
)
async def list_skus(
    request: Request,
    session: SessionDep,
    _: CurrentPrincipal,
    page: PageParamsDep,
    brand_id: IdQuery = None,
    category: Annotated[PlainText | None, Query(max_length=40)] = None,
    q: Annotated[PlainText | None, Query(max_length=200)] = None,
    cycle_id: IdQuery = None,
) -> Response:
    volumes = available = None
    key = None
    today = utcnow().date()
    if cycle_id is None:
        # Every change to sheets, brands, licences, SKUs and suppliers is audited, so the
        # newest audit event stamps the catalogue (read before the catalogue itself); with a
        # cycle the stock moves with every order, so those pages are built each time.
        stamp = await audit.latest_change(session)
        # the language too: a page may carry translated labels
        key = (stamp, today, current_language(), brand_id, category, q, page.cursor, page.limit)
        cached = CATALOGUE_PAGES.get(key)
        if cached is not None:
            return body_with_etag(request, *cached)
    if cycle_id is not None:
        cycle = await cycles.get_cycle(session, cycle_id)
        supply = await stock.stock_of(session, cycle.id)
        volumes = {s: v.reserved for s, v in supply.items()}
        available = {s: v.available for s, v in supply.items()}
    rows, cursor = await brand_skus.list_skus(
        session, brand_id=brand_id, category=category, q=q, page=page
    )
    items = await brand_views.sku_publics(
        session, rows, today=today, volumes=volumes, available=available
    )
    body = Page(items=items, next_cursor=cursor).model_dump_json().encode()
    etag = etag_of(body)
    if key is not None:
        CATALOGUE_PAGES.put(key, body, etag)
    return body_with_etag(request, body, etag)


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
