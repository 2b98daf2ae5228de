"""The money trail of a cycle, recomputed from its rows: every invariant that must hold to
the cent once the cycle is settled. ``minga ledger check`` and every settlement run it.

Each check reads what was stored and recomputes it with the same named rules the documents
were written with (``orders.lifecycle.line_amount``, the parts split, the producer shares),
so a document that drifted from the goods, or from another document, shows up here.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.brands import taxes
from app.fulfilment.models import Lot, ShipmentItem, ShipmentLot
from app.orders import lifecycle
from app.orders.models import (
    CycleSku,
    CycleStatus,
    Order,
    OrderCycle,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from app.payments.models import PaymentAuthorization
from app.settlement.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineShare,
    Payout,
    PayoutAdjustment,
    PayoutLine,
)
from app.settlement.schemas import LedgerDifference, LedgerReport

CHECKS = (
    "invoice totals = sum of their lines",
    "line amounts = unit price x billed quantity, parts sum to the amount",
    "invoice producer parts = sum of their suppliers' shares",
    "producer shares on invoices and credit notes = payouts and adjustments",
    "payout = its lines + its adjustments",
    "card captures - refunds = card invoices - refunded credit notes",
    "no line billed above what was delivered",
    "no payout for goods not received",
    "reserved stock = the quantities of the lines that hold it",
)


class _Report:
    def __init__(self, cycle_id: str) -> None:
        self.cycle_id = cycle_id
        self.differences: list[LedgerDifference] = []

    def expect(self, check: int, subject: str, expected: object, actual: object) -> None:
        if expected != actual:
            self.differences.append(
                LedgerDifference(
                    check=CHECKS[check], subject=subject, expected=str(expected), actual=str(actual)
                )
            )

    def done(self) -> LedgerReport:
        return LedgerReport(
            cycle_id=self.cycle_id, checked=list(CHECKS), differences=self.differences
        )


async def _check_stock(session: AsyncSession, cycle: OrderCycle, report: _Report) -> None:
    """Every cycle, open or not: what its stock counters hold is what its orders' lines
    hold (cancelled orders hold nothing)."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    for sku_id, quantity in (
        await session.execute(
            select(col(OrderLine.sku_id), col(OrderLine.quantity))
            .join(Order, col(Order.id) == col(OrderLine.order_id))
            .where(Order.cycle_id == cycle.id, Order.status != OrderStatus.cancelled)
        )
    ).all():
        held[sku_id] += quantity
    for row in await session.scalars(select(CycleSku).where(CycleSku.cycle_id == cycle.id)):
        report.expect(
            8,
            f"stock of {row.sku_id}",
            int(held.pop(row.sku_id, Decimal(0)) * 1000),
            row.reserved_milli,
        )
    for sku_id, quantity in held.items():
        report.expect(8, f"stock of {sku_id}", int(quantity * 1000), "no stock row")


async def check_cycle(session: AsyncSession, cycle: OrderCycle) -> LedgerReport:
    report = _Report(cycle.id)
    await _check_stock(session, cycle, report)
    if cycle.status != CycleStatus.settled:
        return LedgerReport(cycle_id=cycle.id, checked=[CHECKS[8]], differences=report.differences)
    invoices = {
        i.id: i for i in await session.scalars(select(Invoice).where(Invoice.cycle_id == cycle.id))
    }
    invoice_lines = list(
        await session.scalars(
            select(InvoiceLine).where(col(InvoiceLine.invoice_id).in_(list(invoices)))
        )
    )
    shares = list(
        await session.scalars(select(InvoiceLineShare).where(InvoiceLineShare.cycle_id == cycle.id))
    )
    credit_notes = {
        c.id: c
        for c in await session.scalars(select(CreditNote).where(CreditNote.cycle_id == cycle.id))
    }
    credit_lines = list(
        await session.scalars(
            select(CreditNoteLine).where(col(CreditNoteLine.credit_note_id).in_(list(credit_notes)))
        )
    )
    payouts = {
        p.id: p for p in await session.scalars(select(Payout).where(Payout.cycle_id == cycle.id))
    }
    payout_lines = list(
        await session.scalars(
            select(PayoutLine).where(col(PayoutLine.payout_id).in_(list(payouts)))
        )
    )
    from_here = list(
        await session.scalars(
            select(PayoutAdjustment).where(PayoutAdjustment.origin_cycle_id == cycle.id)
        )
    )
    applied_here = list(
        await session.scalars(
            select(PayoutAdjustment).where(col(PayoutAdjustment.payout_id).in_(list(payouts)))
        )
    )
    orders = {
        o.id: o for o in await session.scalars(select(Order).where(Order.cycle_id == cycle.id))
    }
    lines = {
        line.id: line
        for line in await session.scalars(
            select(OrderLine).where(col(OrderLine.order_id).in_(list(orders)))
        )
    }

    # 0, 1: invoices add up, and each line is priced by the one rule
    by_invoice: dict[str, list[InvoiceLine]] = defaultdict(list)
    for line in invoice_lines:
        by_invoice[line.invoice_id].append(line)
        subject = f"invoice {invoices[line.invoice_id].number} {line.sku_id}"
        report.expect(1, subject, line.amount_cents, sum(line.price_breakdown.values()))
        order_line = lines.get(line.order_line_id or "")
        if order_line is not None:
            report.expect(1, subject, lifecycle.line_amount(order_line), line.amount_cents)
            report.expect(1, subject, lifecycle.billed_quantity(order_line), line.quantity)
    for invoice in invoices.values():
        report.expect(
            0,
            f"invoice {invoice.number}",
            invoice.total_cents,
            sum(x.amount_cents + x.tax_cents for x in by_invoice[invoice.id]),
        )
        report.expect(
            0,
            f"invoice {invoice.number} tax",
            invoice.tax_cents,
            sum(taxes.line_tax(x.amount_cents, x.tax_rate_bps) for x in by_invoice[invoice.id]),
        )
    for note in credit_notes.values():
        report.expect(
            0,
            f"credit note {note.number}",
            note.total_cents,
            sum(x.amount_cents + x.tax_cents for x in credit_lines if x.credit_note_id == note.id),
        )

    # 2: each invoice line's producer part is split among its suppliers, to the cent
    shares_of: dict[str, int] = defaultdict(int)
    for share in shares:
        shares_of[share.invoice_line_id] += share.producer_cents
    for line in invoice_lines:
        report.expect(
            2,
            f"invoice {invoices[line.invoice_id].number} {line.sku_id}",
            line.price_breakdown.get("producer_cents", 0),
            shares_of[line.id],
        )

    # 3: producers are paid what the documents say they get
    invoiced_producer = sum(share.producer_cents for share in shares)
    credited_producer = sum(x.price_breakdown.get("producer_cents", 0) for x in credit_lines)
    gross = sum(p.gross_cents for p in payouts.values())
    adjusted = sum(a.amount_cents for a in from_here)
    report.expect(3, "cycle", invoiced_producer - credited_producer, gross + adjusted)
    report.expect(3, "invoice shares vs payout gross", invoiced_producer, gross)
    report.expect(3, "credit notes vs adjustments", -credited_producer, adjusted)

    # 4: each payout is its lines plus the adjustments deducted in it
    for payout in payouts.values():
        mine = sum(x.amount_cents for x in payout_lines if x.payout_id == payout.id)
        deducted = sum(a.amount_cents for a in applied_here if a.payout_id == payout.id)
        subject = f"payout {payout.association_id}"
        report.expect(4, subject, payout.gross_cents, mine)
        report.expect(4, subject, payout.adjustments_cents, deducted)
        report.expect(4, subject, payout.amount_cents, payout.gross_cents + deducted)
        by_sku: dict[str, int] = defaultdict(int)
        for share in shares:
            if share.association_id == payout.association_id:
                by_sku[share.sku_id] += share.producer_cents
        paid = {x.sku_id: x.amount_cents for x in payout_lines if x.payout_id == payout.id}
        for sku_id in sorted(set(by_sku) | set(paid)):
            report.expect(4, f"{subject} {sku_id}", by_sku.get(sku_id, 0), paid.get(sku_id, 0))

    # 5: card money taken = card invoices less what credit notes refunded
    card_orders = [o.id for o in orders.values() if o.payment_method == PaymentMethod.card]
    auths = list(
        await session.scalars(
            select(PaymentAuthorization).where(col(PaymentAuthorization.order_id).in_(card_orders))
        )
    )
    taken = sum(a.captured_cents - a.refunded_cents for a in auths)
    card_invoiced = sum(
        i.total_cents for i in invoices.values() if i.payment_method == PaymentMethod.card
    )
    card_credited = sum(
        c.total_cents
        for c in credit_notes.values()
        if c.payment_method == PaymentMethod.card and c.refund_status != "not_required"
    )
    report.expect(5, "card payments", card_invoiced - card_credited, taken)
    for note in credit_notes.values():
        if note.refund_status == "pending":
            report.expect(5, f"credit note {note.number}", "refunded", note.refund_status)

    # 6: billed within what was delivered, and lot by lot
    lot_rows = (
        await session.execute(
            select(ShipmentItem.order_line_id, ShipmentLot, Lot)
            .join(ShipmentLot, col(ShipmentLot.item_id) == col(ShipmentItem.id))
            .join(Lot, col(Lot.id) == col(ShipmentLot.lot_id))
            .where(col(ShipmentItem.order_line_id).in_(list(lines)))
        )
    ).all()
    lot_billed: dict[str, Decimal] = defaultdict(Decimal)
    weighed: set[str] = set()
    for line_id, packed, _ in lot_rows:
        lot_billed[line_id] += packed.kept_billed_quantity or Decimal(0)
        if packed.weight_kg is not None:
            weighed.add(line_id)
    for order_line in lines.values():
        billed = order_line.billed_quantity
        if billed is None:
            continue
        subject = f"order line {order_line.id} ({order_line.sku_id})"
        report.expect(6, subject, lot_billed[order_line.id], billed)
        delivered = order_line.delivered_quantity or Decimal(0)
        if order_line.id not in weighed and billed > delivered:
            report.expect(6, subject, f"<= {delivered}", billed)
        if order_line.credited_quantity > billed:
            report.expect(6, subject, f"credited <= {billed}", order_line.credited_quantity)

    # 7: what each association is paid for, it delivered and the centre accepted
    accepted: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for lot in await session.scalars(select(Lot).where(Lot.cycle_id == cycle.id)):
        accepted[(lot.association_id, lot.sku_id)] += lot.accepted_quantity
    paid_for: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for share in shares:
        paid_for[(share.association_id, share.sku_id)] += share.nominal_quantity
    for key, quantity in sorted(paid_for.items()):
        if quantity > accepted[key]:
            report.expect(7, f"{key[0]} {key[1]}", f"<= {accepted[key]}", quantity)
    return report.done()


async def check(session: AsyncSession, cycle_id: str | None = None) -> list[LedgerReport]:
    """The reports of one cycle, or of every cycle that took orders (the money checks on
    settled ones)."""
    stmt = select(OrderCycle).where(OrderCycle.status != CycleStatus.scheduled)
    if cycle_id is not None:
        stmt = select(OrderCycle).where(OrderCycle.id == cycle_id)
    return [
        await check_cycle(session, cycle)
        for cycle in await session.scalars(stmt.order_by(col(OrderCycle.closes_at)))
    ]
