"""HTTP endpoints of the collection centre: receipts, shipments, documents, vehicles, delivery
windows, routes, delivery and lot traceability."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from app.accounts import exceptions as accounts_exc
from app.api.deps import CurrentPrincipal, SessionDep, SessionmakerDep, SettingsDep
from app.api.ids import IdPath, IdQuery
from app.api.operations import OperationPublic, accepted
from app.core.config import ROUTE_TIME_LIMIT_BOUND_S
from app.core.csvexport import CsvDialect, DialectQuery, csv_response
from app.core.pagination import Page, PageParamsDep
from app.core.printing import Language, Printer, document_language
from app.core.problems import Unauthenticated, responses
from app.core.schemas import PlainText
from app.core.timeutil import utcnow
from app.flows import documents as documents_flow
from app.flows import routes as route_flow
from app.fulfilment import (
    delivery,
    documents,
    lots,
    printouts,
    receipts,
    route_sheet,
    routes,
    shipments,
    vehicles,
    views,
)
from app.fulfilment import exceptions as exc
from app.fulfilment.schemas import (
    DeliveryIn,
    DeliveryOrderView,
    DeliveryWindowIn,
    DeliveryWindowPublic,
    LotTrace,
    ReceiptCreate,
    ReceiptPublic,
    RouteDeparture,
    RoutePlanPublic,
    ShipmentFailure,
    ShipmentPublic,
    VehicleCreate,
    VehiclePublic,
)
from app.orders.exceptions import CycleNotFound

router = APIRouter()
AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole)
LotCodePath = Annotated[PlainText, Path(min_length=1, max_length=40)]
PDF = {200: {"content": {"application/pdf": {}}, "description": "A PDF document"}}
LangQuery = Annotated[
    Language | None, Query(description="the document's language, instead of the reader's")
]


# --- delivery orders and receipts ----------------------------------------------------------


@router.post(
    "/delivery-orders/{delivery_order_id}/receipts",
    response_model=ReceiptPublic,
    status_code=status.HTTP_201_CREATED,
    tags=["collection centre"],
    summary="Receive goods: accepted and rejected quantities, lots, weights, temperatures",
    responses=responses(
        exc.DeliveryOrderNotFound,
        exc.CentreStaffRequired,
        exc.CycleNotClosed,
        exc.LotCodeTaken,
        exc.InvalidReceipt,
        exc.RejectionReasonRequired,
        exc.WeightRequired,
    )
    | AUTH,
)
async def receive_goods(
    session: SessionDep,
    principal: CurrentPrincipal,
    delivery_order_id: IdPath,
    body: ReceiptCreate,
) -> ReceiptPublic:
    receipt = await receipts.receive(session, principal, delivery_order_id, body, now=utcnow())
    [public] = await receipts.receipt_publics(session, [receipt])
    return public


@router.get(
    "/delivery-orders/{delivery_order_id}",
    response_model=DeliveryOrderView,
    tags=["collection centre"],
    responses=responses(exc.DeliveryOrderNotFound) | AUTH,
)
async def get_delivery_order(
    session: SessionDep, principal: CurrentPrincipal, delivery_order_id: IdPath
) -> DeliveryOrderView:
    return await receipts.delivery_order_view(session, principal, delivery_order_id)


@router.get(
    "/delivery-orders/{delivery_order_id}/pick-list.csv",
    response_class=StreamingResponse,
    tags=["collection centre"],
    summary="Each lot of the delivery order and the shipments it is packed into (CSV)",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}}
    | responses(exc.DeliveryOrderNotFound)
    | AUTH,
)
async def pick_list(
    session: SessionDep,
    principal: CurrentPrincipal,
    delivery_order_id: IdPath,
    dialect: DialectQuery = CsvDialect.rfc4180,
) -> StreamingResponse:
    rows = await documents.pick_list_rows(session, principal, delivery_order_id)
    return csv_response(
        f"pick-list-{delivery_order_id}.csv", documents.PICK_LIST_COLUMNS, rows, dialect
    )


# --- shipments -----------------------------------------------------------------------------


@router.post(
    "/cycles/{cycle_id}/shipments",
    response_model=list[ShipmentPublic],
    tags=["collection centre"],
    summary="Cover shortfalls, share what is missing, and pack one shipment per buyer",
    responses=responses(
        CycleNotFound, exc.CentreStaffRequired, exc.CycleNotClosed, exc.ShipmentsDelivered
    )
    | AUTH,
)
async def build_shipments(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> list[ShipmentPublic]:
    rows = await shipments.build_shipments(session, principal, cycle_id, now=utcnow())
    return await views.shipment_publics(session, rows)


@router.get(
    "/cycles/{cycle_id}/shipments",
    response_model=Page[ShipmentPublic],
    tags=["collection centre"],
    summary="The centre and the network see every shipment of the cycle; a buyer its own",
    responses=responses(CycleNotFound) | AUTH,
)
async def list_shipments(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath, page: PageParamsDep
) -> Page[ShipmentPublic]:
    rows, cursor = await views.list_shipments(session, principal, cycle_id, page=page)
    return Page(items=await views.shipment_publics(session, rows), next_cursor=cursor)


@router.get(
    "/shipments/{shipment_id}",
    response_model=ShipmentPublic,
    tags=["collection centre"],
    responses=responses(exc.ShipmentNotFound) | AUTH,
)
async def get_shipment(
    session: SessionDep, principal: CurrentPrincipal, shipment_id: IdPath
) -> ShipmentPublic:
    shipment = await views.get_shipment(session, principal, shipment_id)
    [public] = await views.shipment_publics(session, [shipment])
    return public


@router.get(
    "/shipments/{shipment_id}/packing-list.pdf",
    response_class=Response,
    tags=["collection centre"],
    summary="The packing list: ordered against packed, each lot's origin, warm lots flagged",
    description="In the buyer's language unless `lang` asks for another.",
    responses=PDF | responses(exc.ShipmentNotFound) | AUTH,
)
async def packing_list(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    shipment_id: IdPath,
    lang: LangQuery = None,
) -> Response:
    data = await documents.packing_data(
        session, principal, shipment_id, public_base_url=settings.public_base_url
    )
    printer = Printer(document_language(data, lang))
    pdf = await anyio.to_thread.run_sync(printouts.packing_list_pdf, data, printer)
    return _pdf(pdf, f"packing-list-{shipment_id}.pdf")


@router.get(
    "/shipments/{shipment_id}/labels.pdf",
    response_class=Response,
    tags=["collection centre"],
    summary="A label per lot: origin, storage, a warm-lot mark, a QR code of its public page",
    description="The QR code encodes `MINGA_PUBLIC_BASE_URL/t/{lot_code}`. In the buyer's "
    "language unless `lang` asks for another.",
    responses=PDF | responses(exc.ShipmentNotFound) | AUTH,
)
async def labels(
    session: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    shipment_id: IdPath,
    lang: LangQuery = None,
) -> Response:
    data = await documents.packing_data(
        session, principal, shipment_id, public_base_url=settings.public_base_url
    )
    printer = Printer(document_language(data, lang))
    pdf = await anyio.to_thread.run_sync(printouts.labels_pdf, data, printer)
    return _pdf(pdf, f"labels-{shipment_id}.pdf")


@router.post(
    "/cycles/{cycle_id}/documents",
    status_code=202,
    response_model=OperationPublic,
    tags=["collection centre"],
    summary="Print the whole day: every packing list and label sheet, the pick list and the "
    "route sheets, as one ZIP made in the background",
    description="Answers 202 with the operation to poll (`Location`); its `result` is the ZIP "
    "(`GET /operations/{id}/result`).",
    responses=responses(CycleNotFound, exc.CentreStaffRequired) | AUTH,
)
async def print_cycle_documents(
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
) -> JSONResponse:
    await session.commit()
    operation = await documents_flow.start(sessionmaker, principal, cycle_id)
    return accepted(operation)


@router.get(
    "/cycles/{cycle_id}/pick-list.csv",
    response_class=StreamingResponse,
    tags=["collection centre"],
    summary="The cycle's pick list: every SKU of every association, its lots and buyers (CSV)",
    description="Every delivery order of the cycle, by association and SKU; "
    "`association_id` keeps one association's. For the centre's staff and the network.",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}}
    | responses(CycleNotFound, exc.CentreStaffRequired)
    | AUTH,
)
async def cycle_pick_list(
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    association_id: IdQuery = None,
) -> StreamingResponse:
    _, rows = await documents.cycle_pick_list_rows(session, principal, cycle_id, association_id)
    return csv_response(f"pick-list-{cycle_id}.csv", documents.PICK_LIST_COLUMNS, rows)


@router.get(
    "/cycles/{cycle_id}/pick-list.pdf",
    response_class=Response,
    tags=["collection centre"],
    summary="The cycle's pick list to print: a table per association, a box to tick per row",
    description="The same rows as `pick-list.csv`, in the centre's language unless `lang` "
    "asks for another.",
    responses=PDF | responses(CycleNotFound, exc.CentreStaffRequired) | AUTH,
)
async def cycle_pick_list_pdf(
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    association_id: IdQuery = None,
    lang: LangQuery = None,
) -> Response:
    cycle, rows = await documents.cycle_pick_list_rows(session, principal, cycle_id, association_id)
    centre = await documents.organization(session, cycle.collection_centre_id)
    data = documents.pick_list_data(cycle, centre, rows)
    printer = Printer(document_language(centre, lang))
    pdf = await anyio.to_thread.run_sync(printouts.pick_list_pdf, data, printer)
    return _pdf(pdf, f"pick-list-{cycle_id}.pdf")


def _pdf(body: bytes, filename: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@router.post(
    "/shipments/{shipment_id}/deliver",
    response_model=ShipmentPublic,
    tags=["collection centre"],
    summary="Record the delivery: who received it and what came back",
    responses=responses(
        exc.ShipmentNotFound,
        exc.CentreStaffRequired,
        exc.AlreadyDelivered,
        exc.ShipmentFailed,
        exc.CycleSettled,
        exc.InvalidReturns,
    )
    | AUTH,
)
async def deliver(
    session: SessionDep, principal: CurrentPrincipal, shipment_id: IdPath, body: DeliveryIn
) -> ShipmentPublic:
    shipment = await delivery.deliver(session, principal, shipment_id, body, now=utcnow())
    [public] = await views.shipment_publics(session, [shipment])
    return public


@router.post(
    "/shipments/{shipment_id}/fail",
    response_model=ShipmentPublic,
    tags=["collection centre"],
    summary="Mark a shipment failed (it never reached the buyer): nothing of it is billed",
    responses=responses(
        exc.ShipmentNotFound,
        exc.CentreStaffRequired,
        exc.AlreadyDelivered,
        exc.ShipmentFailed,
        exc.CycleSettled,
    )
    | AUTH,
)
async def fail_shipment(
    session: SessionDep, principal: CurrentPrincipal, shipment_id: IdPath, body: ShipmentFailure
) -> ShipmentPublic:
    shipment = await delivery.fail(session, principal, shipment_id, body, now=utcnow())
    [public] = await views.shipment_publics(session, [shipment])
    return public


# --- vehicles and delivery windows ---------------------------------------------------------


@router.post(
    "/collection-centres/{centre_id}/vehicles",
    response_model=VehiclePublic,
    status_code=status.HTTP_201_CREATED,
    tags=["collection centre"],
    responses=responses(accounts_exc.OrganizationNotFound, exc.InvalidVehicle) | AUTH,
)
async def create_vehicle(
    session: SessionDep, principal: CurrentPrincipal, centre_id: IdPath, body: VehicleCreate
) -> VehiclePublic:
    vehicle = await vehicles.create_vehicle(session, principal, centre_id, body)
    return vehicles.vehicle_public(vehicle)


@router.get(
    "/collection-centres/{centre_id}/vehicles",
    response_model=Page[VehiclePublic],
    tags=["collection centre"],
    responses=responses(accounts_exc.OrganizationNotFound) | AUTH,
)
async def list_vehicles(
    session: SessionDep, principal: CurrentPrincipal, centre_id: IdPath, page: PageParamsDep
) -> Page[VehiclePublic]:
    rows, cursor = await vehicles.list_vehicles(session, principal, centre_id, page=page)
    return Page(items=[vehicles.vehicle_public(v) for v in rows], next_cursor=cursor)


@router.put(
    "/buyers/{buyer_id}/delivery-window",
    response_model=DeliveryWindowPublic,
    tags=["collection centre"],
    summary="When the buyer takes deliveries (network's local time) and unloading minutes",
    responses=responses(accounts_exc.OrganizationNotFound, exc.InvalidDeliveryWindow) | AUTH,
)
async def set_delivery_window(
    session: SessionDep, principal: CurrentPrincipal, buyer_id: IdPath, body: DeliveryWindowIn
) -> DeliveryWindowPublic:
    return await vehicles.set_delivery_window(session, principal, buyer_id, body, now=utcnow())


@router.get(
    "/buyers/{buyer_id}/delivery-window",
    response_model=DeliveryWindowPublic,
    tags=["collection centre"],
    responses=responses(accounts_exc.OrganizationNotFound) | AUTH,
)
async def get_delivery_window(
    session: SessionDep, principal: CurrentPrincipal, buyer_id: IdPath
) -> DeliveryWindowPublic:
    return await vehicles.get_delivery_window(session, principal, buyer_id)


# --- routes --------------------------------------------------------------------------------

ROUTE_ERRORS = responses(
    CycleNotFound,
    exc.CentreStaffRequired,
    exc.ShipmentsNotBuilt,
    exc.ShipmentsChanged,
    exc.RoutePlanNotFound,
    exc.RoutingUnavailable,
    exc.RouteInputsChanged,
    exc.InvalidTimeLimit,
)


@router.post(
    "/cycles/{cycle_id}/routes",
    response_model=RoutePlanPublic,
    tags=["routes"],
    summary="Plan the delivery day (replaces the cycle's previous plan)",
    description="A day of `route_async_min_stops` stops or more (or a request with `Prefer: "
    "respond-async`) is planned in the background: the answer is then 202 with the operation "
    "to poll in `Location` (`GET /operations/{id}`), whose `result` is this cycle's plan "
    "(`GET /cycles/{id}/routes`) once it is done.",
    responses={202: {"model": OperationPublic, "description": "Planned in the background: poll it"}}
    | ROUTE_ERRORS
    | AUTH,
)
async def plan_routes(
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    time_limit_seconds: Annotated[
        float | None,
        Query(
            gt=0,
            le=ROUTE_TIME_LIMIT_BOUND_S,
            description="Stop the search after this many seconds (default: the server's "
            "setting; at most 60, or the server's lower route_max_time_limit_s). Within the "
            "limit the plan is deterministic; a search the limit cuts short depends on the "
            "machine's speed",
        ),
    ] = None,
    prefer: Annotated[
        str | None,
        Header(
            max_length=200, description="`respond-async`: plan in the background whatever the size"
        ),
    ] = None,
) -> RoutePlanPublic | JSONResponse:
    if time_limit_seconds is not None and time_limit_seconds > settings.route_max_time_limit_s:
        raise exc.InvalidTimeLimit(
            "The time limit is longer than this server allows",
            errors=[{"field": "time_limit_seconds", "detail": "longer than the server allows"}],
        )
    # the solver runs between two transactions: the request's (used only to authenticate)
    # ends here, so no lock is held while OSRM and the solver work
    await session.commit()
    planned = await route_flow.plan_routes(
        sessionmaker,
        settings,
        principal,
        cycle_id,
        now=utcnow(),
        time_limit_s=time_limit_seconds,
        prefer_async="respond-async" in (prefer or "").lower(),
    )
    if isinstance(planned, RoutePlanPublic):
        return planned
    return accepted(planned)


@router.get(
    "/cycles/{cycle_id}/routes",
    response_model=RoutePlanPublic,
    tags=["routes"],
    responses=ROUTE_ERRORS | AUTH,
)
async def get_routes(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> RoutePlanPublic:
    plan = await routes.stored_plan(session, principal, cycle_id)
    return await routes.plan_public(session, plan)


@router.get(
    "/cycles/{cycle_id}/routes.geojson",
    response_class=JSONResponse,
    tags=["routes"],
    summary="The stored plan as a GeoJSON FeatureCollection",
    responses={200: {"content": {"application/geo+json": {}}, "description": "GeoJSON"}}
    | ROUTE_ERRORS
    | AUTH,
)
async def get_routes_geojson(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> JSONResponse:
    plan = await routes.stored_plan(session, principal, cycle_id)
    public = await routes.plan_public(session, plan)
    return JSONResponse(
        routes.geojson(public, (plan.depot_latitude, plan.depot_longitude)),
        media_type="application/geo+json",
    )


# --- traceability --------------------------------------------------------------------------


@router.post(
    "/routes/{route_id}/depart",
    response_model=RouteDeparture,
    tags=["routes"],
    summary="The vehicle leaves the centre: its buyers are told when to expect it",
    description="For the centre's staff. Each stop's buyer gets its arrival time by e-mail "
    "(`shipment_dispatched`) and integrators the `shipment.dispatched` event; a second call "
    "changes nothing.",
    responses=responses(exc.RouteNotFound) | AUTH,
)
async def depart_route(
    session: SessionDep, principal: CurrentPrincipal, route_id: IdPath
) -> RouteDeparture:
    route, stops = await routes.depart(session, principal, route_id, now=utcnow())
    assert route.departed_at is not None
    return RouteDeparture(route_id=route.id, departed_at=route.departed_at, stops=stops)


@router.get(
    "/routes/{route_id}.pdf",
    response_class=Response,
    tags=["collection centre"],
    summary="The driver's route sheet: stops in order, what to drop and collect, signatures",
    description="For the centre's staff and the network (the ids are in "
    "`GET /cycles/{id}/routes`); in the centre's language unless `lang` asks for another.",
    responses=PDF | responses(exc.RouteNotFound) | AUTH,
)
async def route_sheet_pdf(
    session: SessionDep, principal: CurrentPrincipal, route_id: IdPath, lang: LangQuery = None
) -> Response:
    data = await route_sheet.route_sheet(session, principal, route_id)
    printer = Printer(document_language(data, lang))
    pdf = await anyio.to_thread.run_sync(route_sheet.route_sheet_pdf, data, printer)
    return _pdf(pdf, f"route-{route_id}.pdf")


@router.get(
    "/lots/{lot_code}",
    response_model=LotTrace,
    tags=["traceability"],
    summary="Where a lot came from (association, parish, product sheet) and where it went",
    responses=responses(exc.LotNotFound) | AUTH,
)
async def trace_lot(
    session: SessionDep, principal: CurrentPrincipal, lot_code: LotCodePath
) -> LotTrace:
    return await lots.trace(session, principal, lot_code)
