"""The CSV exports of settlement: every invoice of the list's filters, a cycle's payouts.

The invoice export reads the database while the file goes out, in its own read transaction
(the request's session has ended by the time a streamed body is sent), so it is never cut at
a page: it has the list endpoint's filters and visibility, not its ``limit``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.principal import Principal
from app.core.csvexport import quantity as csv_quantity
from app.core.db import transaction
from app.settlement import views
from app.settlement.schemas import InvoicePublic, PayoutPublic

INVOICE_COLUMNS = (
    "number",
    "buyer_id",
    "buyer_name",
    "order_id",
    "purchase_order_number",
    "issued_at",
    "due_on",
    "payment_method",
    "total_cents",
    "currency",
    "producer_cents",
    "logistics_cents",
    "network_cents",
    "solidarity_fund_cents",
)
PAYOUT_COLUMNS = (
    "association_id",
    "association_name",
    "parish",
    "sku_id",
    "sku_name",
    "product_id",
    "product_name",
    "product_version",
    "quantity",
    "producer_price_cents",
    "amount_cents",
    "currency",
)


def invoice_row(i: InvoicePublic) -> list[Any]:
    return [
        i.number,
        i.buyer_id,
        i.buyer_name,
        i.order_id,
        i.purchase_order_number,
        i.issued_at,
        i.due_on,
        i.payment_method,
        i.total_cents,
        i.currency,
        i.price_breakdown.producer_cents,
        i.price_breakdown.logistics_cents,
        i.price_breakdown.network_cents,
        i.price_breakdown.solidarity_fund_cents,
    ]


async def invoice_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    principal: Principal,
    *,
    buyer_id: str | None,
    network_id: str | None,
    cycle_id: str | None,
) -> AsyncIterator[list[Any]]:
    async with transaction(sessionmaker, write=False) as session:
        async for invoice in views.iter_invoices(
            session, principal, buyer_id=buyer_id, network_id=network_id, cycle_id=cycle_id
        ):
            yield invoice_row(invoice)


def payout_rows(payouts: Sequence[PayoutPublic]) -> Iterator[list[Any]]:
    for p in payouts:
        for line in p.lines:
            yield [
                p.association_id,
                p.association_name,
                p.parish,
                line.sku_id,
                line.sku_name,
                line.product_id,
                line.product_name,
                line.product_version,
                csv_quantity(line.quantity),
                line.producer_price_cents,
                line.amount_cents,
                p.currency,
            ]
