"""Paper for the centre's floor, the drawing part: packing lists, lot labels and the cycle's
pick list as PDF, from the plain data ``app.fulfilment.documents`` loads.

Every text from the database goes through ``xml`` (Paragraphs) or is drawn as a plain
string (canvas), so nothing in a name is read as markup, a file or a URL.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

import qrcode  # type: ignore[import-untyped]
from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import simpleSplit  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.core.printing import Printer, bold, red, xml
from app.fulfilment.documents import LabelLot, PackedLine, PackingData, PickListData

LABEL_SIZE = (100 * mm, 70 * mm)
WARM = colors.Color(0.75, 0.1, 0.1)


def _n_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is drawn."""
    return message


STORAGE = {
    "ambient": _n_("STORE IN A COOL, DRY PLACE"),
    "chilled": _n_("KEEP REFRIGERATED (0-4 °C)"),
    "frozen": _n_("KEEP FROZEN (-18 °C)"),
}


def storage_line(_: Printer, storage: str) -> str:
    return _(STORAGE[storage]) if storage in STORAGE else ""


def warm_note(_: Printer, lot: LabelLot) -> str:
    if lot.temperature_c is None:
        return _("RECEIVED OUT OF TEMPERATURE")
    return _(
        "RECEIVED OUT OF TEMPERATURE ({degrees} °C)",
        degrees=_.quantity(lot.temperature_c, 1),
    )


def _table(rows: list[list[object]], widths: Sequence[float], warm_rows: Sequence[int]) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    style += [("BACKGROUND", (0, r), (-1, r), colors.Color(1, 0.88, 0.88)) for r in warm_rows]
    table.setStyle(TableStyle(style))
    return table


def packing_list_pdf(data: PackingData, _: Printer) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_("Packing list {shipment}", shipment=data.shipment_id),
        author=data.centre,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
    )
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    story = [
        Paragraph(xml(_("Packing list") + " — " + data.centre), styles["Title"]),
        Paragraph(
            xml(_("Customer:")) + f" <b>{xml(data.buyer)}</b> ({xml(data.buyer_place)})", normal
        ),
        Paragraph(
            xml(
                _(
                    "Delivery {date} · Shipment {shipment}",
                    date=data.delivery_date.isoformat(),
                    shipment=data.shipment_id,
                )
            ),
            normal,
        ),
        Paragraph(
            xml(_("Total weight: {kg} kg", kg=_.quantity(data.weight_kg)))
            + (" · " + bold(_("COLD CHAIN")) if data.chilled else ""),
            normal,
        ),
        Spacer(1, 6 * mm),
    ]
    rows: list[list[object]] = [
        [
            _("Product"),
            _("Ordered"),
            _("Packed"),
            _("Weight kg"),
            Paragraph(xml(_("Lots (association, parish)")), normal),
        ]
    ]
    warm_rows = []
    for line in data.lines:
        lots = "<br/>".join(_lot_cell(_, line, lot) for lot in line.lots)
        short = line.quantity < line.ordered
        packed = _.amount(line.quantity, line.unit)
        rows.append(
            [
                Paragraph(xml(line.sku_name), normal),
                Paragraph(xml(_.amount(line.ordered, line.unit)), normal),
                Paragraph(f"<b>{xml(packed)}</b>" if short else xml(packed), normal),
                _.quantity(line.weight_kg),
                Paragraph(lots or "—", normal),
            ]
        )
        if line.warm:
            warm_rows.append(len(rows) - 1)
    story.append(_table(rows, [50 * mm, 24 * mm, 24 * mm, 18 * mm, 64 * mm], warm_rows))
    if warm_rows:
        story += [
            Spacer(1, 3 * mm),
            Paragraph(
                bold(_("Lines in red hold a lot received out of temperature.")),
                normal,
            ),
        ]
    story += [
        Spacer(1, 15 * mm),
        Paragraph(xml(_("Received by: ______________________  Date: ________")), normal),
    ]
    doc.build(story)
    return out.getvalue()


def _lot_cell(_: Printer, line: PackedLine, lot: LabelLot) -> str:
    text = (
        f"{xml(lot.code)}: {xml(_.quantity(lot.quantity))} — "
        f"{xml(lot.association)}, {xml(lot.parish)}"
    )
    if lot.temperature_alert:
        text += " " + red(warm_note(_, lot))
    return text


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


# A label's text blocks: (text, font, size at scale 1, colour, space before in points)
Block = tuple[str, str, float, object, float]
MARGIN = 5 * mm
QR_SIZE = 32 * mm
GAP = 3 * mm


def _layout(
    blocks: Sequence[Block], scale: float, width: float, height: float
) -> list[tuple[float, float, str, str, float, object]] | None:
    """Where each line of the blocks goes at ``scale``: beside the QR while the text is as
    high as the QR, the whole width below it; ``None`` when it does not fit the label."""
    qr_bottom = height - MARGIN - QR_SIZE
    narrow = width - 2 * MARGIN - QR_SIZE - GAP
    wide = width - 2 * MARGIN
    y = height - MARGIN
    placed = []
    for text, font, size, colour, before in blocks:
        size *= scale
        leading = size * 1.18
        y -= before * scale
        words = text.split()
        while words:
            baseline = y - size
            room = narrow if baseline - size * 0.25 > qr_bottom - 0.5 else wide
            # the longest run of words that fits this line; a single word wider than the
            # line does not fit, and the caller tries again smaller
            first = (simpleSplit(" ".join(words), font, size, room) or [""])[0]
            if stringWidth(first, font, size) > room + 0.01:
                return None
            placed.append((MARGIN, baseline, first, font, size, colour))
            words = words[len(first.split()) :]
            y -= leading
        if y < MARGIN:
            return None
    return placed


def labels_pdf(data: PackingData, _: Printer) -> bytes:
    """One label per lot of each line: what, how much, from whom and where, for whom, how to
    keep it, and whether it arrived warm. Names wrap, and shrink when wrapping is not
    enough; nothing is cut and nothing runs under the QR code."""
    out = io.BytesIO()
    width, height = LABEL_SIZE
    canvas = Canvas(out, pagesize=LABEL_SIZE)
    canvas.setTitle(_("Labels {shipment}", shipment=data.shipment_id))
    labels = [(line, lot) for line in data.lines for lot in line.lots]
    for line, lot in labels:
        _draw_qr(
            canvas,
            data.trace_url(lot.code),
            width - MARGIN - QR_SIZE,
            height - MARGIN - QR_SIZE,
            QR_SIZE,
        )
        black = colors.black
        blocks: list[Block] = [
            (line.sku_name, "Helvetica-Bold", 11, black, 0),
            (_.amount(lot.quantity, line.unit), "Helvetica", 9, black, 2),
            (_("Lot: {code}", code=lot.code), "Helvetica", 9, black, 0),
            (lot.association, "Helvetica", 9, black, 0),
            (_("Parish {parish}", parish=lot.parish), "Helvetica", 9, black, 0),
            (_("For: {buyer}", buyer=data.buyer), "Helvetica", 9, black, 4),
            (_("Delivery {date}", date=data.delivery_date.isoformat()), "Helvetica", 9, black, 0),
        ]
        storage = storage_line(_, lot.storage)
        if storage:
            blocks.append((storage, "Helvetica-Bold", 9, black, 3))
        if lot.temperature_alert:
            blocks.append((warm_note(_, lot), "Helvetica-Bold", 9, WARM, 2))
        scale = 1.0
        placed = _layout(blocks, scale, width, height)
        while placed is None and scale > 0.3:
            scale -= 0.05
            placed = _layout(blocks, scale, width, height)
        if placed is None:  # a name no font size fits: each word on its own line, smallest
            placed = (
                _layout(
                    [(w, f, s, c, b) for t, f, s, c, b in blocks for w in t.split()],
                    0.3,
                    width,
                    height,
                )
                or []
            )
        for x, y, text, font, size, colour in placed:
            canvas.setFillColor(colour)
            canvas.setFont(font, size)
            canvas.drawString(x, y, text)
        if lot.temperature_alert:
            canvas.setStrokeColor(WARM)
            canvas.setLineWidth(2)
            canvas.rect(1.5 * mm, 1.5 * mm, width - 3 * mm, height - 3 * mm, stroke=1, fill=0)
        canvas.showPage()
    if not labels:
        canvas.setFont("Helvetica", 10)
        canvas.drawString(MARGIN, height / 2, _("Nothing packed"))
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def pick_list_pdf(data: PickListData, _: Printer) -> bytes:
    """The whole cycle's pick list, a table per association: each SKU, what was ordered of
    it, its lots and how much of each goes to which buyer."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        title=_("Pick list {cycle}", cycle=data.cycle_id),
        author=data.centre,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
    )
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    story: list[object] = [
        Paragraph(xml(_("Pick list") + " — " + data.centre), styles["Title"]),
        Paragraph(xml(_("Delivery {date}", date=data.delivery_date.isoformat())), normal),
    ]
    associations: dict[str, list[dict[str, str]]] = {}
    for row in data.rows:
        associations.setdefault(row["association"], []).append(row)
    if not associations:
        story.append(Paragraph(xml(_("Nothing to pick")), normal))
    else:
        story += [Spacer(1, 4 * mm), Paragraph(xml(_("By product")), styles["Heading2"])]
        story.append(_table(_by_sku(data, _), [110 * mm, 40 * mm, 40 * mm, 40 * mm], []))
    for association, rows in associations.items():
        story += [Spacer(1, 5 * mm), Paragraph(xml(association), styles["Heading2"])]
        table: list[list[object]] = [
            [
                _("Product"),
                _("Ordered"),
                _("Lot"),
                _("Accepted"),
                _("Rejected"),
                _("Buyer"),
                _("Pick"),
                _("Done"),
            ]
        ]
        warm_rows = []
        for row in rows:
            lot = xml(row["lot_code"]) or "—"
            if row["temperature_alert"] == "yes":
                lot += "<br/>" + red(_("OUT OF TEMPERATURE"))
            table.append(
                [
                    Paragraph(xml(row["sku_name"]), normal),
                    _.amount(Decimal(row["ordered_quantity"]), row["unit"]),
                    Paragraph(lot, normal),
                    _qty(_, row["accepted_quantity"]),
                    _qty(_, row["rejected_quantity"]),
                    Paragraph(xml(row["buyer"]) or "—", normal),
                    _qty(_, row["pick_quantity"]),
                    "",  # ticked by hand
                ]
            )
            if row["temperature_alert"] == "yes":
                warm_rows.append(len(table) - 1)
        widths = [62 * mm, 26 * mm, 38 * mm, 22 * mm, 22 * mm, 58 * mm, 22 * mm, 14 * mm]
        story.append(_table(table, widths, warm_rows))
    story += [
        Spacer(1, 12 * mm),
        Paragraph(xml(_("Picked by: ______________________  Date: ________")), normal),
    ]
    doc.build(story)
    return out.getvalue()


def _by_sku(data: PickListData, _: Printer) -> list[list[object]]:
    """Per SKU, the whole cycle: ordered from every association, accepted, to pick."""
    styles = getSampleStyleSheet()
    ordered: dict[str, dict[str, Decimal]] = {}
    accepted: dict[str, dict[str, Decimal]] = {}
    picked: dict[str, Decimal] = {}
    units: dict[str, str] = {}
    for row in data.rows:
        sku = row["sku_name"]
        units[sku] = row["unit"]
        ordered.setdefault(sku, {})[row["delivery_order_id"]] = Decimal(row["ordered_quantity"])
        if row["lot_code"]:
            accepted.setdefault(sku, {})[row["lot_code"]] = Decimal(row["accepted_quantity"])
        if row["pick_quantity"]:
            picked[sku] = picked.get(sku, Decimal(0)) + Decimal(row["pick_quantity"])
    table: list[list[object]] = [[_("Product"), _("Ordered"), _("Accepted"), _("Pick")]]
    for sku in sorted(ordered):
        table.append(
            [
                Paragraph(xml(sku), styles["Normal"]),
                _.amount(sum(ordered[sku].values(), Decimal(0)), units[sku]),
                _.amount(sum(accepted.get(sku, {}).values(), Decimal(0)), units[sku]),
                _.amount(picked.get(sku, Decimal(0)), units[sku]),
            ]
        )
    return table


def _qty(_: Printer, text: str) -> str:
    return _.quantity(Decimal(text)) if text else ""
