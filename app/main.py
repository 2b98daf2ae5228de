"""The ASGI application: ``create_app`` builds one from settings (tests pass their own)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette_compress import CompressMiddleware

from app import __version__
from app.accounts.bootstrap import ensure_platform_admin
from app.api.docs import START_HERE, install_docs, operation_id
from app.api.errors import install_error_handlers
from app.api.health import router as health_router
from app.api.openapi import install_openapi
from app.api.router import api_router
from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, transaction
from app.core.headers import SecurityHeadersMiddleware
from app.core.i18n import LanguageMiddleware
from app.core.limits import BodySizeLimitMiddleware
from app.core.logging import RequestIdMiddleware, configure_logging
from app.core.metrics import MetricsMiddleware, metrics_endpoint
from app.core.security import configure_password_hashing
from app.core.stamps import StampListener
from app.core.storage import object_store
from app.flows.settlement import resume_settlements
from app.flows.wiring import wire
from app.jobs.local import LocalRunner
from app.orders.scheduler import Scheduler
from app.public.router import router as public_router

log = logging.getLogger(__name__)

COMPRESS_MIN_BYTES = 1024


async def bootstrap(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.first_admin_email and settings.first_admin_password:
        async with transaction(app.state.sessionmaker) as session:
            await ensure_platform_admin(
                session,
                email=settings.first_admin_email,
                password=settings.first_admin_password.get_secret_value(),
            )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await bootstrap(app)
    settings: Settings = app.state.settings
    # a settlement that a crash stopped half-way is finished now, without a person
    resumed = await resume_settlements(app.state.sessionmaker, settings)
    if resumed:
        log.info("resumed the settlement of cycles %s", resumed)
    # this worker follows the catalogue's changes from everywhere (PostgreSQL's LISTEN)
    listener = StampListener(app.state.engine)
    listener.start()
    # the embedded database runs the jobs (and the cycles' tick) in this process; on
    # PostgreSQL `minga worker` runs them, and each API process still ticks the cycles
    runner = None
    scheduler = None
    if settings.is_sqlite and settings.jobs_in_process:
        runner = LocalRunner(app.state.sessionmaker, settings, periodic=settings.scheduler_enabled)
        runner.start()
    elif settings.scheduler_enabled:
        scheduler = Scheduler(app.state.sessionmaker, settings, settings.scheduler_interval_seconds)
        scheduler.start()
    log.info("minga %s ready", __version__)
    yield
    if runner is not None:
        await runner.stop()
    if scheduler is not None:
        await scheduler.stop()
    await listener.stop()
    await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    wire()
    configure_logging(settings.log_level)
    configure_password_hashing(settings)
    app = FastAPI(
        title="Minga",
        version=__version__,
        description=START_HERE,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served from the app's own files by install_docs
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.engine = create_engine(settings)
    app.state.sessionmaker = create_sessionmaker(app.state.engine)
    app.state.object_store = object_store(settings)  # photos and documents: folder or bucket

    install_error_handlers(app)
    install_openapi(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        max_upload_bytes=settings.max_multipart_bytes,
    )
    app.add_middleware(LanguageMiddleware)  # the answer's language (app/core/i18n.py)
    # answers over 1 KB compressed (zstd, brotli or gzip, as the client accepts) for phones on
    # rural links; PDFs and photos are left as they are, streams are compressed as they go
    app.add_middleware(CompressMiddleware, minimum_size=COMPRESS_MIN_BYTES)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.include_router(health_router)
    app.include_router(api_router)
    app.include_router(public_router)
    install_docs(app)
    return app
