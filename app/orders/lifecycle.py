"""The one owner of an order line's life after it is placed (Saleor's ``order/actions.py``).

Placed lines are changed or cancelled until the cut-off; confirmed at the close (a confirmed
quantity and a final price); cut when a shortfall reaches them; packed into a shipment (the
billed quantity: the weighed one for variable-weight goods); delivered, with returns, or not
delivered when the shipment fails; billed on an invoice; after that only a credit note takes
anything back. Every other domain asks this module, and every transition appends an
``OrderEvent``. ``tests/test_layers.py`` keeps the writes here.

The two rules every document uses are here too, once: ``billed_quantity`` (what a line is
paid for) and ``line_amount`` (what it costs). A final price of 0 cents is a price, not a
missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.core.db import insert_rows
from app.core.ids import new_id
from app.core.money import cents_times
from app.core.timeutil import utcnow
from app.orders.models import Order, OrderEvent, OrderEventType, OrderLine, OrderStatus

_lines: Any = OrderLine.__table__  # type: ignore[attr-defined]
_orders: Any = Order.__table__  # type: ignore[attr-defined]
_events: Any = OrderEvent.__table__  # type: ignore[attr-defined]

ZERO = Decimal(0)


# --- the rules ----------------------------------------------------------------------------


def unit_price(line: OrderLine) -> int:
    """The price a line is billed at: the final one once the close set it."""
    if line.final_unit_price_cents is not None:
        return line.final_unit_price_cents
    return line.unit_price_cents


def billed_quantity(line: OrderLine) -> Decimal:
    """What the buyer pays for: once packed, the billed quantity (the weighed one for
    variable-weight goods, then what was kept at delivery); before that, what the close
    confirmed; before the close, what was ordered. Credit notes do not change it: they are
    documents of their own (see ``net_quantity``)."""
    if line.billed_quantity is not None:
        return line.billed_quantity
    if line.confirmed_quantity is not None:
        return line.confirmed_quantity
    return line.quantity


def net_quantity(line: OrderLine) -> Decimal:
    """What the buyer keeps paying for after credit notes."""
    return billed_quantity(line) - line.credited_quantity


def line_amount(line: OrderLine) -> int:
    """What a line costs: its unit price times its billed quantity, half up to the cent."""
    return cents_times(unit_price(line), billed_quantity(line))


def net_line_amount(line: OrderLine) -> int:
    return cents_times(unit_price(line), net_quantity(line))


def order_total(lines: Iterable[OrderLine]) -> int:
    return sum(line_amount(line) for line in lines)


# --- events -------------------------------------------------------------------------------


def record(
    session: AsyncSession,
    type_: OrderEventType,
    *,
    order_id: str,
    cycle_id: str,
    actor: Principal | None = None,
    **data: Any,
) -> None:
    session.add(
        OrderEvent(
            cycle_id=cycle_id,
            order_id=order_id,
            type=type_,
            actor_user_id=actor.user_id if actor else None,
            data=data,
        )
    )


def _bulk_events(
    type_: OrderEventType, cycle_id: str, rows: Iterable[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    at = utcnow()
    return [
        {
            "id": new_id(),
            "cycle_id": cycle_id,
            "order_id": order_id,
            "type": type_,
            "actor_user_id": None,
            "data": data,
            "created_at": at,
        }
        for order_id, data in rows
    ]


# --- until the cut-off --------------------------------------------------------------------


async def replace_lines(
    session: AsyncSession,
    order: Order,
    old: Sequence[OrderLine],
    new: Sequence[OrderLine],
    *,
    total_cents: int,
    purchase_order_number: str | None,
    actor: Principal | None,
    now: datetime,
) -> None:
    """A change before the cut-off: the new lines replace the old ones (the caller has
    moved the stock and the hold; the session flushes the deletes before the inserts)."""
    for line in old:
        await session.delete(line)
    await session.flush()
    session.add_all(new)
    order.total_cents = total_cents
    if purchase_order_number is not None:
        order.purchase_order_number = purchase_order_number
    order.updated_at = now
    record(
        session,
        OrderEventType.changed,
        order_id=order.id,
        cycle_id=order.cycle_id,
        actor=actor,
        total_cents=total_cents,
        lines={line.sku_id: str(line.quantity) for line in new},
    )


def cancel(session: AsyncSession, order: Order, *, actor: Principal | None, now: datetime) -> None:
    order.status = OrderStatus.cancelled
    order.cancelled_at = now
    order.updated_at = now
    record(
        session, OrderEventType.cancelled, order_id=order.id, cycle_id=order.cycle_id, actor=actor
    )


# --- at the close -------------------------------------------------------------------------

# SQLite allows at most 500 terms in a compound SELECT (see _confirm_statement)
_PRICES_PER_STATEMENT = 250


def _confirm_statement(
    cycle_id: str, final_price: Mapping[str, int], sku_ids: Sequence[str]
) -> Any:
    """Confirm the lines of the cycle's confirmed orders at ``min(unit price, final price)``.

    One ``UPDATE … FROM`` joined to a small table of the SKUs' final prices (PostgreSQL;
    SQLite >= 3.33): the lines are found once through the cycle's orders, not once per SKU.
    """
    ln, o = _lines, _orders
    prices = sa.union_all(
        *(
            sa.select(
                sa.literal(s, sa.String).label("sku_id"),
                sa.literal(final_price[s], sa.Integer).label("price"),
            )
            for s in sku_ids
        )
    ).subquery("final_prices")
    confirmed = sa.select(o.c.id).where(
        o.c.cycle_id == cycle_id, o.c.status == OrderStatus.confirmed
    )
    return (
        sa.update(ln)
        .where(ln.c.sku_id == prices.c.sku_id, ln.c.order_id.in_(confirmed))
        .values(
            confirmed_quantity=ln.c.quantity,
            final_unit_price_cents=sa.case(
                (ln.c.unit_price_cents < prices.c.price, ln.c.unit_price_cents),
                else_=prices.c.price,
            ),
        )
    )


async def confirm_at_close(
    session: AsyncSession,
    cycle_id: str,
    *,
    final_totals: Mapping[str, int],
    final_price: Mapping[str, int],
) -> None:
    """Confirm every placed order of a closing cycle: set-based, for tens of thousands of
    lines (ORM bulk UPDATE by primary key, then one UPDATE … FROM per chunk of SKUs).

    The portable way (SQLite); ``confirm_at_close_in_sql`` does the same on PostgreSQL
    without the lines ever leaving the server."""
    if not final_totals:
        return
    await session.execute(
        sa.update(Order),
        [
            {"id": order_id, "status": OrderStatus.confirmed, "final_total_cents": total}
            for order_id, total in final_totals.items()
        ],
    )
    sku_ids = sorted(final_price)
    for start in range(0, len(sku_ids), _PRICES_PER_STATEMENT):
        chunk = sku_ids[start : start + _PRICES_PER_STATEMENT]
        await session.execute(_confirm_statement(cycle_id, final_price, chunk))
    await _confirmed_events(session, cycle_id, final_totals)


async def _confirmed_events(
    session: AsyncSession, cycle_id: str, final_totals: Mapping[str, int]
) -> None:
    await insert_rows(
        session,
        _events,
        _bulk_events(
            OrderEventType.confirmed,
            cycle_id,
            ((oid, {"final_total_cents": total}) for oid, total in final_totals.items()),
        ),
    )


@dataclass(frozen=True)
class ConfirmedOrder:
    id: str
    payment_method: str
    total_cents: int
    final_total_cents: int


# One statement, one pass over the lines: the lines of the cycle's placed orders get their
# final price, ``min(unit price, final price)``, and return their ``line_amount`` (rounded
# half up to the cent: numeric arithmetic is exact, and ``round`` of a positive numeric is
# half up); the orders get the sum as final total (0 for an order without lines). Every
# part sees the same snapshot, so the lines updated are exactly those of the orders
# confirmed.
_CONFIRM = sa.text(
    """
    WITH lines AS (
        UPDATE order_lines AS ln SET confirmed_quantity = ln.quantity,
            final_unit_price_cents = least(ln.unit_price_cents, p.price)
        FROM close_final_prices AS p, orders AS o
        WHERE ln.sku_id = p.sku_id AND o.id = ln.order_id
            AND o.cycle_id = :cycle_id AND o.status = :placed
        RETURNING ln.order_id, round(ln.final_unit_price_cents * ln.quantity) AS amount
    ), totals AS (
        SELECT order_id, sum(amount) AS total FROM lines GROUP BY order_id
    )
    UPDATE orders AS o SET status = :confirmed, final_total_cents = COALESCE(t.total, 0)
    FROM orders AS placed LEFT JOIN totals AS t ON t.order_id = placed.id
    WHERE o.id = placed.id AND placed.cycle_id = :cycle_id AND placed.status = :placed
    RETURNING o.id, o.payment_method, o.total_cents, o.final_total_cents
    """
)


async def confirm_at_close_in_sql(
    session: AsyncSession, cycle_id: str, *, final_price: Mapping[str, int]
) -> list[ConfirmedOrder]:
    """``confirm_at_close`` on PostgreSQL, for hundreds of thousands of lines, in one
    statement: the lines are never loaded, and each is read once, to set its final price
    and add its amount to its order's final total. Returns the orders confirmed.

    The SKUs' final prices go into an analysed temporary table first: joined to an
    ``unnest`` of arrays (no statistics), PostgreSQL hashed the lines and probed them with
    the prices, so it updated the lines in hash order, all over the table (16 s instead of
    8 s at 1M lines, once the table is larger than the shared buffers)."""
    sku_ids = sorted(final_price)
    await session.execute(
        sa.text(
            "CREATE TEMPORARY TABLE close_final_prices "
            "(sku_id VARCHAR(36) PRIMARY KEY, price INTEGER NOT NULL)"
        )
    )
    await session.execute(
        sa.text(
            "INSERT INTO close_final_prices SELECT * FROM "
            "unnest(CAST(:sku_ids AS VARCHAR[]), CAST(:prices AS INTEGER[]))"
        ),
        {"sku_ids": sku_ids, "prices": [final_price[s] for s in sku_ids]},
    )
    await session.execute(sa.text("ANALYZE close_final_prices"))
    states = {
        "cycle_id": cycle_id,
        "placed": OrderStatus.placed,
        "confirmed": OrderStatus.confirmed,
    }
    confirmed = [ConfirmedOrder(*row) for row in await session.execute(_CONFIRM, states)]
    await session.execute(sa.text("DROP TABLE close_final_prices"))
    await _confirmed_events(session, cycle_id, {o.id: o.final_total_cents for o in confirmed})
    return confirmed


# --- at the collection centre -------------------------------------------------------------


@dataclass(frozen=True)
class Packed:
    """What packing decided for one line: what remains after the shortfall cut, and what
    the buyer is billed for (the weighed quantity for variable-weight goods)."""

    confirmed: Decimal
    billed: Decimal
    weighed: bool = False


def pack(
    session: AsyncSession,
    orders: Mapping[str, Order],
    lines: Sequence[OrderLine],
    packed: Mapping[str, Packed],
    *,
    actor: Principal | None,
    now: datetime,
) -> None:
    """Cut and pack the lines of a cycle's shipments (packing again starts afresh)."""
    by_order: dict[str, list[OrderLine]] = {}
    cuts: dict[str, dict[str, str]] = {}
    for line in lines:
        plan = packed.get(line.id, Packed(ZERO, ZERO))
        before = line.confirmed_quantity if line.confirmed_quantity is not None else ZERO
        if plan.confirmed != before:
            cuts.setdefault(line.order_id, {})[line.sku_id] = f"{before} -> {plan.confirmed}"
        line.confirmed_quantity = plan.confirmed
        line.billed_quantity = plan.billed
        line.delivered_quantity = None
        by_order.setdefault(line.order_id, []).append(line)
    for order_id, order_lines in by_order.items():
        order = orders[order_id]
        order.final_total_cents = order_total(order_lines)
        order.updated_at = now
        if order_id in cuts:
            record(
                session,
                OrderEventType.cut,
                order_id=order_id,
                cycle_id=order.cycle_id,
                actor=actor,
                lines=cuts[order_id],
            )
        record(
            session,
            OrderEventType.packed,
            order_id=order_id,
            cycle_id=order.cycle_id,
            actor=actor,
            final_total_cents=order.final_total_cents,
            billed={line.sku_id: str(line.billed_quantity) for line in order_lines},
        )


@dataclass(frozen=True)
class Delivered:
    """What the buyer kept of one packed line, nominal and billed."""

    delivered: Decimal
    billed: Decimal
    returned: Decimal = ZERO
    reason: str | None = None


def deliver(
    session: AsyncSession,
    orders: Mapping[str, Order],
    lines: Sequence[OrderLine],
    kept: Mapping[str, Delivered],
    *,
    actor: Principal | None,
    now: datetime,
) -> None:
    by_order: dict[str, list[OrderLine]] = {}
    for line in lines:
        if line.id in kept:
            line.delivered_quantity = kept[line.id].delivered
            line.billed_quantity = kept[line.id].billed
        by_order.setdefault(line.order_id, []).append(line)
    for order_id, order_lines in by_order.items():
        order = orders[order_id]
        order.status = OrderStatus.delivered
        order.final_total_cents = order_total(order_lines)
        order.updated_at = now
        returns = {
            line.sku_id: {"quantity": str(kept[line.id].returned), "reason": kept[line.id].reason}
            for line in order_lines
            if line.id in kept and kept[line.id].returned > 0
        }
        record(
            session,
            OrderEventType.delivered,
            order_id=order_id,
            cycle_id=order.cycle_id,
            actor=actor,
            final_total_cents=order.final_total_cents,
            returns=returns,
        )


def delivery_failed(
    session: AsyncSession,
    orders: Mapping[str, Order],
    lines: Sequence[OrderLine],
    *,
    reason: str,
    actor: Principal | None,
    now: datetime,
) -> None:
    """The shipment never reached the buyer: nothing of it is billed."""
    for line in lines:
        line.delivered_quantity = ZERO
        line.billed_quantity = ZERO
    for order in orders.values():
        order.status = OrderStatus.not_delivered
        order.final_total_cents = 0
        order.updated_at = now
        record(
            session,
            OrderEventType.delivery_failed,
            order_id=order.id,
            cycle_id=order.cycle_id,
            actor=actor,
            reason=reason,
        )


# --- after the goods ----------------------------------------------------------------------


def billed(
    session: AsyncSession, order: Order, *, invoice_id: str, number: str, total_cents: int
) -> None:
    record(
        session,
        OrderEventType.billed,
        order_id=order.id,
        cycle_id=order.cycle_id,
        invoice_id=invoice_id,
        number=number,
        total_cents=total_cents,
    )


def payment_needed(session: AsyncSession, order: Order, *, reason: str) -> None:
    """The card cannot be charged: the order is invoiced on terms instead."""
    if order.payment_issue == reason:
        return
    order.payment_issue = reason
    order.updated_at = utcnow()
    record(
        session,
        OrderEventType.payment_needed,
        order_id=order.id,
        cycle_id=order.cycle_id,
        reason=reason,
    )


def credit(
    session: AsyncSession,
    order: Order,
    credited: Sequence[tuple[OrderLine, Decimal]],
    *,
    credit_note_id: str,
    number: str,
    amount_cents: int,
    actor: Principal | None,
    now: datetime,
) -> None:
    """A credit note took ``credited[line]`` back from each line after the invoice."""
    for line, quantity in credited:
        line.credited_quantity = line.credited_quantity + quantity
    order.updated_at = now
    record(
        session,
        OrderEventType.credited,
        order_id=order.id,
        cycle_id=order.cycle_id,
        actor=actor,
        credit_note_id=credit_note_id,
        number=number,
        amount_cents=amount_cents,
        lines={line.sku_id: str(q) for line, q in credited},
    )
