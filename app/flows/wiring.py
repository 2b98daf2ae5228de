"""The composition of the domains, in one place: what the API, the CLI, the scheduler and the
demo share. Nothing is wired by importing a module for its side effects.
"""

from __future__ import annotations

import time
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import served
from app.core.config import Settings
from app.events import service as events
from app.flows import closing, jobs, settlement, telling
from app.fulfilment import access
from app.notifications import service as notifications
from app.orders import cycles, payments_port, standing
from app.payments.order_payments import OrderPayments
from app.payments.reconcile import Reconciliation, reconcile
from app.webhooks import delivery as webhooks

# never reconciled yet: the first tick does it (time.monotonic() counts from the machine's
# boot, so 0.0 here would wait until the machine had been up for a whole interval)
_last_reconciled = [float("-inf")]


async def reconcile_now_and_then(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> Reconciliation | None:
    """Reconcile card holds every ``reconcile_interval_seconds`` (ticks come every few
    seconds; listing Stripe's holds each time would be wasteful)."""
    if time.monotonic() - _last_reconciled[0] < settings.reconcile_interval_seconds:
        return None
    _last_reconciled[0] = time.monotonic()
    return await reconcile(sessionmaker, settings)


def wire() -> None:
    """Install the payment port of orders, the hooks of cycles and what a collection centre
    serves (idempotent)."""
    payments_port.install(OrderPayments())
    served.install(access.served_by_centres)
    cycles.hooks.on_open[:] = [standing.place_on_open]
    cycles.hooks.closer = closing.close_at_cut_off
    cycles.hooks.every_tick[:] = [settlement.resume_settlements, reconcile_now_and_then]
    assert jobs.TASK_MODULES  # the tasks are declared (app/flows/jobs.py)
    events.subscribers[:] = [telling.notify_people, webhooks.fan_out]
    notifications.attachment_makers["invoice"] = telling.invoice_attachment
    notifications.attachment_makers["issued_invoice"] = partial(
        telling.invoice_attachment, as_issued=True
    )
