"""What settlement shows: invoices to their buyers and the network, payouts to their
association and the network, and CSV exports of both."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.principal import Principal
from app.brands import names
from app.core.pagination import PageParams, paginate
from app.orders import cycles
from app.settlement.credit_notes import credit_note_publics
from app.settlement.exceptions import InvoiceNotFound
from app.settlement.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Payout,
    PayoutAdjustment,
    PayoutLine,
)
from app.settlement.schemas import (
    AdjustmentPublic,
    Breakdown,
    CreditNotePublic,
    InvoiceLinePublic,
    InvoicePublic,
    PayoutLinePublic,
    PayoutPublic,
)

_credit_lines: Any = CreditNoteLine.__table__  # type: ignore[attr-defined]
EXPORT_BATCH = 500  # invoices read per query by the CSV export


def _visible_invoices(principal: Principal) -> SelectOfScalar[Invoice]:
    stmt = select(Invoice)
    if principal.is_platform_admin:
        return stmt
    mine = list(principal.roles)
    return stmt.where(or_(col(Invoice.buyer_id).in_(mine), col(Invoice.network_id).in_(mine)))


async def list_invoices(
    session: AsyncSession,
    principal: Principal,
    *,
    buyer_id: str | None,
    network_id: str | None,
    cycle_id: str | None,
    page: PageParams,
) -> tuple[list[InvoicePublic], str | None]:
    stmt = _visible_invoices(principal)
    for column, value in (
        (Invoice.buyer_id, buyer_id),
        (Invoice.network_id, network_id),
        (Invoice.cycle_id, cycle_id),
    ):
        if value is not None:
            stmt = stmt.where(col(column) == value)
    rows, cursor = await paginate(session, stmt, key=col(Invoice.id), params=page)
    return await invoice_publics(session, rows), cursor


async def iter_invoices(
    session: AsyncSession,
    principal: Principal,
    *,
    buyer_id: str | None,
    network_id: str | None,
    cycle_id: str | None,
    batch: int = EXPORT_BATCH,
) -> AsyncIterator[InvoicePublic]:
    """Every invoice of the list's filters, in the list's order, read a batch at a time (a
    constant number of queries per batch): what the CSV export streams."""
    page = PageParams(limit=batch)
    while True:
        items, cursor = await list_invoices(
            session,
            principal,
            buyer_id=buyer_id,
            network_id=network_id,
            cycle_id=cycle_id,
            page=page,
        )
        for item in items:
            yield item
        if cursor is None:
            return
        page = PageParams(limit=batch, cursor=cursor)


async def visible_invoice(session: AsyncSession, principal: Principal, invoice_id: str) -> Invoice:
    """The invoice, to its buyer and its network; 404 to everyone else."""
    invoice = await session.scalar(_visible_invoices(principal).where(Invoice.id == invoice_id))
    if invoice is None:
        raise InvoiceNotFound()
    return invoice


async def get_invoice(
    session: AsyncSession, principal: Principal, invoice_id: str
) -> InvoicePublic:
    invoice = await visible_invoice(session, principal, invoice_id)
    return (await invoice_publics(session, [invoice]))[0]


async def invoice_publics(
    session: AsyncSession, invoices: Sequence[Invoice]
) -> list[InvoicePublic]:
    lines: dict[str, list[InvoiceLinePublic]] = {i.id: [] for i in invoices}
    notes: dict[str, list[CreditNote]] = {i.id: [] for i in invoices}
    for note in await session.scalars(
        select(CreditNote)
        .where(col(CreditNote.invoice_id).in_(list(lines)))
        .order_by(col(CreditNote.sequence))
    ):
        notes[note.invoice_id].append(note)
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for line_id, quantity in await session.execute(
        sa.select(_credit_lines.c.invoice_line_id, _credit_lines.c.quantity).where(
            _credit_lines.c.credit_note_id.in_([n.id for ns in notes.values() for n in ns])
        )
    ):
        credited[line_id] += quantity
    found = (
        await session.scalars(
            select(InvoiceLine)
            .where(col(InvoiceLine.invoice_id).in_(list(lines)))
            .order_by(col(InvoiceLine.sku_id))
        )
    ).all()
    sku_names = await names.skus(session, (line.sku_id for line in found))
    orgs = await names.organizations(
        session, [i.buyer_id for i in invoices] + [i.network_id for i in invoices]
    )
    for line in found:
        lines[line.invoice_id].append(
            InvoiceLinePublic(
                sku_id=line.sku_id,
                sku_name=sku_names.get(line.sku_id, ""),
                quantity=line.quantity,
                nominal_quantity=line.nominal_quantity,
                weighed=line.weighed,
                credited_quantity=credited.get(line.id, Decimal(0)),
                unit_price_cents=line.unit_price_cents,
                amount_cents=line.amount_cents,
                tax_rate_bps=line.tax_rate_bps,
                tax_cents=line.tax_cents,
                price_breakdown=Breakdown.model_validate(line.price_breakdown),
            )
        )
    return [
        InvoicePublic(
            id=i.id,
            number=i.number,
            network_id=i.network_id,
            network_name=orgs.get(i.network_id, names.UNKNOWN_ORG).name,
            cycle_id=i.cycle_id,
            buyer_id=i.buyer_id,
            buyer_name=orgs.get(i.buyer_id, names.UNKNOWN_ORG).name,
            order_id=i.order_id,
            issued_at=i.issued_at,
            due_on=i.due_on,
            currency=i.currency,
            payment_method=i.payment_method,
            purchase_order_number=i.purchase_order_number,
            total_cents=i.total_cents,
            subtotal_cents=i.total_cents - i.tax_cents,
            tax_cents=i.tax_cents,
            lines=lines[i.id],
            price_breakdown=Breakdown.model_validate(i.price_breakdown),
            credited_cents=sum(n.total_cents for n in notes[i.id]),
            credit_notes=[n.number for n in notes[i.id]],
        )
        for i in invoices
    ]


async def list_payouts(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> list[PayoutPublic]:
    """The network sees every payout of the cycle; an association sees its own."""
    cycle = await cycles.get_cycle(session, cycle_id)
    stmt = select(Payout).where(Payout.cycle_id == cycle.id)
    if not principal.is_member(cycle.network_id):
        stmt = stmt.where(col(Payout.association_id).in_(list(principal.roles)))
    payouts = (await session.scalars(stmt.order_by(col(Payout.association_id)))).all()
    lines: dict[str, list[PayoutLinePublic]] = {p.id: [] for p in payouts}
    found = (
        await session.scalars(
            select(PayoutLine)
            .where(col(PayoutLine.payout_id).in_(list(lines)))
            .order_by(col(PayoutLine.sku_id))
        )
    ).all()
    sku_names = await names.skus(session, (line.sku_id for line in found))
    products = await names.products(session, (line.product_id for line in found))
    orgs = await names.organizations(session, (p.association_id for p in payouts))
    for line in found:
        lines[line.payout_id].append(
            PayoutLinePublic(
                sku_id=line.sku_id,
                sku_name=sku_names.get(line.sku_id, ""),
                product_id=line.product_id,
                product_name=products.get(line.product_id, ""),
                product_version=line.product_version,
                quantity=line.quantity,
                nominal_quantity=line.nominal_quantity,
                producer_price_cents=line.producer_price_cents,
                amount_cents=line.amount_cents,
                price_breakdown=Breakdown.model_validate(line.price_breakdown),
            )
        )
    adjustments: dict[str, list[AdjustmentPublic]] = {p.id: [] for p in payouts}
    for adjustment in await session.scalars(
        select(PayoutAdjustment)
        .where(col(PayoutAdjustment.payout_id).in_(list(adjustments)))
        .order_by(col(PayoutAdjustment.created_at))
    ):
        assert adjustment.payout_id is not None
        adjustments[adjustment.payout_id].append(
            AdjustmentPublic(
                id=adjustment.id,
                origin_cycle_id=adjustment.origin_cycle_id,
                credit_note_id=adjustment.credit_note_id,
                amount_cents=adjustment.amount_cents,
                reason=adjustment.reason,
            )
        )
    return [
        PayoutPublic(
            id=p.id,
            cycle_id=p.cycle_id,
            association_id=p.association_id,
            association_name=orgs.get(p.association_id, names.UNKNOWN_ORG).name,
            parish=orgs.get(p.association_id, names.UNKNOWN_ORG).parish,
            currency=p.currency,
            amount_cents=p.amount_cents,
            gross_cents=p.gross_cents,
            adjustments_cents=p.adjustments_cents,
            lines=lines[p.id],
            adjustments=adjustments[p.id],
        )
        for p in payouts
    ]


async def credit_notes_of(
    session: AsyncSession, principal: Principal, invoice_id: str
) -> list[CreditNotePublic]:
    invoice = await session.scalar(_visible_invoices(principal).where(Invoice.id == invoice_id))
    if invoice is None:
        raise InvoiceNotFound()
    notes = list(
        await session.scalars(
            select(CreditNote)
            .where(CreditNote.invoice_id == invoice.id)
            .order_by(col(CreditNote.sequence))
        )
    )
    return await credit_note_publics(session, notes)
