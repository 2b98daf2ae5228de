"""The floor of ``POST /api/v1/orders``: the least a FastAPI app must do to place an invoice
order on Minga's own schema, with the same writes, so that ``bench/orders.py`` can put
Minga's CPU per order next to it.

Per request: the body parsed by a small pydantic model, the bearer token checked (PyJWT), one
transaction of prebuilt SQLAlchemy Core statements on asyncpg — the gate (user active and a
member of the buyer, the cycle open, read ``FOR SHARE``), one ``UPDATE … RETURNING`` per SKU
that reserves it and answers its tier price, the order, its lines (one multi-row INSERT),
the payment row, the event, the domain event with its dispatch job, and the
``Idempotency-Key`` row with the answer — and the answer
as JSON bytes. What Minga does besides (problem documents, translations, validation of
every field, names in the answer, shortage explanations, the card path) is not here: the
ratio says what those cost on top of the essential work.

Mounted by ``bench/floor.py``; configured by ``MINGA_DATABASE_URL`` and ``MINGA_SECRET_KEY``.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.accounts.models import Membership, Organization, User
from app.brands.models import SkuPriceTier
from app.core.idempotency import IdempotencyKey
from app.events.service import EMIT_ON_POSTGRESQL
from app.orders.models import CycleSku, Order, OrderCycle, OrderEvent, OrderLine
from app.payments.models import PaymentAuthorization


def _t(model: Any) -> Any:
    return model.__table__


users, members, orgs = _t(User), _t(Membership), _t(Organization)
cycles, stock, tiers = _t(OrderCycle), _t(CycleSku), _t(SkuPriceTier)
orders, lines, events = _t(Order), _t(OrderLine), _t(OrderEvent)
payments, keys = _t(PaymentAuthorization), _t(IdempotencyKey)

GATE = (
    sa.select(cycles.c.status, cycles.c.closes_at, cycles.c.currency, orgs.c.payment_terms_days)
    .select_from(
        cycles.join(users, users.c.id == sa.bindparam("user_id"))
        .join(
            members,
            (members.c.user_id == users.c.id)
            & (members.c.organization_id == sa.bindparam("buyer")),
        )
        .join(orgs, orgs.c.id == members.c.organization_id)
    )
    .where(cycles.c.id == sa.bindparam("cycle"), users.c.is_active)
    .with_for_update(read=True, of=cycles)
)
_price = (
    sa.select(tiers.c.unit_price_cents)
    .where(tiers.c.sku_id == stock.c.sku_id, tiers.c.min_quantity * 1000 <= stock.c.reserved_milli)
    .order_by(tiers.c.min_quantity.desc())
    .limit(1)
    .correlate(stock)
    .scalar_subquery()
)
RESERVE = (
    sa.update(stock)
    .where(
        stock.c.cycle_id == sa.bindparam("in_cycle"),
        stock.c.sku_id == sa.bindparam("of_sku"),
        stock.c.offered_milli - stock.c.reserved_milli >= sa.bindparam("milli"),
    )
    .values(reserved_milli=stock.c.reserved_milli + sa.bindparam("milli"))
    .returning(_price)
)
INSERT_ORDER = sa.insert(orders)
INSERT_LINES = sa.insert(lines)
INSERT_PAYMENT = sa.insert(payments)
INSERT_EVENT = sa.insert(events)
INSERT_KEY = (
    postgresql.insert(keys)
    .on_conflict_do_nothing(index_elements=["scope", "principal", "key"])
    .returning(keys.c.id)
)


class Line(BaseModel):
    sku_id: str = Field(max_length=36)
    quantity: Decimal = Field(gt=0, decimal_places=3)


class OrderIn(BaseModel):
    buyer_id: str = Field(max_length=36)
    cycle_id: str = Field(max_length=36)
    lines: list[Line] = Field(min_length=1, max_length=100)
    payment_method: str


def _engine() -> AsyncEngine:
    return create_async_engine(
        os.environ["MINGA_DATABASE_URL"], pool_size=10, max_overflow=10, pool_recycle=300
    )


def mount(app: FastAPI) -> None:
    secret = os.environ.get("MINGA_SECRET_KEY", "")
    state: dict[str, AsyncEngine] = {}

    @app.post("/api/v1/orders", status_code=201)
    async def place(
        request: Request,
        body: OrderIn,
        authorization: Annotated[str, Header()] = "",
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Response:
        try:
            claims = jwt.decode(authorization.removeprefix("Bearer "), secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise HTTPException(401) from None
        engine = state.get("engine") or state.setdefault("engine", _engine())
        now = datetime.now(UTC)
        order_id = str(uuid.uuid4())
        async with engine.begin() as conn:
            gate = (
                await conn.execute(
                    GATE, {"user_id": claims["sub"], "buyer": body.buyer_id, "cycle": body.cycle_id}
                )
            ).first()
            if gate is None or gate.status != "open" or now >= gate.closes_at:
                raise HTTPException(409)
            total, rows = 0, []
            for line in sorted(body.lines, key=lambda x: x.sku_id):
                price = (
                    await conn.execute(
                        RESERVE,
                        {
                            "in_cycle": body.cycle_id,
                            "of_sku": line.sku_id,
                            "milli": int(line.quantity * 1000),
                        },
                    )
                ).scalar()
                if price is None:
                    raise HTTPException(409)
                amount = int(price * line.quantity)
                total += amount
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "order_id": order_id,
                        "sku_id": line.sku_id,
                        "quantity": line.quantity,
                        "unit_price_cents": price,
                        "credited_quantity": 0,
                    }
                )
            order = {
                "id": order_id,
                "cycle_id": body.cycle_id,
                "buyer_id": body.buyer_id,
                "status": "placed",
                "payment_method": body.payment_method,
                "currency": gate.currency,
                "total_cents": total,
                "placed_by_user_id": claims["sub"],
                "created_at": now,
                "updated_at": now,
            }
            await conn.execute(INSERT_ORDER, order)
            await conn.execute(INSERT_LINES, rows)
            await conn.execute(
                INSERT_PAYMENT,
                {
                    "id": str(uuid.uuid4()),
                    "order_id": order_id,
                    "buyer_id": body.buyer_id,
                    "provider": "invoice",
                    "status": "not_required",
                    "amount_cents": total,
                    "captured_cents": 0,
                    "refunded_cents": 0,
                    "currency": gate.currency,
                    "due_in_days": gate.payment_terms_days or 30,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            await conn.execute(
                INSERT_EVENT,
                {
                    "id": str(uuid.uuid4()),
                    "cycle_id": body.cycle_id,
                    "order_id": order_id,
                    "type": "order.placed",
                    "actor_user_id": claims["sub"],
                    "data": {"total_cents": total},
                    "created_at": now,
                },
            )
            answer = {
                **order,
                "created_at": now.isoformat(),
                "updated_at": now.isoformat(),
                "lines": [{**r, "quantity": str(r["quantity"])} for r in rows],
            }
            # the domain event and its dispatch job, as Minga writes them (one round trip)
            await conn.execute(
                EMIT_ON_POSTGRESQL,
                {
                    "id": str(uuid.uuid4()),
                    "type": "order.placed",
                    "key": order_id,
                    "audience": json.dumps([body.buyer_id]),
                    "payload": json.dumps({"order": answer}, default=str),
                    "now": now,
                },
            )
            if idempotency_key is not None:
                digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
                stored = (
                    await conn.execute(
                        INSERT_KEY,
                        {
                            "id": str(uuid.uuid4()),
                            "scope": "orders.place",
                            "principal": claims["sub"],
                            "key": idempotency_key,
                            "request_hash": digest,
                            "state": "done",
                            "status_code": 201,
                            "response": answer,
                            "created_at": now,
                            "expires_at": now + timedelta(hours=24),
                        },
                    )
                ).first()
                if stored is None:
                    raise HTTPException(409)
        return Response(json.dumps(answer).encode(), 201, media_type="application/json")
