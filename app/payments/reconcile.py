"""Reconciling card holds with orders: a hold at Stripe that belongs to no order (its
request died between the hold and the order's transaction, say by kill -9) is cancelled,
and a hold that Minga and Stripe see differently is reported.

``minga payments reconcile`` runs it; the scheduler runs it every
``MINGA_RECONCILE_INTERVAL_SECONDS``. Only holds older than a grace period are looked at,
so an order being placed right now is never taken for an orphan.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.core.config import Settings
from app.core.db import transaction
from app.payments.models import AuthorizationStatus, PaymentAuthorization
from app.payments.providers import card_payments_enabled

log = logging.getLogger(__name__)
GRACE = timedelta(minutes=10)
HELD = (AuthorizationStatus.authorized, AuthorizationStatus.pending)


@dataclass
class Reconciliation:
    checked: int = 0
    cancelled: list[str] = field(default_factory=list)  # orphan holds released
    mismatches: list[str] = field(default_factory=list)  # what a person should look at


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    grace: timedelta = GRACE,
) -> Reconciliation:
    report = Reconciliation()
    if not card_payments_enabled(settings):
        return report
    from app.payments.stripe_provider import StripeProvider

    provider = StripeProvider.from_settings(settings)
    holds = await provider.open_holds(created_before=int(time.time() - grace.total_seconds()))
    report.checked = len(holds)
    async with transaction(sessionmaker, write=False) as session:
        known = {
            row.external_ref: row
            for row in await session.scalars(
                select(PaymentAuthorization).where(
                    col(PaymentAuthorization.external_ref).in_([ref for ref, _, _ in holds])
                )
            )
        }
    for ref, order_id, amount in holds:
        row = known.get(ref)
        if row is None:
            await provider.cancel(ref, idempotency_key=f"minga:reconcile:{ref}")
            report.cancelled.append(ref)
            log.warning("released orphan hold %s (order %s, %s cents)", ref, order_id, amount)
        elif row.status not in HELD:
            report.mismatches.append(
                f"{ref}: held at Stripe, {row.status} in Minga (order {row.order_id})"
            )
        elif row.amount_cents != amount:
            report.mismatches.append(
                f"{ref}: {amount} held at Stripe, {row.amount_cents} in Minga "
                f"(order {row.order_id})"
            )
    return report
