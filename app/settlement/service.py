"""Settling a cycle: capture card payments at the final amount, invoice every buyer with
gapless numbers per network, and write each association's payout statement.

Captures run first, one order per transaction, so that no row stays locked while Stripe is
called and a settle that failed half-way resumes where it stopped (captures are idempotent).
The books (invoices, payouts, the state change) are then written in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts.models import Organization, Role
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine
from app.brands import pricing
from app.brands.models import BrandSku
from app.core.config import Settings
from app.core.db import transaction
from app.core.money import cents_times, split_largest_remainder
from app.orders import cycles
from app.orders.exceptions import CycleNotFound
from app.orders.models import CycleStatus, Order, OrderCycle, OrderLine, OrderStatus, PaymentMethod
from app.payments import service as payments
from app.payments.models import PaymentAuthorization
from app.settlement.exceptions import CycleNotClosed
from app.settlement.models import Invoice, InvoiceCounter, InvoiceLine, Payout, PayoutLine
from app.settlement.schemas import SettlementResult

PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")
SETTLED_ORDERS = (OrderStatus.confirmed, OrderStatus.delivered)
_counters: Any = InvoiceCounter.__table__  # type: ignore[attr-defined]


def unit_breakdown(sku: BrandSku, unit_price_cents: int) -> dict[str, int]:
    parts = pricing.breakdown(
        unit_price_cents,
        producer_price_cents=sku.producer_price_cents,
        solidarity_fund_bps=sku.solidarity_fund_bps,
        logistics_share_bps=sku.logistics_share_bps,
    )
    return {name: getattr(parts, name) for name in PARTS}


def split_amount(amount_cents: int, unit: dict[str, int]) -> dict[str, int]:
    """Split a line's amount like its unit price splits; the parts sum to the amount."""
    shares = split_largest_remainder(amount_cents, [unit[name] for name in PARTS])
    return dict(zip(PARTS, shares, strict=True))


def billed_quantity(line: OrderLine) -> Decimal:
    """What the buyer pays for: real weight, else what was delivered, else confirmed."""
    for value in (line.billed_quantity, line.delivered_quantity, line.confirmed_quantity):
        if value is not None:
            return value
    return Decimal(0)


def line_amount(line: OrderLine) -> int:
    price = line.final_unit_price_cents or line.unit_price_cents
    return cents_times(price, billed_quantity(line))


async def _orders(
    session: AsyncSession, cycle_id: str
) -> tuple[list[Order], dict[str, list[OrderLine]]]:
    orders = list(
        await session.scalars(
            select(Order)
            .where(Order.cycle_id == cycle_id, col(Order.status).in_(SETTLED_ORDERS))
            .order_by(col(Order.id))
        )
    )
    lines: dict[str, list[OrderLine]] = {o.id: [] for o in orders}
    for line in await session.scalars(
        select(OrderLine)
        .where(col(OrderLine.order_id).in_(list(lines)))
        .order_by(col(OrderLine.sku_id))
    ):
        lines[line.order_id].append(line)
    return orders, lines


async def settleable_cycle(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> OrderCycle:
    cycle = await cycles.get_cycle(session, cycle_id)
    principal.require_member(cycle.network_id, Role.admin, not_found=CycleNotFound)
    if cycle.status not in (CycleStatus.closed, CycleStatus.settled):
        raise CycleNotClosed(f"The cycle is {cycle.status}")
    return cycle


async def capture_payments(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, cycle_id: str
) -> None:
    """Capture each card order at its final amount (refunding any excess already taken)."""
    async with transaction(sessionmaker, write=False) as session:
        orders, lines = await _orders(session, cycle_id)
        due = [
            (o.id, sum(line_amount(line) for line in lines[o.id]))
            for o in orders
            if o.payment_method == PaymentMethod.card
        ]
    for order_id, amount in due:
        async with transaction(sessionmaker) as session:
            await payments.capture_for_order(session, settings, order_id, amount)


async def _next_invoice_number(session: AsyncSession, network_id: str) -> int:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(_counters)
        .values(network_id=network_id, last_number=0)
        .on_conflict_do_nothing(index_elements=[_counters.c.network_id])
    )
    result = await session.execute(
        update(_counters)
        .where(_counters.c.network_id == network_id)
        .values(last_number=_counters.c.last_number + 1)
        .returning(_counters.c.last_number)
    )
    return int(result.scalar_one())


async def settle_books(
    session: AsyncSession, cycle: OrderCycle, *, now: datetime
) -> SettlementResult:
    """Invoices and payouts, once: settling again changes nothing."""
    if cycle.status == CycleStatus.closed and await cycles.transition(
        session, cycle.id, CycleStatus.closed, CycleStatus.settled, now
    ):
        await _write_invoices(session, cycle, now=now)
        await _write_payouts(session, cycle)
        cycles.event(session, "cycle.settled", cycle_id=cycle.id)
        await session.flush()
    await session.refresh(cycle)
    return await settlement_result(session, cycle)


async def _write_invoices(session: AsyncSession, cycle: OrderCycle, *, now: datetime) -> None:
    orders, lines = await _orders(session, cycle.id)
    sku_ids = {line.sku_id for ls in lines.values() for line in ls}
    skus = {
        s.id: s
        for s in await session.scalars(select(BrandSku).where(col(BrandSku.id).in_(sku_ids)))
    }
    buyers = {
        b.id: b
        for b in await session.scalars(
            select(Organization).where(col(Organization.id).in_({o.buyer_id for o in orders}))
        )
    }
    terms = {
        a.order_id: a.due_in_days
        for a in await session.scalars(
            select(PaymentAuthorization).where(
                col(PaymentAuthorization.order_id).in_([o.id for o in orders])
            )
        )
    }
    for order in orders:
        invoice_lines = []
        totals = dict.fromkeys(PARTS, 0)
        for line in lines[order.id]:
            price = line.final_unit_price_cents or line.unit_price_cents
            amount = line_amount(line)
            parts = split_amount(amount, unit_breakdown(skus[line.sku_id], price))
            for name in PARTS:
                totals[name] += parts[name]
            invoice_lines.append(
                InvoiceLine(
                    invoice_id="",
                    sku_id=line.sku_id,
                    quantity=billed_quantity(line),
                    unit_price_cents=price,
                    amount_cents=amount,
                    price_breakdown=parts,
                )
            )
        if order.payment_method == PaymentMethod.invoice:
            days = terms.get(order.id) or buyers[order.buyer_id].payment_terms_days or 30
        else:
            days = 0  # paid by card or cash at delivery
        sequence = await _next_invoice_number(session, cycle.network_id)
        invoice = Invoice(
            network_id=cycle.network_id,
            cycle_id=cycle.id,
            buyer_id=order.buyer_id,
            order_id=order.id,
            sequence=sequence,
            number=f"{cycle.delivery_date.year}-{sequence:06d}",
            issued_at=now,
            due_on=cycle.delivery_date + timedelta(days=days),
            currency=order.currency,
            payment_method=order.payment_method,
            purchase_order_number=order.purchase_order_number,
            total_cents=sum(line.amount_cents for line in invoice_lines),
            price_breakdown=totals,
        )
        session.add(invoice)
        for invoice_line in invoice_lines:
            invoice_line.invoice_id = invoice.id
            session.add(invoice_line)
    await session.flush()


async def _write_payouts(session: AsyncSession, cycle: OrderCycle) -> None:
    rows = (
        await session.execute(
            select(DeliveryOrder, DeliveryOrderLine)
            .join(
                DeliveryOrderLine, col(DeliveryOrderLine.delivery_order_id) == col(DeliveryOrder.id)
            )
            .where(DeliveryOrder.cycle_id == cycle.id)
            .order_by(col(DeliveryOrder.association_id), col(DeliveryOrderLine.sku_id))
        )
    ).all()
    skus = {
        s.id: s
        for s in await session.scalars(
            select(BrandSku).where(col(BrandSku.id).in_({line.sku_id for _, line in rows}))
        )
    }
    final_price = await _final_prices(session, cycle.id)
    by_association: dict[str, list[DeliveryOrderLine]] = defaultdict(list)
    for delivery_order, line in rows:
        by_association[delivery_order.association_id].append(line)
    for association_id, delivery_lines in by_association.items():
        payout_lines = []
        for line in delivery_lines:
            quantity = (
                line.supplied_quantity if line.supplied_quantity is not None else line.quantity
            )
            sku = skus[line.sku_id]
            payout_lines.append(
                PayoutLine(
                    payout_id="",
                    sku_id=line.sku_id,
                    product_id=line.product_id,
                    product_version=line.product_version,
                    quantity=quantity,
                    producer_price_cents=line.producer_price_cents,
                    amount_cents=cents_times(line.producer_price_cents, quantity),
                    price_breakdown=unit_breakdown(
                        sku, final_price.get(sku.id, line.producer_price_cents)
                    ),
                )
            )
        payout = Payout(
            cycle_id=cycle.id,
            network_id=cycle.network_id,
            association_id=association_id,
            currency=cycle.currency,
            amount_cents=sum(p.amount_cents for p in payout_lines),
        )
        session.add(payout)
        for payout_line in payout_lines:
            payout_line.payout_id = payout.id
            session.add(payout_line)
    await session.flush()


async def _final_prices(session: AsyncSession, cycle_id: str) -> dict[str, int]:
    """Each SKU's final tier price in the cycle (the lowest final price of its lines)."""
    prices: dict[str, int] = {}
    _, lines = await _orders(session, cycle_id)
    for line in (line for ls in lines.values() for line in ls):
        price = line.final_unit_price_cents or line.unit_price_cents
        prices[line.sku_id] = min(prices.get(line.sku_id, price), price)
    return prices


async def settlement_result(session: AsyncSession, cycle: OrderCycle) -> SettlementResult:
    invoices = (await session.scalars(select(Invoice).where(Invoice.cycle_id == cycle.id))).all()
    payouts = (await session.scalars(select(Payout).where(Payout.cycle_id == cycle.id))).all()
    auths = (
        await session.scalars(
            select(PaymentAuthorization).where(
                col(PaymentAuthorization.order_id).in_([i.order_id for i in invoices])
            )
        )
    ).all()
    return SettlementResult(
        cycle_id=cycle.id,
        status=cycle.status,
        invoices=len(invoices),
        invoiced_cents=sum(i.total_cents for i in invoices),
        payouts=len(payouts),
        paid_out_cents=sum(p.amount_cents for p in payouts),
        captured_cents=sum(a.captured_cents for a in auths),
        refunded_cents=sum(a.refunded_cents for a in auths),
    )
