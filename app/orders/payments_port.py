"""The port through which orders hold their buyers' money and read it back.

Orders come before payments in the domain order (payments build on orders), so orders do
not import payments: they call this port, and ``app.flows.wiring`` installs the payments
domain's implementation (``app.payments.order_payments``) at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Organization
from app.core.config import Settings

if TYPE_CHECKING:
    from app.orders.models import Order
    from app.orders.schemas import PaymentPublic


class PaymentPort(Protocol):
    async def authorize(
        self, session: AsyncSession, settings: Settings, *, order: Order, buyer: Organization
    ) -> None:
        """Hold ``order.total_cents`` the way the order pays (402 when a card declines)."""
        ...

    async def payments_of(
        self, session: AsyncSession, order_ids: Sequence[str]
    ) -> dict[str, PaymentPublic]: ...


_installed: list[PaymentPort] = []


def install(port: PaymentPort) -> None:
    _installed[:] = [port]


def port() -> PaymentPort:
    if not _installed:
        raise RuntimeError("no payment port wired: call app.flows.wiring.wire() at start-up")
    return _installed[0]
