"""The payment port of orders, implemented with this domain's providers and storage
(``app.flows.wiring`` installs it).

Placement holds the money before the stock is reserved (no row lock is held while the
provider is called); if the transaction then rolls back (the stock was short), the new hold
is released straight at the provider, since its database row rolled back with the order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.core.config import Settings
from app.core.db import after_rollback
from app.orders.models import Order
from app.orders.schemas import PaymentPublic
from app.payments import service as payments
from app.payments.models import AuthorizationStatus, PaymentAuthorization
from app.payments.providers import provider_for

log = logging.getLogger(__name__)


class OrderPayments:
    """Orders' payment port: holds at placement (standing orders), and what is held."""

    async def authorize(
        self, session: AsyncSession, settings: Settings, *, order: Order, buyer: Organization
    ) -> None:
        await _authorize(session, settings, order=order, buyer=buyer)

    async def payments_of(
        self, session: AsyncSession, order_ids: Sequence[str]
    ) -> dict[str, PaymentPublic]:
        return await _payments_of(session, order_ids)


async def _authorize(
    session: AsyncSession, settings: Settings, *, order: Order, buyer: Organization
) -> PaymentAuthorization:
    held = await payments.authorize_order(
        session,
        settings,
        order_id=order.id,
        method=order.payment_method,
        amount_cents=order.total_cents,
        currency=order.currency,
        payment_method_id=order.payment_method_id,
        buyer=buyer,
    )
    if held.external_ref and held.status == AuthorizationStatus.authorized:
        ref, method = held.external_ref, held.provider

        async def release() -> None:
            provider = provider_for(method, settings)
            await provider.cancel(ref, idempotency_key=f"minga:{order.id}:{ref}:rollback")
            log.info("released hold %s of order %s that did not land", ref, order.id)

        after_rollback(session, release)
    return held


async def _payments_of(session: AsyncSession, order_ids: Sequence[str]) -> dict[str, PaymentPublic]:
    """Each order's latest authorisation (one query for any number of orders)."""
    rows = await session.scalars(
        select(PaymentAuthorization)
        .where(col(PaymentAuthorization.order_id).in_(list(order_ids)))
        .order_by(col(PaymentAuthorization.created_at), col(PaymentAuthorization.id))
    )
    return {
        row.order_id: PaymentPublic(
            method=row.provider,
            status=row.status,
            amount_cents=row.amount_cents,
            due_in_days=row.due_in_days,
        )
        for row in rows
    }
