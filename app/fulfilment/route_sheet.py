"""The driver's route sheet: one route's stops in order, each with the buyer's name, address,
phone and delivery notes, its time window and ETA, what to drop (the shipment's lines) and
what to collect (cash on delivery, returns), and a line for the receiver to sign.

Loaded in a constant number of queries whatever the number of stops; drawn in a worker
thread by the router; every text from the database goes through ``xml``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.brands.models import BrandSku
from app.core.printing import Printer, bold, xml
from app.fulfilment import access
from app.fulfilment.exceptions import RouteNotFound
from app.fulfilment.models import (
    DeliveryWindow,
    PlannedRoute,
    RoutePlan,
    RouteStop,
    Shipment,
    ShipmentItem,
    Vehicle,
)
from app.orders import cycles
from app.orders.models import Order, PaymentMethod


@dataclass(frozen=True)
class Drop:
    name: str
    unit: str
    quantity: Decimal


@dataclass(frozen=True)
class Stop:
    sequence: int
    buyer: str
    address: str
    latitude: float
    longitude: float
    phone: str | None
    notes: str | None
    window: tuple[int, int] | None  # minutes after midnight, local time
    eta: datetime
    weight_kg: Decimal
    chilled: bool
    drops: tuple[Drop, ...]
    cash_cents: int  # to collect: the cash-on-delivery orders of the shipment
    shipment_id: str


@dataclass(frozen=True)
class RouteSheet:
    route_id: str
    centre: str
    country: str  # the centre's: its driver reads the sheet
    vehicle: str
    chilled_vehicle: bool
    delivery_date: date
    departure: datetime
    distance_km: float
    currency: str
    stops: tuple[Stop, ...]


async def route_sheet(session: AsyncSession, principal: Principal, route_id: str) -> RouteSheet:
    """The sheet of a route, for its centre's staff and its network (404 for others)."""
    found = (
        await session.execute(
            select(PlannedRoute, RoutePlan)
            .join(RoutePlan, col(RoutePlan.id) == col(PlannedRoute.plan_id))
            .where(PlannedRoute.id == route_id)
        )
    ).first()
    if found is None:
        raise RouteNotFound()
    route, plan = found
    cycle = await cycles.get_cycle(session, plan.cycle_id)
    if not access.oversees(principal, cycle):
        raise RouteNotFound()
    stops = list(
        await session.scalars(
            select(RouteStop)
            .where(RouteStop.route_id == route.id)
            .order_by(col(RouteStop.sequence))
        )
    )
    shipments = {
        s.id: s
        for s in await session.scalars(
            select(Shipment).where(col(Shipment.id).in_([s.shipment_id for s in stops]))
        )
    }
    items: dict[str, list[ShipmentItem]] = defaultdict(list)
    for item in await session.scalars(
        select(ShipmentItem).where(col(ShipmentItem.shipment_id).in_(list(shipments)))
    ):
        items[item.shipment_id].append(item)
    skus = {
        s.id: s
        for s in await session.scalars(
            select(BrandSku).where(
                col(BrandSku.id).in_({i.sku_id for group in items.values() for i in group})
            )
        )
    }
    cash: dict[str, int] = defaultdict(int)
    order_ids = {i.order_id for group in items.values() for i in group}
    shipment_of = {i.order_id: i.shipment_id for group in items.values() for i in group}
    for order in await session.scalars(
        select(Order).where(
            col(Order.id).in_(order_ids), Order.payment_method == PaymentMethod.cash_on_delivery
        )
    ):
        # what the close confirmed (the delivery may change it: the sheet says what is due)
        total = (
            order.final_total_cents if order.final_total_cents is not None else order.total_cents
        )
        cash[shipment_of[order.id]] += total
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(
                col(Organization.id).in_({s.buyer_id for s in stops} | {cycle.collection_centre_id})
            )
        )
    }
    windows = {
        w.buyer_id: w
        for w in await session.scalars(
            select(DeliveryWindow).where(
                col(DeliveryWindow.buyer_id).in_({s.buyer_id for s in stops})
            )
        )
    }
    vehicle = await session.get(Vehicle, route.vehicle_id)
    assert vehicle is not None
    midnight = datetime.combine(cycle.delivery_date, time(0), tzinfo=ZoneInfo(cycle.timezone))
    centre = orgs[cycle.collection_centre_id]

    def stop_of(stop: RouteStop) -> Stop:
        buyer = orgs[stop.buyer_id]
        window = windows.get(stop.buyer_id)
        shipment = shipments[stop.shipment_id]
        drops: dict[str, Decimal] = defaultdict(Decimal)
        for item in items[shipment.id]:
            drops[item.sku_id] += item.quantity
        return Stop(
            sequence=stop.sequence,
            buyer=buyer.name,
            address=_address(buyer),
            latitude=stop.latitude,
            longitude=stop.longitude,
            # contact fields an organisation may carry (name, address, phone, notes)
            phone=getattr(buyer, "phone", None),
            notes=getattr(buyer, "delivery_notes", None),
            window=(window.opens_min, window.closes_min) if window else None,
            eta=midnight + timedelta(seconds=stop.eta_seconds),
            weight_kg=shipment.weight_kg,
            chilled=shipment.chilled,
            drops=tuple(
                Drop(skus[sku_id].name, skus[sku_id].unit, quantity)
                for sku_id, quantity in sorted(drops.items(), key=lambda d: skus[d[0]].name)
                if quantity > 0
            ),
            cash_cents=cash.get(shipment.id, 0),
            shipment_id=shipment.id,
        )

    return RouteSheet(
        route_id=route.id,
        centre=centre.name,
        country=centre.country,
        vehicle=vehicle.name,
        chilled_vehicle=vehicle.chilled,
        delivery_date=cycle.delivery_date,
        departure=midnight + timedelta(seconds=route.departure_s),
        distance_km=round(route.distance_m / 1000, 1),
        currency=cycle.currency,
        stops=tuple(stop_of(s) for s in stops),
    )


def _address(org: Organization) -> str:
    street = getattr(org, "address", None)
    place = f"{org.parish}, {org.canton}, {org.province}"
    return f"{street}, {place}" if street else place


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def route_sheet_pdf(data: RouteSheet, _: Printer) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_("Route sheet {vehicle}", vehicle=data.vehicle),
        author=data.centre,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
    )
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    story: list[object] = [
        Paragraph(xml(_("Route sheet") + " — " + data.centre), styles["Title"]),
        Paragraph(
            xml(
                _(
                    "Vehicle {vehicle} · delivery {date} · leaves at {time} · {km} km",
                    vehicle=data.vehicle,
                    date=data.delivery_date.isoformat(),
                    time=data.departure.strftime("%H:%M"),
                    km=_.quantity(Decimal(str(data.distance_km)), 1),
                )
            )
            + (" · " + bold(_("COLD CHAIN")) if data.chilled_vehicle else ""),
            normal,
        ),
        Paragraph(
            xml(_("Driver: ______________________  Plate: __________")),
            normal,
        ),
    ]
    if not data.stops:
        story.append(Paragraph(xml(_("No stops on this route")), normal))
    for stop in data.stops:
        window = (
            _(
                "window {opens} to {closes}",
                opens=_clock(stop.window[0]),
                closes=_clock(stop.window[1]),
            )
            if stop.window
            else _("any time")
        )
        head = Paragraph(
            f"<b>{stop.sequence}. {xml(stop.buyer)}</b> — "
            + xml(_("ETA {time}", time=stop.eta.strftime("%H:%M")))
            + f" ({xml(window)})",
            styles["Heading3"],
        )
        lines = [
            xml(stop.address) + f" ({stop.latitude:.5f}, {stop.longitude:.5f})",
            xml(_("Phone: {phone}", phone=stop.phone or "______________")),
        ]
        if stop.notes:
            lines.append(xml(_("Notes: {notes}", notes=stop.notes)))
        drop_rows: list[list[object]] = [[_("Drop"), _("Quantity"), _("Returned")]]
        for drop in stop.drops:
            drop_rows.append(
                [
                    Paragraph(xml(drop.name), normal),
                    _.amount(drop.quantity, drop.unit),
                    "",
                ]
            )
        drops = Table(drop_rows, colWidths=[95 * mm, 40 * mm, 40 * mm])
        drops.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        collect = (
            _("Collect in cash: {amount}", amount=_.money(stop.cash_cents, data.currency))
            if stop.cash_cents
            else _("Nothing to collect in cash")
        )
        weight = _("{kg} kg", kg=_.quantity(stop.weight_kg)) + (
            " · " + _("COLD CHAIN") if stop.chilled else ""
        )
        story.append(
            KeepTogether(
                [
                    head,
                    Paragraph("<br/>".join(lines), normal),
                    Spacer(1, 2 * mm),
                    drops,
                    Spacer(1, 2 * mm),
                    Paragraph(f"<b>{xml(collect)}</b> · {xml(weight)}", normal),
                    Spacer(1, 6 * mm),
                    Paragraph(
                        xml(_("Received by (name, signature): ____________________  Time: _____")),
                        normal,
                    ),
                    Spacer(1, 4 * mm),
                ]
            )
        )
    doc.build(story)
    return out.getvalue()
