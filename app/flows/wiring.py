"""The composition of the domains, in one place: what the API, the CLI, the scheduler and the
demo share. Nothing is wired by importing a module for its side effects.
"""

from __future__ import annotations

from app.flows import closing, settlement
from app.orders import cycles, payments_port, standing
from app.payments.order_payments import OrderPayments


def wire() -> None:
    """Install the payment port of orders and the hooks of cycles (idempotent)."""
    payments_port.install(OrderPayments())
    cycles.hooks.on_open[:] = [standing.place_on_open]
    cycles.hooks.closer = closing.close_at_cut_off
    cycles.hooks.every_tick[:] = [settlement.resume_settlements]
