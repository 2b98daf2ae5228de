"""Closing a cycle: the state change and the aggregation in one transaction (the domain's
``aggregation.service.close_cycle``), and the card holds lowered after the commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.aggregation import service as aggregation
from app.aggregation.schemas import CloseResult
from app.core.config import Settings
from app.orders.models import OrderCycle


async def close_cycle(
    session: AsyncSession,
    settings: Settings,
    cycle_id: str,
    *,
    now: datetime,
    actor: Principal | None,
) -> CloseResult:
    cycle = await aggregation.close_cycle(session, settings, cycle_id, now=now, actor=actor)
    return await aggregation.close_result(session, cycle)


async def close_at_cut_off(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> None:
    await aggregation.close_cycle(session, settings, cycle.id, now=now, actor=None)
