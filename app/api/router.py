"""Assembles the domain routers under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from app.accounts.router import router as accounts_router
from app.aggregation.router import router as aggregation_router
from app.api.operations import router as operations_router
from app.brands.router import router as brands_router
from app.catalog.router import router as catalog_router
from app.fulfilment.router import router as fulfilment_router
from app.orders.router import router as orders_router
from app.payments.router import router as payments_router
from app.settlement.router import router as settlement_router
from app.storefront.router import router as storefront_router
from app.webhooks.router import router as webhooks_router

api_router = APIRouter(prefix="/api/v1")
# the hottest read first: routes are matched in order
api_router.include_router(storefront_router)
api_router.include_router(accounts_router)
api_router.include_router(catalog_router)
api_router.include_router(brands_router)
api_router.include_router(payments_router)
api_router.include_router(orders_router)
api_router.include_router(aggregation_router)
api_router.include_router(fulfilment_router)
api_router.include_router(settlement_router)
api_router.include_router(webhooks_router)
api_router.include_router(operations_router)
