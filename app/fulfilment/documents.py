"""Paper for the centre's floor: pick lists (CSV), packing lists and lot labels (PDF).

The data is loaded from the database first (a constant number of queries); drawing the PDF
is plain CPU work, done in a worker thread by the router so the event loop keeps serving.
Every label carries a QR code of its lot's traceability address.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

import qrcode  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
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
from app.aggregation.models import DeliveryOrderLine
from app.brands.models import BrandSku
from app.catalog.models import Product
from app.core.csvexport import quantity as csv_quantity
from app.fulfilment import access
from app.fulfilment.models import Lot, Shipment, ShipmentLot
from app.fulfilment.views import items_of, lot_codes_of

LABEL_SIZE = (100 * mm, 70 * mm)


async def _names(session: AsyncSession, ids: set[str]) -> dict[str, Organization]:
    return {
        o.id: o
        for o in await session.scalars(select(Organization).where(col(Organization.id).in_(ids)))
    }


async def _skus(session: AsyncSession, ids: set[str]) -> dict[str, BrandSku]:
    return {
        s.id: s for s in await session.scalars(select(BrandSku).where(col(BrandSku.id).in_(ids)))
    }


PICK_LIST_COLUMNS = (
    "delivery_order_id",
    "association",
    "sku_id",
    "sku_name",
    "unit",
    "ordered_quantity",
    "lot_code",
    "accepted_quantity",
    "rejected_quantity",
    "temperature_alert",
    "buyer",
    "shipment_id",
    "pick_quantity",
)


async def pick_list_rows(
    session: AsyncSession, principal: Principal, delivery_order_id: str
) -> list[list[object]]:
    """One row per lot and shipment it was packed into (a lot not yet packed has one row
    without a buyer; a line with nothing received has one row without a lot); written by
    ``app.core.csvexport`` like every export."""
    order, _ = await access.delivery_order(session, principal, delivery_order_id)
    lines = (
        await session.scalars(
            select(DeliveryOrderLine)
            .where(DeliveryOrderLine.delivery_order_id == order.id)
            .order_by(col(DeliveryOrderLine.sku_id))
        )
    ).all()
    lots = (
        await session.scalars(
            select(Lot)
            .where(Lot.delivery_order_id == order.id)
            .order_by(col(Lot.received_at), col(Lot.code))
        )
    ).all()
    packed: dict[str, list[tuple[ShipmentLot, Shipment]]] = defaultdict(list)
    rows = await session.execute(
        select(ShipmentLot, Shipment)
        .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
        .where(col(ShipmentLot.lot_id).in_([lot.id for lot in lots]))
        .order_by(col(Shipment.buyer_id))
    )
    for piece, shipment in rows:
        packed[piece.lot_id].append((piece, shipment))
    orgs = await _names(
        session, {order.association_id} | {s.buyer_id for p in packed.values() for _, s in p}
    )
    skus = await _skus(session, {line.sku_id for line in lines})

    out: list[list[object]] = []
    association = orgs[order.association_id].name
    for line in lines:
        sku = skus[line.sku_id]
        head = [order.id, association, sku.id, sku.name, sku.unit, csv_quantity(line.quantity)]
        sku_lots = [lot for lot in lots if lot.sku_id == line.sku_id]
        if not sku_lots:
            out.append([*head, "", "", "", "", "", "", ""])
        for lot in sku_lots:
            lot_cells = [
                lot.code,
                csv_quantity(lot.accepted_quantity),
                csv_quantity(lot.rejected_quantity),
                "yes" if lot.temperature_alert else "no",
            ]
            if not packed[lot.id]:
                out.append([*head, *lot_cells, "", "", ""])
            for piece, shipment in packed[lot.id]:
                where = [orgs[shipment.buyer_id].name, shipment.id, csv_quantity(piece.quantity)]
                out.append([*head, *lot_cells, *where])
    return out


@dataclass(frozen=True)
class LabelLot:
    code: str
    quantity: Decimal
    association: str
    parish: str


@dataclass(frozen=True)
class PackedLine:
    sku_name: str
    unit: str
    quantity: Decimal
    weight_kg: Decimal
    lots: tuple[LabelLot, ...]


@dataclass(frozen=True)
class PackingData:
    shipment_id: str
    buyer: str
    buyer_place: str
    centre: str
    delivery_date: date
    weight_kg: Decimal
    chilled: bool
    lines: tuple[PackedLine, ...]
    trace_base: str  # the lots' traceability address, without the code


async def packing_data(
    session: AsyncSession, principal: Principal, shipment_id: str, *, base_url: str
) -> PackingData:
    shipment, cycle = await access.shipment(session, principal, shipment_id)
    items = (await items_of(session, [shipment.id]))[shipment.id]
    packed = (await lot_codes_of(session, [shipment.id]))[shipment.id]
    orgs = await _names(
        session,
        {shipment.buyer_id, cycle.collection_centre_id} | {lot.association_id for _, lot in packed},
    )
    skus = await _skus(session, {i.sku_id for i in items})
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(col(Product.id).in_({lot.product_id for _, lot in packed}))
        )
    }
    lines = []
    for sku_id in sorted({i.sku_id for i in items}, key=lambda s: skus[s].name):
        mine = [i for i in items if i.sku_id == sku_id]
        lots: dict[str, LabelLot] = {}
        for piece, lot in packed:
            if lot.sku_id != sku_id:
                continue
            product = products.get(lot.product_id)
            seen = lots.get(lot.code)
            lots[lot.code] = LabelLot(
                code=lot.code,
                quantity=piece.quantity + (seen.quantity if seen else Decimal(0)),
                association=orgs[lot.association_id].name,
                parish=product.origin_parish if product else orgs[lot.association_id].parish,
            )
        lines.append(
            PackedLine(
                sku_name=skus[sku_id].name,
                unit=skus[sku_id].unit,
                quantity=sum((i.quantity for i in mine), Decimal(0)),
                weight_kg=sum((i.weight_kg for i in mine), Decimal(0)),
                lots=tuple(lots.values()),
            )
        )
    buyer = orgs[shipment.buyer_id]
    return PackingData(
        shipment_id=shipment.id,
        buyer=buyer.name,
        buyer_place=f"{buyer.parish}, {buyer.canton}, {buyer.province}",
        centre=orgs[cycle.collection_centre_id].name,
        delivery_date=cycle.delivery_date,
        weight_kg=shipment.weight_kg,
        chilled=shipment.chilled,
        lines=tuple(lines),
        trace_base=f"{base_url.rstrip('/')}/api/v1/lots/",
    )


def packing_list_pdf(data: PackingData) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=f"Packing list {data.shipment_id}",
        author=data.centre,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    )
    styles = getSampleStyleSheet()
    story = [
        Paragraph(f"Lista de empaque / Packing list — {_xml(data.centre)}", styles["Title"]),
        Paragraph(
            f"Cliente: <b>{_xml(data.buyer)}</b> ({_xml(data.buyer_place)})", styles["Normal"]
        ),
        Paragraph(
            f"Entrega: {data.delivery_date.isoformat()} · Envío {_xml(data.shipment_id)}",
            styles["Normal"],
        ),
        Paragraph(
            f"Peso total: {data.weight_kg:.3f} kg"
            + (" · <b>CADENA DE FRÍO / KEEP CHILLED</b>" if data.chilled else ""),
            styles["Normal"],
        ),
        Spacer(1, 6 * mm),
    ]
    rows: list[list[object]] = [
        ["Producto", "Cantidad", "Peso kg", "Lotes (asociación, parroquia)"]
    ]
    for line in data.lines:
        lots = "<br/>".join(
            f"{_xml(lot.code)}: {lot.quantity:.3f} — {_xml(lot.association)}, {_xml(lot.parish)}"
            for lot in line.lots
        )
        rows.append(
            [
                Paragraph(_xml(line.sku_name), styles["Normal"]),
                f"{line.quantity:.3f} {line.unit}",
                f"{line.weight_kg:.3f}",
                Paragraph(lots or "—", styles["Normal"]),
            ]
        )
    table = Table(rows, colWidths=[55 * mm, 28 * mm, 20 * mm, 77 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story += [
        table,
        Spacer(1, 15 * mm),
        Paragraph(
            "Recibido por / Received by: ______________________  Fecha: ________", styles["Normal"]
        ),
    ]
    doc.build(story)
    return out.getvalue()


def _xml(text: str) -> str:
    """Text for a Paragraph, which reads reportlab's mini-markup: every name, code and note
    from the database goes through here, so ``<img src=…>`` or ``<a href=…>`` in a name is
    drawn as written and never makes reportlab open a file or a URL."""
    return escape(text, {'"': "&quot;"})


def _draw_qr(canvas: Canvas, text: str, x: float, y: float, size: float) -> None:
    """A QR code of ``text`` as vector squares, ``size`` wide, its lower-left at (x, y)."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    matrix: Sequence[Sequence[bool]] = code.get_matrix()
    cell = size / len(matrix)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x + c * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def labels_pdf(data: PackingData) -> bytes:
    """One label per lot of each line: what, how much, from whom and where, for whom."""
    out = io.BytesIO()
    width, height = LABEL_SIZE
    canvas = Canvas(out, pagesize=LABEL_SIZE)
    canvas.setTitle(f"Labels {data.shipment_id}")
    labels = [(line, lot) for line in data.lines for lot in line.lots]
    for line, lot in labels:
        qr = 34 * mm
        _draw_qr(canvas, data.trace_base + lot.code, width - qr - 5 * mm, height - qr - 5 * mm, qr)
        text = canvas.beginText(5 * mm, height - 10 * mm)
        text.setFont("Helvetica-Bold", 10)
        text.textLine(line.sku_name[:34])
        text.setFont("Helvetica", 9)
        for row in (
            f"{lot.quantity:.3f} {line.unit}",
            f"Lote: {lot.code}",
            lot.association[:34],
            f"Parroquia {lot.parish}"[:34],
            "",
            f"Para: {data.buyer}"[:34],
            f"Entrega {data.delivery_date.isoformat()}",
        ):
            text.textLine(row)
        canvas.drawText(text)
        if data.chilled:
            canvas.setFont("Helvetica-Bold", 9)
            canvas.drawString(5 * mm, 5 * mm, "MANTENER REFRIGERADO / KEEP CHILLED")
        canvas.showPage()
    if not labels:
        canvas.setFont("Helvetica", 10)
        canvas.drawString(5 * mm, height / 2, "Sin lotes / nothing packed")
        canvas.showPage()
    canvas.save()
    return out.getvalue()
