"""Liveness and readiness probes, outside ``/api/v1``."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from app.api.deps import SessionmakerDep

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)


class Health(BaseModel):
    status: str


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="The database answers",
    responses={503: {"model": Health, "description": "The database does not answer"}},
)
async def readyz(sessionmaker: SessionmakerDep) -> Health | JSONResponse:
    try:
        async with sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception:
        log.exception("readiness check failed")
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return Health(status="ok")
