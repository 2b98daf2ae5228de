"""Credit notes: what an invoice takes back after settlement (a return found later).

Named rule: crediting ``q`` of a line billed ``B`` (of which ``C`` was credited before)
takes back ``amount(B - C) - amount(B - C - q)``, and its parts and producer shares the
same way (each recomputed by the rules the invoice used, then differenced), so an invoice
and its credit notes always add up to what billing the kept quantity would have given. The
associations' producer shares come back as adjustments deducted from their next payout; a
card order is refunded after the note is stored (``app.flows.settlement``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.brands import names, taxes
from app.brands.models import BrandSku
from app.core.money import cents_times
from app.events import service as events
from app.orders import lifecycle
from app.orders.models import Order, OrderLine, PaymentMethod
from app.settlement.exceptions import InvalidCreditNote, InvoiceNotCreditable, InvoiceNotFound
from app.settlement.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    InvoiceLineShare,
    PayoutAdjustment,
)
from app.settlement.schemas import (
    Breakdown,
    CreditNoteCreate,
    CreditNoteLinePublic,
    CreditNotePublic,
)
from app.settlement.service import (
    PARTS,
    next_credit_number,
    split_amount,
    split_producer,
    unit_breakdown,
)


def _parts(sku: BrandSku, price: int, quantity: Decimal) -> dict[str, int]:
    return split_amount(cents_times(price, quantity), unit_breakdown(sku, price))


async def issue(
    session: AsyncSession,
    principal: Principal,
    invoice_id: str,
    data: CreditNoteCreate,
    *,
    now: datetime,
) -> CreditNote:
    invoice = await session.get(Invoice, invoice_id, with_for_update=True)
    if invoice is None or not principal.is_member(invoice.network_id, Role.admin):
        raise InvoiceNotFound()
    invoice_lines = {
        line.sku_id: line
        for line in await session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
        )
    }
    order = await session.get(Order, invoice.order_id)
    assert order is not None
    order_lines = {
        line.id: line
        for line in await session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).with_for_update()
        )
    }
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, asked in enumerate(data.lines):
        here = f"lines[{i}]"
        line = invoice_lines.get(asked.sku_id)
        if asked.sku_id in seen:
            errors.append({"field": f"{here}.sku_id", "detail": "one line per SKU"})
        seen.add(asked.sku_id)
        if line is None or line.order_line_id not in order_lines:
            errors.append({"field": f"{here}.sku_id", "detail": "not a line of this invoice"})
            continue
        left = lifecycle.net_quantity(order_lines[line.order_line_id])
        if asked.quantity > left:
            errors.append({"field": f"{here}.quantity", "detail": f"only {left} is left to credit"})
    if errors:
        problem = (
            InvoiceNotCreditable
            if all("left to credit" in e["detail"] for e in errors)
            else InvalidCreditNote
        )
        raise problem(errors[0]["detail"], errors=errors)

    skus = {
        s.id: s
        for s in await session.scalars(
            select(BrandSku).where(col(BrandSku.id).in_([x.sku_id for x in data.lines]))
        )
    }
    shares: dict[str, list[InvoiceLineShare]] = defaultdict(list)
    for share in await session.scalars(
        select(InvoiceLineShare)
        .where(InvoiceLineShare.invoice_id == invoice.id)
        .order_by(col(InvoiceLineShare.association_id))
    ):
        shares[share.invoice_line_id].append(share)

    sequence = await next_credit_number(session, invoice.network_id)
    note = CreditNote(
        network_id=invoice.network_id,
        cycle_id=invoice.cycle_id,
        invoice_id=invoice.id,
        order_id=invoice.order_id,
        buyer_id=invoice.buyer_id,
        sequence=sequence,
        number=f"NC-{now.year}-{sequence:06d}",
        issued_at=now,
        issued_by_user_id=principal.user_id,
        currency=invoice.currency,
        payment_method=invoice.payment_method,
        total_cents=0,
        price_breakdown=dict.fromkeys(PARTS, 0),
        refund_status="pending" if invoice.payment_method == PaymentMethod.card else "not_required",
    )
    session.add(note)
    totals = dict.fromkeys(PARTS, 0)
    tax_total = 0
    back: dict[str, int] = defaultdict(int)  # producer cents per association
    credited: list[tuple[OrderLine, Decimal]] = []
    for asked in data.lines:
        line = invoice_lines[asked.sku_id]
        order_line = order_lines[line.order_line_id or ""]
        sku = skus[asked.sku_id]
        before_q = lifecycle.net_quantity(order_line)
        after_q = before_q - asked.quantity
        before = _parts(sku, line.unit_price_cents, before_q)
        after = _parts(sku, line.unit_price_cents, after_q)
        parts = {name: before[name] - after[name] for name in PARTS}
        for name in PARTS:
            totals[name] += parts[name]
        tax = taxes.line_tax(sum(before.values()), line.tax_rate_bps) - taxes.line_tax(
            sum(after.values()), line.tax_rate_bps
        )
        tax_total += tax
        session.add(
            CreditNoteLine(
                credit_note_id=note.id,
                invoice_line_id=line.id,
                sku_id=asked.sku_id,
                quantity=asked.quantity,
                unit_price_cents=line.unit_price_cents,
                amount_cents=sum(parts.values()),
                tax_cents=tax,
                price_breakdown=parts,
                reason=asked.reason,
            )
        )
        suppliers = shares[line.id]
        weights = [s.quantity for s in suppliers]
        had = split_producer(before["producer_cents"], weights)
        keep = split_producer(after["producer_cents"], weights)
        for supplier, a, b in zip(suppliers, had, keep, strict=True):
            back[supplier.association_id] += a - b
        credited.append((order_line, asked.quantity))
    note.total_cents = sum(totals.values()) + tax_total
    note.price_breakdown = totals
    reasons = "; ".join(sorted({x.reason for x in data.lines}))
    for association_id, cents in sorted(back.items()):
        if cents:
            session.add(
                PayoutAdjustment(
                    network_id=invoice.network_id,
                    association_id=association_id,
                    origin_cycle_id=invoice.cycle_id,
                    credit_note_id=note.id,
                    amount_cents=-cents,
                    reason=f"credit note {note.number} on invoice {invoice.number}: {reasons}",
                )
            )
    lifecycle.credit(
        session,
        order,
        credited,
        credit_note_id=note.id,
        number=note.number,
        amount_cents=note.total_cents,
        actor=principal,
        now=now,
    )
    await session.flush()
    await events.emit(
        session,
        "credit_note.issued",
        key=note.id,
        audience=[invoice.buyer_id, invoice.network_id],
        payload={
            "credit_note_id": note.id,
            "number": note.number,
            "invoice_id": invoice.id,
            "invoice_number": invoice.number,
            "buyer_id": invoice.buyer_id,
            "cycle_id": invoice.cycle_id,
            "currency": note.currency,
            "total_cents": note.total_cents,
            "refund_status": note.refund_status,
            "issued_at": note.issued_at,
        },
    )
    return note


async def credited_of_order(session: AsyncSession, order_id: str) -> int:
    rows = await session.scalars(
        select(CreditNote.total_cents).where(CreditNote.order_id == order_id)
    )
    return sum(rows)


async def mark_refunded(session: AsyncSession, order_id: str) -> None:
    for note in await session.scalars(
        select(CreditNote).where(
            CreditNote.order_id == order_id, CreditNote.refund_status == "pending"
        )
    ):
        note.refund_status = "refunded"
    await session.flush()


async def credit_note_publics(
    session: AsyncSession, notes: list[CreditNote]
) -> list[CreditNotePublic]:
    """Credit notes with their lines, invoice numbers and names, in four queries."""
    lines: dict[str, list[CreditNoteLinePublic]] = {n.id: [] for n in notes}
    found = (
        await session.scalars(
            select(CreditNoteLine)
            .where(col(CreditNoteLine.credit_note_id).in_(list(lines)))
            .order_by(col(CreditNoteLine.sku_id))
        )
    ).all()
    sku_names = await names.skus(session, (line.sku_id for line in found))
    buyers = await names.organizations(session, (n.buyer_id for n in notes))
    for line in found:
        lines[line.credit_note_id].append(
            CreditNoteLinePublic(
                sku_id=line.sku_id,
                sku_name=sku_names.get(line.sku_id, ""),
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                amount_cents=line.amount_cents,
                tax_cents=line.tax_cents,
                price_breakdown=Breakdown.model_validate(line.price_breakdown),
                reason=line.reason,
            )
        )
    numbers = dict(
        (
            await session.execute(
                select(Invoice.id, Invoice.number).where(
                    col(Invoice.id).in_({n.invoice_id for n in notes})
                )
            )
        ).all()
    )
    return [
        CreditNotePublic(
            id=n.id,
            number=n.number,
            invoice_id=n.invoice_id,
            invoice_number=numbers[n.invoice_id],
            cycle_id=n.cycle_id,
            buyer_id=n.buyer_id,
            buyer_name=buyers.get(n.buyer_id, names.UNKNOWN_ORG).name,
            order_id=n.order_id,
            issued_at=n.issued_at,
            currency=n.currency,
            total_cents=n.total_cents,
            price_breakdown=Breakdown.model_validate(n.price_breakdown),
            refund_status=n.refund_status,
            lines=lines[n.id],
        )
        for n in notes
    ]
