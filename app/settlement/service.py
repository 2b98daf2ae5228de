"""Settling a cycle, once its goods are in: capture card payments at the final amount,
invoice every buyer with gapless numbers per network, and pay each association.

Named rules, used on every document: a line costs ``orders.lifecycle.line_amount`` (its
unit price times its billed quantity); that amount is split into producer, logistics,
network and fund parts like the unit price splits (largest remainder, once); the producer
part is split among the associations whose lots filled the line, by the billed quantity of
their lots (largest remainder, once), and stored as the line's shares. Payouts add up the
shares, so what invoices say producers get is what payouts pay, to the cent.

Captures run first, one order per transaction (``app.flows.settlement`` orders the steps),
so a settle that failed half-way resumes where it stopped (captures are idempotent). The
books (invoices, payouts, the state change) are then written in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization, Role
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder
from app.brands import names, pricing, taxes
from app.brands.models import BrandSku
from app.core.i18n import _l
from app.core.money import split_largest_remainder
from app.fulfilment.consolidation import milli
from app.fulfilment.models import Lot, Shipment, ShipmentItem, ShipmentLot, ShipmentStatus
from app.orders import cycles, lifecycle
from app.orders.exceptions import CycleNotFound
from app.orders.models import CycleStatus, Order, OrderCycle, OrderLine, OrderStatus, PaymentMethod
from app.payments.models import PaymentAuthorization
from app.settlement.exceptions import CycleNotClosed, CycleNotReady
from app.settlement.models import (
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    InvoiceLineShare,
    Payout,
    PayoutAdjustment,
    PayoutLine,
)
from app.settlement.schemas import PaymentNeeded, SettlementResult

PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")
# orders whose goods reached the buyer are invoiced; those whose shipment failed are not
INVOICED_ORDERS = (OrderStatus.delivered,)
SETTLED_ORDERS = (OrderStatus.confirmed, OrderStatus.delivered, OrderStatus.not_delivered)
SETTLEABLE = (CycleStatus.closed, CycleStatus.settling, CycleStatus.settled)
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
    if amount_cents == 0:
        return dict.fromkeys(PARTS, 0)
    shares = split_largest_remainder(amount_cents, [unit[name] for name in PARTS])
    return dict(zip(PARTS, shares, strict=True))


def split_producer(producer_cents: int, weights: Sequence[Decimal]) -> list[int]:
    """The producer part of a line among its suppliers, by their lots' billed quantity."""
    if producer_cents == 0 or not any(weights):
        return [0] * len(weights)
    return split_largest_remainder(producer_cents, [milli(w) for w in weights])


async def _orders(
    session: AsyncSession, cycle_id: str, statuses: Sequence[str] = SETTLED_ORDERS
) -> tuple[list[Order], dict[str, list[OrderLine]]]:
    orders = list(
        await session.scalars(
            select(Order)
            .where(Order.cycle_id == cycle_id, col(Order.status).in_(statuses))
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
    if cycle.status not in SETTLEABLE:
        raise CycleNotClosed(_l("The cycle is {status}", status=cycle.status))
    return cycle


async def cycle_to_settle(
    session: AsyncSession, principal: Principal | None, cycle_id: str
) -> OrderCycle:
    """The cycle for the network's admin, or for Minga itself resuming a settlement."""
    if principal is not None:
        return await settleable_cycle(session, principal, cycle_id)
    return await cycles.get_cycle(session, cycle_id)


async def start(session: AsyncSession, cycle: OrderCycle, *, now: datetime) -> None:
    """Mark the settlement as begun: from here it is finished by whoever comes next (a
    retry, another worker, the next start), never left half done."""
    if cycle.status == CycleStatus.closed:
        await cycles.transition(session, cycle.id, CycleStatus.closed, CycleStatus.settling, now)


async def settling_cycles(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(OrderCycle.id).where(OrderCycle.status == CycleStatus.settling)
        )
    )


async def readiness(session: AsyncSession, cycle: OrderCycle) -> list[dict[str, Any]]:
    """What still stands between the cycle and its settlement: delivery orders with no
    receipt, confirmed orders not packed, shipments neither delivered nor failed."""
    errors: list[dict[str, Any]] = []
    delivery_orders = (
        await session.execute(
            select(DeliveryOrder.id, DeliveryOrder.association_id, Organization.name)
            .join(Organization, col(Organization.id) == col(DeliveryOrder.association_id))
            .where(DeliveryOrder.cycle_id == cycle.id)
            .order_by(col(Organization.name), col(DeliveryOrder.id))
        )
    ).all()
    received = set(
        await session.scalars(
            select(Lot.delivery_order_id).where(Lot.cycle_id == cycle.id).distinct()
        )
    )
    for delivery_order_id, association_id, name in delivery_orders:
        if delivery_order_id not in received:
            errors.append(
                {
                    "rule": "receipt_missing",
                    "delivery_order_id": delivery_order_id,
                    "association_id": association_id,
                    "detail": _l("nothing received yet from {name}", name=name),
                }
            )
    confirmed = list(
        await session.scalars(
            select(Order.id).where(
                Order.cycle_id == cycle.id, Order.status == OrderStatus.confirmed
            )
        )
    )
    packed = set(
        await session.scalars(
            select(ShipmentItem.order_id)
            .join(Shipment, col(Shipment.id) == col(ShipmentItem.shipment_id))
            .where(Shipment.cycle_id == cycle.id)
            .distinct()
        )
    )
    unpacked = [oid for oid in confirmed if oid not in packed]
    if unpacked:
        errors.append(
            {
                "rule": "shipments_not_built",
                "order_ids": unpacked,
                "detail": _l("{n} confirmed orders are in no shipment yet", n=len(unpacked)),
            }
        )
    open_shipments = (
        await session.execute(
            select(Shipment.id, Shipment.buyer_id, Organization.name)
            .join(Organization, col(Organization.id) == col(Shipment.buyer_id))
            .where(Shipment.cycle_id == cycle.id, Shipment.status == ShipmentStatus.packed)
            .order_by(col(Organization.name), col(Shipment.id))
        )
    ).all()
    for shipment_id, buyer_id, name in open_shipments:
        errors.append(
            {
                "rule": "shipment_not_delivered",
                "shipment_id": shipment_id,
                "buyer_id": buyer_id,
                "detail": _l(
                    "the shipment for {name} is neither delivered nor marked failed", name=name
                ),
            }
        )
    return errors


async def ensure_ready(session: AsyncSession, cycle: OrderCycle) -> None:
    if cycle.status != CycleStatus.closed:
        return
    errors = await readiness(session, cycle)
    if errors:
        raise CycleNotReady(
            _l(
                "{n} things to finish before settling: {first}",
                n=len(errors),
                first=errors[0]["detail"],
            ),
            errors=errors,
        )


async def card_amounts(session: AsyncSession, cycle_id: str) -> list[tuple[str, int]]:
    """What each card order of the cycle is captured at: its billed total with its taxes,
    as its invoice will say (0 releases a hold whose shipment failed). Orders whose card
    cannot be charged are left out."""
    cycle = await cycles.get_cycle(session, cycle_id)
    orders, lines = await _orders(session, cycle_id)
    rate_of = await _tax_rates(session, cycle.network_id, lines.values())
    return [
        (
            o.id,
            sum(
                lifecycle.line_amount(x) + taxes.line_tax(lifecycle.line_amount(x), rate_of(x))
                for x in lines[o.id]
            )
            if o.status in INVOICED_ORDERS
            else 0,
        )
        for o in orders
        if o.payment_method == PaymentMethod.card and o.payment_issue is None
    ]


async def _tax_rates(
    session: AsyncSession, network_id: str, lines: Iterable[Sequence[OrderLine]]
) -> Callable[[OrderLine], int]:
    """The tax rate of each order line: its network's for its SKU's category."""
    sku_ids = {line.sku_id for ls in lines for line in ls}
    category = dict(
        (
            await session.execute(
                select(BrandSku.id, BrandSku.category).where(col(BrandSku.id).in_(sku_ids))
            )
        ).all()
    )
    by_category = await taxes.rates(session, network_id, set(category.values()))
    return lambda line: by_category.get(category[line.sku_id], 0)


async def payment_needed(session: AsyncSession, order_id: str, reason: str) -> None:
    order = await session.get(Order, order_id, with_for_update=True)
    if order is not None:
        lifecycle.payment_needed(session, order, reason=reason)
        await session.flush()


async def _next_number(session: AsyncSession, network_id: str, column: str) -> int:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(_counters)
        .values(network_id=network_id, last_number=0, last_credit_number=0)
        .on_conflict_do_nothing(index_elements=[_counters.c.network_id])
    )
    counter = _counters.c[column]
    result = await session.execute(
        update(_counters)
        .where(_counters.c.network_id == network_id)
        .values({column: counter + 1})
        .returning(counter)
    )
    return int(result.scalar_one())


async def next_invoice_number(session: AsyncSession, network_id: str) -> int:
    return await _next_number(session, network_id, "last_number")


async def next_credit_number(session: AsyncSession, network_id: str) -> int:
    return await _next_number(session, network_id, "last_credit_number")


async def settle_books(
    session: AsyncSession, cycle: OrderCycle, *, now: datetime
) -> SettlementResult:
    """Invoices and payouts, once: settling again changes nothing."""
    if cycle.status == CycleStatus.settling and await cycles.transition(
        session, cycle.id, CycleStatus.settling, CycleStatus.settled, now
    ):
        await _write_invoices(session, cycle, now=now)
        await _write_payouts(session, cycle)
        cycles.event(session, "cycle.settled", cycle_id=cycle.id)
        await session.flush()
    await session.refresh(cycle)
    return await settlement_result(session, cycle)


@dataclass(frozen=True)
class Supplied:
    """One association's part of one order line: from the lots it packed."""

    association_id: str
    product_id: str
    product_version: int
    billed: Decimal
    nominal: Decimal


async def suppliers_of_lines(
    session: AsyncSession, line_ids: Sequence[str]
) -> dict[str, list[Supplied]]:
    """Who filled each order line, from its packed lots (one query), by association."""
    rows = await session.execute(
        select(ShipmentItem.order_line_id, ShipmentLot, Lot)
        .join(ShipmentLot, col(ShipmentLot.item_id) == col(ShipmentItem.id))
        .join(Lot, col(Lot.id) == col(ShipmentLot.lot_id))
        .where(col(ShipmentItem.order_line_id).in_(list(line_ids)))
        .order_by(col(Lot.association_id), col(Lot.id))
    )
    parts: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for line_id, packed, lot in rows:
        billed = (
            packed.kept_billed_quantity
            if packed.kept_billed_quantity is not None
            else packed.quantity
        )
        nominal = packed.kept_quantity if packed.kept_quantity is not None else packed.quantity
        entry = parts[line_id].setdefault(
            lot.association_id, [lot.product_id, lot.product_version, Decimal(0), Decimal(0)]
        )
        entry[2] += billed
        entry[3] += nominal
    return {
        line_id: [
            Supplied(association_id, product_id, version, billed, nominal)
            for association_id, (product_id, version, billed, nominal) in sorted(by.items())
        ]
        for line_id, by in parts.items()
    }


async def _write_invoices(session: AsyncSession, cycle: OrderCycle, *, now: datetime) -> None:
    orders, lines = await _orders(session, cycle.id, INVOICED_ORDERS)
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
    suppliers = await suppliers_of_lines(session, [x.id for ls in lines.values() for x in ls])
    rate_of = await _tax_rates(session, cycle.network_id, lines.values())
    for order in orders:
        sequence = await next_invoice_number(session, cycle.network_id)
        invoice = Invoice(
            network_id=cycle.network_id,
            cycle_id=cycle.id,
            buyer_id=order.buyer_id,
            order_id=order.id,
            sequence=sequence,
            number=f"{cycle.delivery_date.year}-{sequence:06d}",
            issued_at=now,
            due_on=cycle.delivery_date,
            currency=order.currency,
            # a card that could not be charged: the buyer pays this invoice on terms
            payment_method=PaymentMethod.invoice if order.payment_issue else order.payment_method,
            purchase_order_number=order.purchase_order_number,
            total_cents=0,
            price_breakdown=dict.fromkeys(PARTS, 0),
        )
        if invoice.payment_method == PaymentMethod.invoice:
            days = terms.get(order.id) or buyers[order.buyer_id].payment_terms_days or 30
            invoice.due_on = cycle.delivery_date + timedelta(days=days)
        session.add(invoice)
        totals = dict.fromkeys(PARTS, 0)
        tax_total = 0
        for line in lines[order.id]:
            price = lifecycle.unit_price(line)
            amount = lifecycle.line_amount(line)
            rate = rate_of(line)
            tax = taxes.line_tax(amount, rate)
            tax_total += tax
            parts = split_amount(amount, unit_breakdown(skus[line.sku_id], price))
            for name in PARTS:
                totals[name] += parts[name]
            invoice_line = InvoiceLine(
                invoice_id=invoice.id,
                order_line_id=line.id,
                sku_id=line.sku_id,
                quantity=lifecycle.billed_quantity(line),
                nominal_quantity=line.delivered_quantity,
                weighed=line.delivered_quantity is not None
                and line.delivered_quantity != lifecycle.billed_quantity(line),
                unit_price_cents=price,
                amount_cents=amount,
                tax_rate_bps=rate,
                tax_cents=tax,
                price_breakdown=parts,
            )
            session.add(invoice_line)
            filled = suppliers.get(line.id, [])
            shares = split_producer(parts["producer_cents"], [s.billed for s in filled])
            for supplied, producer_cents in zip(filled, shares, strict=True):
                session.add(
                    InvoiceLineShare(
                        invoice_line_id=invoice_line.id,
                        invoice_id=invoice.id,
                        cycle_id=cycle.id,
                        association_id=supplied.association_id,
                        sku_id=line.sku_id,
                        quantity=supplied.billed,
                        nominal_quantity=supplied.nominal,
                        producer_cents=producer_cents,
                    )
                )
        invoice.tax_cents = tax_total
        invoice.total_cents = sum(totals.values()) + tax_total
        invoice.price_breakdown = totals
        lifecycle.billed(
            session,
            order,
            invoice_id=invoice.id,
            number=invoice.number,
            total_cents=invoice.total_cents,
        )
    await session.flush()


async def _write_payouts(session: AsyncSession, cycle: OrderCycle) -> None:
    """One payout per supplying association: its shares of the cycle's invoices, less the
    adjustments (credit notes of earlier cycles) that fit in it, oldest first."""
    associations = sorted(
        set(
            await session.scalars(
                select(DeliveryOrder.association_id).where(DeliveryOrder.cycle_id == cycle.id)
            )
        )
    )
    shares = (
        await session.scalars(
            select(InvoiceLineShare)
            .where(InvoiceLineShare.cycle_id == cycle.id)
            .order_by(col(InvoiceLineShare.association_id), col(InvoiceLineShare.sku_id))
        )
    ).all()
    skus = {
        s.id: s
        for s in await session.scalars(
            select(BrandSku).where(col(BrandSku.id).in_({s.sku_id for s in shares}))
        )
    }
    versions = {
        (lot.association_id, lot.sku_id): (lot.product_id, lot.product_version)
        for lot in await session.scalars(
            select(Lot).where(Lot.cycle_id == cycle.id).order_by(col(Lot.received_at).desc())
        )
    }
    final_price = await _final_prices(session, cycle.id)
    grouped: dict[str, dict[str, list[InvoiceLineShare]]] = defaultdict(lambda: defaultdict(list))
    for share in shares:
        grouped[share.association_id][share.sku_id].append(share)
    pending = await session.scalars(
        select(PayoutAdjustment)
        .where(
            PayoutAdjustment.network_id == cycle.network_id,
            col(PayoutAdjustment.payout_id).is_(None),
            col(PayoutAdjustment.association_id).in_(associations),
        )
        .order_by(col(PayoutAdjustment.created_at), col(PayoutAdjustment.id))
    )
    adjustments: dict[str, list[PayoutAdjustment]] = defaultdict(list)
    for adjustment in pending:
        adjustments[adjustment.association_id].append(adjustment)
    for association_id in associations:
        payout = Payout(
            cycle_id=cycle.id,
            network_id=cycle.network_id,
            association_id=association_id,
            currency=cycle.currency,
            amount_cents=0,
        )
        session.add(payout)
        for sku_id, sku_shares in sorted(grouped[association_id].items()):
            sku = skus[sku_id]
            product_id, version = versions.get((association_id, sku_id), ("", 0))
            amount = sum(s.producer_cents for s in sku_shares)
            session.add(
                PayoutLine(
                    payout_id=payout.id,
                    sku_id=sku_id,
                    product_id=product_id,
                    product_version=version,
                    quantity=sum((s.quantity for s in sku_shares), Decimal(0)),
                    nominal_quantity=sum((s.nominal_quantity for s in sku_shares), Decimal(0)),
                    producer_price_cents=sku.producer_price_cents,
                    amount_cents=amount,
                    price_breakdown=unit_breakdown(
                        sku, final_price.get(sku_id, sku.producer_price_cents)
                    ),
                )
            )
            payout.gross_cents += amount
        # deductions never take a payout below zero: what does not fit waits for the next
        for adjustment in adjustments[association_id]:
            if payout.gross_cents + payout.adjustments_cents + adjustment.amount_cents < 0:
                break
            adjustment.payout_id = payout.id
            payout.adjustments_cents += adjustment.amount_cents
        payout.amount_cents = payout.gross_cents + payout.adjustments_cents
    await session.flush()


async def _final_prices(session: AsyncSession, cycle_id: str) -> dict[str, int]:
    """Each SKU's final tier price in the cycle (the lowest final price of its lines)."""
    prices: dict[str, int] = {}
    _, lines = await _orders(session, cycle_id)
    for line in (line for ls in lines.values() for line in ls):
        price = lifecycle.unit_price(line)
        prices[line.sku_id] = min(prices.get(line.sku_id, price), price)
    return prices


async def settlement_result(session: AsyncSession, cycle: OrderCycle) -> SettlementResult:
    invoices = (await session.scalars(select(Invoice).where(Invoice.cycle_id == cycle.id))).all()
    payouts = (await session.scalars(select(Payout).where(Payout.cycle_id == cycle.id))).all()
    order_ids = list(
        await session.scalars(
            select(Order.id).where(
                Order.cycle_id == cycle.id, col(Order.status).in_(SETTLED_ORDERS)
            )
        )
    )
    auths = (
        await session.scalars(
            select(PaymentAuthorization).where(col(PaymentAuthorization.order_id).in_(order_ids))
        )
    ).all()
    needing = (
        await session.scalars(
            select(Order).where(Order.cycle_id == cycle.id, col(Order.payment_issue).is_not(None))
        )
    ).all()
    buyers = await names.organizations(session, (o.buyer_id for o in needing))
    return SettlementResult(
        cycle_id=cycle.id,
        status=cycle.status,
        payment_needed=[
            PaymentNeeded(
                order_id=o.id,
                buyer_id=o.buyer_id,
                buyer_name=buyers.get(o.buyer_id, names.UNKNOWN_ORG).name,
                reason=o.payment_issue or "",
            )
            for o in needing
        ],
        invoices=len(invoices),
        invoiced_cents=sum(i.total_cents for i in invoices),
        payouts=len(payouts),
        paid_out_cents=sum(p.amount_cents for p in payouts),
        captured_cents=sum(a.captured_cents for a in auths),
        refunded_cents=sum(a.refunded_cents for a in auths),
    )
