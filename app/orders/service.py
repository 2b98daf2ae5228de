"""Buyer orders: placement with atomic reservation, changes and cancellation until the
cut-off, and the views buyers and networks read.

Money is authorised before the stock is reserved, so no row lock is ever held while a
payment provider is called; if the reservation then fails, the authorisation is released
after the rollback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.exceptions import OrganizationNotFound
from app.accounts.models import Organization, OrganizationKind, Role, User
from app.accounts.principal import Principal
from app.brands import names
from app.brands.models import BrandSku
from app.core.config import Settings
from app.core.db import after_commit
from app.core.i18n import Joined, _l
from app.core.ids import new_id
from app.core.metrics import ORDERS_PLACED
from app.core.money import cents_times
from app.core.pagination import PageParams, paginate
from app.core.quantity import is_multiple
from app.core.timeutil import utcnow
from app.events import service as events
from app.orders import lifecycle, stock
from app.orders.cycles import ensure_open, get_cycle, locked_for_orders
from app.orders.exceptions import (
    CycleNotFound,
    InsufficientSupply,
    InvalidOrder,
    NotPackMultiple,
    OrderChangedMeanwhile,
    OrderNotChangeable,
    OrderNotFound,
)
from app.orders.models import (
    CycleStatus,
    Offer,
    Order,
    OrderCycle,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from app.orders.offers import sku_of_network
from app.orders.payments_port import port as payment_port
from app.orders.pricing import total_cents, unit_prices
from app.orders.schemas import (
    LineIn,
    LinePublic,
    OrderCreate,
    OrderEventActor,
    OrderEventPublic,
    OrderPublic,
    OrderUpdate,
    PaymentPublic,
)

ZERO = Decimal(0)


async def buyer_of_order(
    session: AsyncSession, principal: Principal | None, buyer_id: str
) -> Organization:
    if principal is not None:
        principal.require_member(buyer_id)
    buyer = await session.get(Organization, buyer_id)
    if buyer is None:
        raise OrganizationNotFound()
    if buyer.kind != OrganizationKind.buyer:
        raise InvalidOrder(errors=[{"field": "buyer_id", "detail": "not a buyer organisation"}])
    return buyer


async def check_lines(
    session: AsyncSession, cycle: OrderCycle, lines: Sequence[LineIn]
) -> dict[str, BrandSku]:
    """The lines' SKUs, after checking them: one line per SKU, whole packs, a preferred
    association that really offers the SKU in this cycle."""
    errors = []
    counts = Counter(line.sku_id for line in lines)
    for i, line in enumerate(lines):
        if counts[line.sku_id] > 1:
            errors.append({"field": f"lines[{i}].sku_id", "detail": "one line per SKU"})
    if errors:
        raise InvalidOrder(errors[0]["detail"], errors=errors)
    skus = {
        line.sku_id: await sku_of_network(session, line.sku_id, cycle.network_id) for line in lines
    }
    for i, line in enumerate(lines):
        pack = skus[line.sku_id].pack_size
        if not is_multiple(line.quantity, pack):
            errors.append(
                {"field": f"lines[{i}].quantity", "detail": f"whole packs of {pack}, please"}
            )
    if errors:
        raise NotPackMultiple(errors[0]["detail"], errors=errors)
    preferred = {
        (line.sku_id, line.preferred_association_id)
        for line in lines
        if line.preferred_association_id
    }
    if preferred:
        offered = set(
            (
                await session.execute(
                    select(Offer.sku_id, Offer.association_id).where(
                        Offer.cycle_id == cycle.id,
                        col(Offer.sku_id).in_([s for s, _ in preferred]),
                    )
                )
            ).all()
        )
        for i, line in enumerate(lines):
            if (
                line.preferred_association_id
                and (line.sku_id, line.preferred_association_id) not in offered
            ):
                errors.append(
                    {
                        "field": f"lines[{i}].preferred_association_id",
                        "detail": "this association offers no such SKU in the cycle",
                    }
                )
        if errors:
            raise InvalidOrder(errors[0]["detail"], errors=errors)
    return skus


def _shortage_problem(
    lines: Sequence[LineIn], short: Sequence[stock.Shortage]
) -> InsufficientSupply:
    index = {line.sku_id: i for i, line in enumerate(lines)}
    details = [
        _l("asked {wanted}, {available} available", wanted=s.wanted, available=s.available)
        for s in short
    ]
    errors = [
        {
            "field": f"lines[{index[s.sku_id]}].quantity",
            "rule": "insufficient_supply",
            "sku_id": s.sku_id,
            "detail": detail,
            "available": str(s.available),
        }
        for s, detail in zip(short, details, strict=True)
    ]
    return InsufficientSupply(Joined(details, "; "), errors=errors)


@dataclass
class PreparedOrder:
    """An order checked and priced, not yet stored: what placing it needs after the money
    is held (``app.flows.ordering`` holds it between two transactions)."""

    order: Order
    lines: list[OrderLine]
    requested: Sequence[LineIn]

    @property
    def wanted(self) -> dict[str, Decimal]:
        return {line.sku_id: line.quantity for line in self.lines}


async def prepare(
    session: AsyncSession,
    *,
    actor: Principal | None,
    cycle: OrderCycle,
    buyer: Organization,
    lines: Sequence[LineIn],
    payment_method: PaymentMethod,
    payment_method_id: str | None,
    purchase_order_number: str | None = None,
    standing_order_id: str | None = None,
    now: datetime,
) -> PreparedOrder:
    """Check the lines and price the order; nothing is locked or written."""
    ensure_open(cycle, now)
    skus = await check_lines(session, cycle, lines)
    wanted = {line.sku_id: line.quantity for line in lines}
    # The estimate at the tier this order itself helps reach; prices only fall with volume,
    # so the final price at close is never above what was authorised here.
    prices = await unit_prices(session, cycle.id, list(skus), extra=wanted)
    order = Order(
        cycle_id=cycle.id,
        buyer_id=buyer.id,
        payment_method=payment_method,
        payment_method_id=payment_method_id,
        purchase_order_number=purchase_order_number,
        currency=cycle.currency,
        standing_order_id=standing_order_id,
        placed_by_user_id=actor.user_id if actor else None,
    )
    order.total_cents = total_cents((prices[line.sku_id], line.quantity) for line in lines)
    order_lines = [
        OrderLine(
            order_id=order.id,
            sku_id=line.sku_id,
            quantity=line.quantity,
            preferred_association_id=line.preferred_association_id,
            unit_price_cents=prices[line.sku_id],
        )
        for line in lines
    ]
    return PreparedOrder(order, order_lines, lines)


async def store(
    session: AsyncSession, prepared: PreparedOrder, *, actor: Principal | None, now: datetime
) -> Order:
    """Reserve every line and store the order, or change nothing (409 when short).

    The cycle row is re-read under a shared lock first: a close waits for orders in flight,
    and an order after the close sees it closed."""
    order = prepared.order
    cycle = await locked_for_orders(session, order.cycle_id)
    ensure_open(cycle, now)
    short = await stock.reserve(session, cycle.id, prepared.wanted)
    if short:
        raise _shortage_problem(prepared.requested, short)
    session.add(order)
    session.add_all(prepared.lines)
    await session.flush()
    lifecycle.record(
        session,
        OrderEventType.placed,
        cycle_id=cycle.id,
        order_id=order.id,
        actor=actor,
        total_cents=order.total_cents,
    )
    after_commit(session, _count_order)
    await tell(session, "order.placed", order, cycle.network_id)
    return order


async def tell(session: AsyncSession, type_: str, order: Order, network_id: str) -> None:
    """Record the order's change as an event (app/events), with the order as it is now."""
    public = (await order_publics(session, [order]))[0]
    await events.emit(
        session,
        type_,
        key=f"{order.id}:{order.updated_at.isoformat()}" if type_ == "order.changed" else order.id,
        audience=[order.buyer_id, network_id],
        payload={"order": public.model_dump(mode="json")},
    )


async def place(
    session: AsyncSession,
    settings: Settings,
    *,
    actor: Principal | None,
    cycle: OrderCycle,
    buyer: Organization,
    lines: Sequence[LineIn],
    payment_method: PaymentMethod,
    payment_method_id: str | None,
    purchase_order_number: str | None = None,
    standing_order_id: str | None = None,
    now: datetime,
) -> Order:
    """Place an order in one transaction (standing orders, as a cycle opens): authorise the
    estimate, reserve every line, or change nothing. The API's path holds the money outside
    any transaction instead (``app.flows.ordering``)."""
    prepared = await prepare(
        session,
        actor=actor,
        cycle=cycle,
        buyer=buyer,
        lines=lines,
        payment_method=payment_method,
        payment_method_id=payment_method_id,
        purchase_order_number=purchase_order_number,
        standing_order_id=standing_order_id,
        now=now,
    )
    await payment_port().authorize(session, settings, order=prepared.order, buyer=buyer)
    return await store(session, prepared, actor=actor, now=now)


async def _count_order() -> None:
    ORDERS_PLACED.inc()


def visible_orders(principal: Principal) -> SelectOfScalar[Order]:
    stmt = select(Order)
    if principal.is_platform_admin:
        return stmt
    mine = list(principal.roles)
    of_my_networks = select(OrderCycle.id).where(col(OrderCycle.network_id).in_(mine))
    return stmt.where(or_(col(Order.buyer_id).in_(mine), col(Order.cycle_id).in_(of_my_networks)))


async def get_order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    order = await session.scalar(visible_orders(principal).where(Order.id == order_id))
    if order is None:
        raise OrderNotFound()
    return order


async def _own_order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    """An order its buyer's staff may change (404 for everyone else)."""
    order = await session.get(Order, order_id)
    if order is None or not principal.is_member(order.buyer_id, Role.staff):
        raise OrderNotFound()
    return order


async def _locked_own_order(
    session: AsyncSession, principal: Principal, order_id: str
) -> tuple[Order, OrderCycle]:
    """The order, locked for the rest of the transaction, with its cycle locked shared.

    Changes of one order are serialised on its row, so any interleaving of PATCH and cancel
    leaves the stock counters equal to the lines that hold them. Locks are taken in the
    order the close takes them (the cycle row, then orders), so the two never deadlock."""
    order = await _own_order(session, principal, order_id)
    cycle = await locked_for_orders(session, order.cycle_id)
    locked = await session.scalar(
        select(Order)
        .where(Order.id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None
    return locked, cycle


async def _lines(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
    out: dict[str, list[OrderLine]] = {oid: [] for oid in order_ids}
    rows = await session.scalars(
        select(OrderLine)
        .where(col(OrderLine.order_id).in_(list(order_ids)))
        .order_by(col(OrderLine.sku_id))
    )
    for line in rows:
        out[line.order_id].append(line)
    return out


async def price_change(
    session: AsyncSession, principal: Principal, order_id: str, data: OrderUpdate
) -> int:
    """Check a change of the order's lines, with no row locked, and answer its new total:
    the amount to hold before the change is stored (app.flows.ordering)."""
    order = await _own_order(session, principal, order_id)
    if order.status != OrderStatus.placed:
        raise OrderNotChangeable(_l("The order is {status}", status=order.status))
    cycle = await get_cycle(session, order.cycle_id)
    ensure_open(cycle, utcnow())
    old = (await _lines(session, [order.id]))[order.id]
    return (await _priced_change(session, cycle, old, data)).total_cents


@dataclass(frozen=True)
class _PricedChange:
    prices: dict[str, int]
    more: dict[str, Decimal]  # per SKU, what the change adds to the order
    less: dict[str, Decimal]  # and what it takes away
    total_cents: int


async def _priced_change(
    session: AsyncSession, cycle: OrderCycle, old: Sequence[OrderLine], data: OrderUpdate
) -> _PricedChange:
    await check_lines(session, cycle, data.lines)
    before = {line.sku_id: line.quantity for line in old}
    after = {line.sku_id: line.quantity for line in data.lines}
    more = {s: q - before.get(s, Decimal(0)) for s, q in after.items() if q > before.get(s, 0)}
    less = {s: q - after.get(s, Decimal(0)) for s, q in before.items() if q > after.get(s, 0)}
    prices = await unit_prices(session, cycle.id, sorted(set(after)), extra=more)
    return _PricedChange(prices, more, less, total_cents((prices[s], q) for s, q in after.items()))


async def change_order(
    session: AsyncSession,
    principal: Principal,
    order_id: str,
    data: OrderUpdate,
    *,
    expected_total_cents: int | None,
) -> Order:
    """Replace the lines until the cut-off, under the order's lock: the stock follows.

    The caller priced the change first (``price_change``) and had the payment changed to
    ``expected_total_cents`` with no lock held; if the total comes out otherwise now (another
    change landed, or other orders moved the price tier), 409 ``order_changed_meanwhile``
    and nothing is stored. ``None``: whatever the total is now (no hold was placed for it)."""
    order, cycle = await _locked_own_order(session, principal, order_id)
    if order.status != OrderStatus.placed:
        raise OrderNotChangeable(_l("The order is {status}", status=order.status))
    now = utcnow()
    ensure_open(cycle, now)
    old = (await _lines(session, [order.id]))[order.id]
    change = await _priced_change(session, cycle, old, data)
    if expected_total_cents is not None and change.total_cents != expected_total_cents:
        raise OrderChangedMeanwhile(
            _l(
                "The new total is {total} cents now, not {expected}",
                total=change.total_cents,
                expected=expected_total_cents,
            )
        )

    await stock.release(session, cycle.id, change.less)
    short = await stock.reserve(session, cycle.id, change.more)
    if short:
        raise _shortage_problem(data.lines, short)
    await lifecycle.replace_lines(
        session,
        order,
        old,
        [
            OrderLine(
                order_id=order.id,
                sku_id=line.sku_id,
                quantity=line.quantity,
                preferred_association_id=line.preferred_association_id,
                unit_price_cents=change.prices[line.sku_id],
            )
            for line in data.lines
        ],
        total_cents=change.total_cents,
        purchase_order_number=data.purchase_order_number,
        actor=principal,
        now=now,
    )
    await session.flush()
    await tell(session, "order.changed", order, cycle.network_id)
    return order


async def cancel_order(session: AsyncSession, principal: Principal, order_id: str) -> Order:
    order, cycle = await _locked_own_order(session, principal, order_id)
    if order.status == OrderStatus.cancelled:
        return order  # cancelling twice changes nothing
    if order.status != OrderStatus.placed:
        raise OrderNotChangeable(_l("The order is {status}", status=order.status))
    now = utcnow()
    ensure_open(cycle, now)
    # the hold is released by the caller once this is committed (app.flows.ordering): no
    # provider call while the order's and the cycle's rows are locked
    lines = (await _lines(session, [order.id]))[order.id]
    await stock.release(session, cycle.id, {line.sku_id: line.quantity for line in lines})
    lifecycle.cancel(session, order, actor=principal, now=now)
    await session.flush()
    await tell(session, "order.cancelled", order, cycle.network_id)
    return order


async def list_orders(
    session: AsyncSession,
    principal: Principal,
    *,
    buyer_id: str | None,
    cycle_id: str | None,
    status: OrderStatus | None,
    page: PageParams,
) -> tuple[Sequence[Order], str | None]:
    stmt = visible_orders(principal)
    if buyer_id is not None:
        stmt = stmt.where(Order.buyer_id == buyer_id)
    if cycle_id is not None:
        stmt = stmt.where(Order.cycle_id == cycle_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    return await paginate(session, stmt, key=col(Order.id), params=page)


async def order_publics(session: AsyncSession, orders: Sequence[Order]) -> list[OrderPublic]:
    """Orders with their lines, payment and names, in five queries whatever the page size."""
    ids = [o.id for o in orders]
    lines = await _lines(session, ids)
    payments = await payment_port().payments_of(session, ids)
    all_lines = [line for group in lines.values() for line in group]
    sku_names = await names.skus(session, (line.sku_id for line in all_lines))
    orgs = await names.organizations(
        session,
        [o.buyer_id for o in orders] + [line.preferred_association_id for line in all_lines],
    )
    return [
        OrderPublic(
            id=o.id,
            cycle_id=o.cycle_id,
            buyer_id=o.buyer_id,
            buyer_name=orgs.get(o.buyer_id, names.UNKNOWN_ORG).name,
            status=OrderStatus(o.status),
            payment_method=o.payment_method,
            purchase_order_number=o.purchase_order_number,
            currency=o.currency,
            lines=[
                LinePublic(
                    sku_id=line.sku_id,
                    sku_name=sku_names.get(line.sku_id, ""),
                    quantity=line.quantity,
                    preferred_association_id=line.preferred_association_id,
                    preferred_association_name=orgs[line.preferred_association_id].name
                    if line.preferred_association_id in orgs
                    else None,
                    unit_price_cents=line.unit_price_cents,
                    line_total_cents=lifecycle.line_amount(line),
                    confirmed_quantity=line.confirmed_quantity,
                    final_unit_price_cents=line.final_unit_price_cents,
                    delivered_quantity=line.delivered_quantity,
                    billed_quantity=line.billed_quantity,
                    credited_quantity=line.credited_quantity,
                )
                for line in lines[o.id]
            ],
            total_cents=o.total_cents,
            final_total_cents=o.final_total_cents,
            standing_order_id=o.standing_order_id,
            payment=payments.get(o.id),
            created_at=o.created_at,
            updated_at=o.updated_at,
        )
        for o in orders
    ]


async def order_events(
    session: AsyncSession, principal: Principal, order_id: str
) -> list[OrderEventPublic]:
    """The order's history, oldest first, for its buyer and its network."""
    order = await get_order(session, principal, order_id)
    rows = (
        await session.execute(
            select(OrderEvent, User.full_name)
            .outerjoin(User, col(User.id) == col(OrderEvent.actor_user_id))
            .where(OrderEvent.order_id == order.id)
            .order_by(col(OrderEvent.created_at), col(OrderEvent.id))
        )
    ).all()
    return [
        OrderEventPublic(
            type=row.type,
            at=row.created_at,
            actor=OrderEventActor(user_id=row.actor_user_id, full_name=name or "")
            if row.actor_user_id
            else None,
            data=row.data,
        )
        for row, name in rows
    ]


# --- placing an order on terms: the floor's shape, in prebuilt Core statements ------------
#
# An invoice or cash order calls no provider, so it is placed in one transaction of a few
# round trips: the gate (the cycle under its shared lock, with the buyer), a check of the
# preferred associations if any line names one, one UPDATE … RETURNING per SKU that reserves
# it and answers its price, name and pack, one INSERT for the order and one for its lines,
# then the caller's payment row, the event, and (the flow's) the Idempotency-Key. The answer
# is built from what these returned: nothing is read back. Anything that goes wrong is
# explained by the same checks as the general path, in the same transaction, before it
# rolls back.

_cycles: Any = OrderCycle.__table__  # type: ignore[attr-defined]
_orgs: Any = Organization.__table__  # type: ignore[attr-defined]
_offers: Any = Offer.__table__  # type: ignore[attr-defined]
_orders: Any = Order.__table__  # type: ignore[attr-defined]
_order_lines: Any = OrderLine.__table__  # type: ignore[attr-defined]
_events: Any = OrderEvent.__table__  # type: ignore[attr-defined]

GATE = (
    sa.select(
        _cycles.c.id,
        _cycles.c.network_id,
        _cycles.c.status,
        _cycles.c.closes_at,
        _cycles.c.timezone,
        _cycles.c.currency,
        _orgs.c.kind.label("buyer_kind"),
        _orgs.c.name.label("buyer_name"),
        _orgs.c.payment_terms_days,
    )
    .select_from(_cycles.join(_orgs, _orgs.c.id == sa.bindparam("buyer_id")))
    .where(_cycles.c.id == sa.bindparam("cycle_id"))
    # shared: orders never wait for each other; a close's UPDATE waits for orders in flight,
    # and an order after it sees it closed (the lock order of every path: cycle, then rows)
    .with_for_update(read=True, of=_cycles)
)
PREFERRED = (
    sa.select(_offers.c.sku_id, _offers.c.association_id, _orgs.c.name)
    .join(_orgs, _orgs.c.id == _offers.c.association_id)
    .where(
        _offers.c.cycle_id == sa.bindparam("cycle_id"),
        _offers.c.sku_id.in_(sa.bindparam("sku_ids", expanding=True)),
    )
)
INSERT_ORDER = sa.insert(_orders)
INSERT_LINES = sa.insert(_order_lines)
INSERT_EVENT = sa.insert(_events)


@dataclass(frozen=True, slots=True)
class Gate:
    """The cycle (read under its shared lock) and the buyer an order goes to."""

    id: str
    network_id: str
    status: str
    closes_at: datetime
    timezone: str
    currency: str
    buyer_kind: str
    buyer_name: str
    payment_terms_days: int | None


async def gate(conn: AsyncConnection, cycle_id: str, buyer_id: str) -> Gate | None:
    """One query: the cycle under its shared lock and the buyer; None when either is
    missing."""
    row = (await conn.execute(GATE, {"cycle_id": cycle_id, "buyer_id": buyer_id})).first()
    return None if row is None else Gate(*row)


Pay = Callable[[Gate, str, int], Awaitable[PaymentPublic]]


def _duplicate_lines(lines: Sequence[LineIn]) -> None:
    counts = Counter(line.sku_id for line in lines)
    errors = [
        {"field": f"lines[{i}].sku_id", "detail": "one line per SKU"}
        for i, line in enumerate(lines)
        if counts[line.sku_id] > 1
    ]
    if errors:
        raise InvalidOrder(errors[0]["detail"], errors=errors)


async def _explain(
    conn: AsyncConnection,
    principal: Principal,
    data: OrderCreate,
    found: Gate | None,
    missed: Sequence[str] = (),
) -> Exception:
    """Why the order cannot be placed, by the checks of the general path (in their order),
    on the same transaction."""
    async with AsyncSession(bind=conn) as session:
        if found is None:
            await buyer_of_order(session, principal, data.buyer_id)
            await get_cycle(session, data.cycle_id)
            return CycleNotFound()
        cycle = cast(OrderCycle, found)
        await check_lines(session, cycle, data.lines)
        wanted = {line.sku_id: line.quantity for line in data.lines}
        return _shortage_problem(
            data.lines, await stock.shortages(session, found.id, wanted, missed)
        )


async def place_on_terms(
    conn: AsyncConnection, principal: Principal, data: OrderCreate, *, now: datetime, pay: Pay
) -> OrderPublic:
    """Place an invoice or cash order on ``conn``'s transaction and answer it; ``pay``
    stores its payment (the payments domain's, through the flow). Raises the problem of the
    general path when it cannot be placed: the caller rolls back."""
    principal.require_member(data.buyer_id)
    lines = data.lines
    found = await gate(conn, data.cycle_id, data.buyer_id)
    if found is None:
        raise await _explain(conn, principal, data, None)
    if found.buyer_kind != OrganizationKind.buyer:
        raise InvalidOrder(errors=[{"field": "buyer_id", "detail": "not a buyer organisation"}])
    if found.status != CycleStatus.open or now >= found.closes_at:
        ensure_open(cast(OrderCycle, found), now)
    _duplicate_lines(lines)
    preferred_names: dict[tuple[str, str], str] = {}
    preferred = [line for line in lines if line.preferred_association_id]
    if preferred:
        rows = await conn.execute(
            PREFERRED, {"cycle_id": found.id, "sku_ids": [line.sku_id for line in preferred]}
        )
        preferred_names = {(r[0], r[1]): r[2] for r in rows}
        if any(
            (line.sku_id, line.preferred_association_id) not in preferred_names
            for line in preferred
        ):
            raise await _explain(conn, principal, data, found)
    wanted = {line.sku_id: line.quantity for line in lines}
    reserved, missed = await stock.reserve_priced(conn, found.id, wanted)
    if missed or any(
        not is_multiple(q, reserved[s].pack_size) for s, q in wanted.items() if s in reserved
    ):
        raise await _explain(conn, principal, data, found, missed)

    order_id = new_id()
    by_sku = {line.sku_id: line for line in lines}
    line_rows = []
    line_publics = []
    total = 0
    for sku_id in sorted(by_sku):
        line = by_sku[sku_id]
        got = reserved[sku_id]
        amount = cents_times(got.unit_price_cents, line.quantity)
        total += amount
        association = line.preferred_association_id
        line_rows.append(
            {
                "id": new_id(),
                "order_id": order_id,
                "sku_id": sku_id,
                "quantity": line.quantity,
                "preferred_association_id": association,
                "unit_price_cents": got.unit_price_cents,
                "credited_quantity": ZERO,
            }
        )
        line_publics.append(
            LinePublic.model_construct(
                sku_id=sku_id,
                sku_name=got.name,
                quantity=line.quantity,
                preferred_association_id=association,
                preferred_association_name=preferred_names.get((sku_id, association))
                if association
                else None,
                unit_price_cents=got.unit_price_cents,
                line_total_cents=amount,
                confirmed_quantity=None,
                final_unit_price_cents=None,
                delivered_quantity=None,
                billed_quantity=None,
                credited_quantity=ZERO,
            )
        )
    await conn.execute(
        INSERT_ORDER,
        {
            "id": order_id,
            "cycle_id": found.id,
            "buyer_id": data.buyer_id,
            "status": OrderStatus.placed,
            "payment_method": data.payment_method,
            "payment_method_id": data.payment_method_id,
            "purchase_order_number": data.purchase_order_number,
            "currency": found.currency,
            "total_cents": total,
            "placed_by_user_id": principal.user_id,
            "created_at": now,
            "updated_at": now,
        },
    )
    await conn.execute(INSERT_LINES, line_rows)
    payment = await pay(found, order_id, total)
    await conn.execute(
        INSERT_EVENT,
        {
            "id": new_id(),
            "cycle_id": found.id,
            "order_id": order_id,
            "type": OrderEventType.placed,
            "actor_user_id": principal.user_id,
            "data": {"total_cents": total},
            "created_at": now,
        },
    )
    public = OrderPublic.model_construct(
        id=order_id,
        cycle_id=found.id,
        buyer_id=data.buyer_id,
        buyer_name=found.buyer_name,
        status=OrderStatus.placed,
        payment_method=data.payment_method,
        purchase_order_number=data.purchase_order_number,
        currency=found.currency,
        lines=line_publics,
        total_cents=total,
        final_total_cents=None,
        standing_order_id=None,
        payment=payment,
        created_at=now,
        updated_at=now,
    )
    await events.emit(
        conn,
        "order.placed",
        key=order_id,
        audience=[data.buyer_id, found.network_id],
        payload={"order": public.model_dump(mode="json")},
    )
    return public


def count_placed() -> None:
    ORDERS_PLACED.inc()
