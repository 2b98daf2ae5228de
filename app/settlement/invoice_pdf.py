"""The invoice as a document: who issues it (the network, its RUC/NIT and address) to whom
(the buyer and its tax id), its gapless number and dates, each line with its product name,
weighed and nominal quantities, unit price and tax, the totals, where the money goes (the
price breakdown) and how it is paid.

Loaded in a constant number of queries, drawn in a worker thread by the router; every text
from the database goes through ``xml``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
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
from app.brands.models import BrandSku
from app.core.printing import Printer, bold, xml
from app.orders.models import OrderCycle, PaymentMethod
from app.payments.models import PaymentAuthorization
from app.settlement.models import CreditNote, InvoiceLine
from app.settlement.views import visible_invoice


@dataclass(frozen=True)
class Party:
    name: str
    tax_id: str
    country: str
    address: str


@dataclass(frozen=True)
class PrintedLine:
    name: str
    unit: str
    quantity: Decimal  # billed
    nominal_quantity: Decimal | None
    weighed: bool
    unit_price_cents: int
    amount_cents: int
    tax_rate_bps: int
    tax_cents: int


@dataclass(frozen=True)
class InvoiceDocument:
    id: str
    number: str
    issuer: Party
    buyer: Party
    issued_at: datetime
    due_on: date
    delivery_date: date | None
    currency: str
    payment_method: str
    purchase_order_number: str | None
    captured_cents: int
    lines: tuple[PrintedLine, ...]
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    breakdown: dict[str, int]
    credit_notes: tuple[tuple[str, int], ...]  # number, total

    @property
    def country(self) -> str:
        """The buyer's: the invoice is printed in the language of who receives it."""
        return self.buyer.country

    def taxes_by_rate(self) -> list[tuple[int, int, int]]:
        """(rate, taxed base, tax) per rate, lowest rate first: the summary IVA needs."""
        by: dict[int, list[int]] = {}
        for line in self.lines:
            base_tax = by.setdefault(line.tax_rate_bps, [0, 0])
            base_tax[0] += line.amount_cents
            base_tax[1] += line.tax_cents
        return [(rate, base, tax) for rate, (base, tax) in sorted(by.items())]


def _party(org: Organization) -> Party:
    return Party(
        name=org.name,
        tax_id=org.tax_id,
        country=org.country,
        address=f"{org.parish}, {org.canton}, {org.province}, {org.country}",
    )


async def invoice_document(
    session: AsyncSession, principal: Principal, invoice_id: str
) -> InvoiceDocument:
    invoice = await visible_invoice(session, principal, invoice_id)
    lines = list(
        await session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == invoice.id)
            .order_by(col(InvoiceLine.sku_id))
        )
    )
    skus = {
        s.id: s
        for s in await session.scalars(
            select(BrandSku).where(col(BrandSku.id).in_({x.sku_id for x in lines}))
        )
    }
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(
                col(Organization.id).in_({invoice.network_id, invoice.buyer_id})
            )
        )
    }
    captured = sum(
        await session.scalars(
            select(PaymentAuthorization.captured_cents).where(
                PaymentAuthorization.order_id == invoice.order_id
            )
        )
    )
    notes = (
        await session.execute(
            select(CreditNote.number, CreditNote.total_cents)
            .where(CreditNote.invoice_id == invoice.id)
            .order_by(col(CreditNote.sequence))
        )
    ).all()
    cycle = await session.get(OrderCycle, invoice.cycle_id)
    return InvoiceDocument(
        id=invoice.id,
        number=invoice.number,
        issuer=_party(orgs[invoice.network_id]),
        buyer=_party(orgs[invoice.buyer_id]),
        issued_at=invoice.issued_at,
        due_on=invoice.due_on,
        delivery_date=cycle.delivery_date if cycle else None,
        currency=invoice.currency,
        payment_method=invoice.payment_method,
        purchase_order_number=invoice.purchase_order_number,
        captured_cents=captured,
        lines=tuple(
            PrintedLine(
                name=skus[x.sku_id].name,
                unit=skus[x.sku_id].unit,
                quantity=x.quantity,
                nominal_quantity=x.nominal_quantity,
                weighed=x.weighed,
                unit_price_cents=x.unit_price_cents,
                amount_cents=x.amount_cents,
                tax_rate_bps=x.tax_rate_bps,
                tax_cents=x.tax_cents,
            )
            for x in sorted(lines, key=lambda x: (skus[x.sku_id].name, x.id))
        ),
        subtotal_cents=invoice.total_cents - invoice.tax_cents,
        tax_cents=invoice.tax_cents,
        total_cents=invoice.total_cents,
        breakdown=dict(invoice.price_breakdown),
        credit_notes=tuple((number, total) for number, total in notes),
    )


def _n_(message: str) -> str:
    return message


BREAKDOWN = (
    ("producer_cents", _n_("Producers (fair price)")),
    ("logistics_cents", _n_("Logistics")),
    ("network_cents", _n_("Network and brand")),
    ("solidarity_fund_cents", _n_("Solidarity fund")),
)
TERMS = _n_(
    "Payment on terms: pay {amount} by bank transfer to {issuer} by {date}, quoting invoice {number}."  # noqa: E501 - one message
)
TAX_ID_NAME = {"EC": "RUC", "CO": "NIT"}


def _tax_id(party: Party) -> str:
    return f"{TAX_ID_NAME.get(party.country, 'Tax id')} {party.tax_id}"


def how_to_pay(data: InvoiceDocument, _: Printer) -> str:
    if data.payment_method == PaymentMethod.card:
        return _(
            "Paid by card: {amount} charged to the card authorised with the order.",
            amount=_.money(data.captured_cents, data.currency),
        )
    if data.payment_method == PaymentMethod.cash_on_delivery:
        return _(
            "Paid in cash on delivery ({date}).",
            date=(data.delivery_date or data.due_on).isoformat(),
        )
    return _(
        TERMS,
        amount=_.money(data.total_cents, data.currency),
        issuer=data.issuer.name,
        date=data.due_on.isoformat(),
        number=data.number,
    )


def invoice_pdf(data: InvoiceDocument, _: Printer) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=_("Invoice {number}", number=data.number),
        author=data.issuer.name,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
    )
    styles = getSampleStyleSheet()
    normal, small = styles["Normal"], styles["BodyText"]
    money = _.money
    parties = Table(
        [
            [
                Paragraph(
                    f"<b>{xml(data.issuer.name)}</b><br/>{xml(_tax_id(data.issuer))}<br/>"
                    f"{xml(data.issuer.address)}",
                    normal,
                ),
                Paragraph(
                    bold(_("Invoice {number}", number=data.number))
                    + "<br/>"
                    + xml(_("Issued: {date}", date=data.issued_at.date().isoformat()))
                    + "<br/>"
                    + xml(_("Due: {date}", date=data.due_on.isoformat()))
                    + (
                        "<br/>" + xml(_("Delivered: {date}", date=data.delivery_date.isoformat()))
                        if data.delivery_date
                        else ""
                    )
                    + (
                        "<br/>" + xml(_("Purchase order: {po}", po=data.purchase_order_number))
                        if data.purchase_order_number
                        else ""
                    ),
                    normal,
                ),
            ],
            [
                Paragraph(
                    xml(_("Bill to:")) + f"<br/><b>{xml(data.buyer.name)}</b><br/>"
                    f"{xml(_tax_id(data.buyer))}<br/>{xml(data.buyer.address)}",
                    normal,
                ),
                "",
            ],
        ],
        colWidths=[100 * mm, 80 * mm],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story: list[object] = [parties, Spacer(1, 6 * mm)]

    rows: list[list[object]] = [
        [
            _("Product"),
            Paragraph(xml(_("Delivered")), small),
            Paragraph(xml(_("Billed")), small),
            Paragraph(xml(_("Unit price")), small),
            _("Amount"),
            _("Tax"),
        ]
    ]
    for line in data.lines:
        nominal = (
            _.amount(line.nominal_quantity, line.unit) if line.nominal_quantity is not None else "—"
        )
        billed = _.amount(line.quantity, line.unit)
        if line.weighed:
            billed += " (" + _("weighed") + ")"
        rows.append(
            [
                Paragraph(xml(line.name), normal),
                Paragraph(xml(nominal), normal),
                Paragraph(xml(billed), normal),
                money(line.unit_price_cents, data.currency),
                money(line.amount_cents, data.currency),
                Paragraph(
                    xml(_.percent(line.tax_rate_bps))
                    + "<br/>"
                    + xml(money(line.tax_cents, data.currency)),
                    normal,
                ),
            ]
        )
    table = Table(rows, colWidths=[52 * mm, 24 * mm, 30 * mm, 24 * mm, 24 * mm, 26 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (3, 1), (4, -1), "RIGHT"),
            ]
        )
    )
    story += [table, Spacer(1, 4 * mm)]

    totals: list[list[object]] = [[_("Subtotal"), money(data.subtotal_cents, data.currency)]]
    for rate, base, tax in data.taxes_by_rate():
        totals.append(
            [
                _(
                    "VAT {rate} on {base}",
                    rate=_.percent(rate),
                    base=money(base, data.currency),
                ),
                money(tax, data.currency),
            ]
        )
    total_row = len(totals)
    totals.append([_("Total"), money(data.total_cents, data.currency)])
    for number, total in data.credit_notes:
        totals.append([_("Credit note {number}", number=number), money(-total, data.currency)])
    summary = Table(totals, colWidths=[70 * mm, 35 * mm], hAlign="RIGHT")
    summary.setStyle(
        TableStyle(
            [
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTNAME", (0, total_row), (-1, total_row), "Helvetica-Bold"),
                ("LINEABOVE", (0, total_row), (-1, total_row), 0.8, colors.black),
            ]
        )
    )
    story += [summary, Spacer(1, 6 * mm)]

    parts = [[_("Where the money goes (before tax)"), ""]]
    for key, label in BREAKDOWN:
        cents = data.breakdown.get(key, 0)
        share = f"{cents * 100 / data.subtotal_cents:.1f} %" if data.subtotal_cents else "—"
        if _.language == "es":
            share = share.replace(".", ",")
        parts.append([_(label), f"{money(cents, data.currency)} ({share})"])
    breakdown = Table(parts, colWidths=[70 * mm, 50 * mm], hAlign="LEFT")
    breakdown.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("ALIGN", (1, 1), (1, -1), "RIGHT"),
            ]
        )
    )
    story += [
        breakdown,
        Spacer(1, 6 * mm),
        Paragraph(bold(_("How to pay")), normal),
        Paragraph(xml(how_to_pay(data, _)), normal),
    ]
    doc.build(story)
    return out.getvalue()
