"""The first admin from the settings, made by every API worker at start-up at once."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from app.accounts.models import User
from app.core.db import transaction
from app.main import bootstrap


async def test_workers_starting_together_make_one_admin(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(delete(User))
    # four workers start at the same moment; none fails, one admin exists
    await asyncio.gather(*(bootstrap(app) for _ in range(4)))
    async with transaction(app.state.sessionmaker, write=False) as session:
        admins = await session.scalar(
            select(func.count()).select_from(User).where(User.is_platform_admin)
        )
    assert admins == 1
