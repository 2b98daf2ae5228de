"""Settling a cycle and crediting an invoice: work across payments and settlement, in
several short transactions, with no provider call inside a transaction of the books.

Settle: check that the goods are all in (409 ``cycle_not_ready`` naming what is missing),
capture each card order at its billed amount (one order per transaction; captures are
idempotent, so a settle that stopped half-way resumes), then write the books in one
transaction and check the ledger. One settlement of a cycle runs at a time across every
worker (``app.core.locks``): a second one answers 409 ``settlement_in_progress``, and a
worker's resume leaves the cycle to the worker settling it.

Credit note: store it (its number, the associations' adjustments, the order's credited
quantities) in one transaction, then refund the card outside it and mark it refunded.
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import current_language
from app.core.idempotency import Claim, claim, give_back, idempotent
from app.core.locks import exclusive
from app.core.problems import Problem
from app.core.timeutil import utcnow
from app.jobs import operations
from app.jobs.models import Operation
from app.jobs.tasks import JobContext, task
from app.orders.exceptions import PaymentDeclined
from app.orders.models import CycleStatus
from app.payments import service as payments
from app.payments.exceptions import (
    CaptureExceedsAuthorization,
    PaymentAuthorizationNotFound,
    PaymentNotChangeable,
    PaymentProviderError,
)
from app.settlement import credit_notes, ledger, service
from app.settlement.exceptions import SettlementInProgress
from app.settlement.models import CreditNote, Invoice
from app.settlement.schemas import CreditNoteCreate, CreditNotePublic, SettlementResult

log = logging.getLogger(__name__)


async def settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal | None,
    cycle_id: str,
    *,
    idempotency_key: str | None,
    now: datetime,
) -> JSONResponse:
    """Settle the cycle for its network's admin (``principal``), or resume a settlement that
    stopped half-way (``principal=None``: Minga itself, at the next start or tick)."""
    scope = f"cycles.settle:{cycle_id}"
    who = (principal.user_id or f"key:{principal.api_key_id}") if principal else "minga"
    body = {"cycle_id": cycle_id}
    claimed: Claim | None = None
    if idempotency_key is not None:
        got = await claim(sessionmaker, scope=scope, principal=who, key=idempotency_key, body=body)
        if isinstance(got, JSONResponse):
            return got
        claimed = got
    engine = sessionmaker.kw["bind"]
    try:
        async with exclusive(engine, f"settle:{cycle_id}") as mine:
            if not mine:  # another worker is settling it right now (a resume, or a person)
                raise SettlementInProgress()
            return await _settle(sessionmaker, settings, principal, cycle_id, claimed, now=now)
    except BaseException:
        if claimed is not None:
            await give_back(sessionmaker, claimed)
        raise


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal | None,
    cycle_id: str,
    claimed: Claim | None,
    *,
    now: datetime,
) -> JSONResponse:
    async with transaction(sessionmaker) as session:
        cycle = await service.cycle_to_settle(session, principal, cycle_id)
        await service.ensure_ready(session, cycle)
        await service.start(session, cycle, now=now)
        await session.refresh(cycle)
        settling = cycle.status == CycleStatus.settling
    if settling:
        await capture_cards(sessionmaker, settings, cycle_id)

    async def run(session: AsyncSession) -> tuple[int, SettlementResult]:
        cycle = await service.cycle_to_settle(session, principal, cycle_id)
        result = await service.settle_books(session, cycle, now=now)
        report = await ledger.check_cycle(session, cycle)
        for difference in report.differences:
            log.error("ledger of cycle %s: %s", cycle.id, difference.model_dump())
        result.ledger = report
        return 200, result

    return await idempotent(
        sessionmaker,
        scope=claimed.scope if claimed else f"cycles.settle:{cycle_id}",
        principal=claimed.principal if claimed else "minga",
        key=claimed.key if claimed else None,
        body={"cycle_id": cycle_id},
        run=run,
        claimed=claimed,
    )


async def capture_cards(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, cycle_id: str
) -> None:
    """Capture each card order at its billed amount, one order per transaction (captures
    are idempotent: a resumed settlement captures nothing twice). A card that can no longer
    be charged (its hold was cancelled, expired or failed) is not a wall: its order is
    invoiced on terms and reported, and the rest of the cycle settles."""
    async with transaction(sessionmaker, write=False) as session:
        due = await service.card_amounts(session, cycle_id)
    for order_id, amount in due:
        try:
            await payments.capture_for_order(sessionmaker, settings, order_id, amount)
        except CaptureExceedsAuthorization as error:
            # the billed total with its tax is above the hold (holds are of the order's total
            # before tax, or a rate went up since): the order is invoiced on terms and its
            # hold given back, so the card is not left blocked
            log.warning("order %s is above its card hold: %s", order_id, error.detail)
            async with transaction(sessionmaker) as session:
                await service.payment_needed(
                    session, order_id, f"{error.code}: {error.detail or error.title}"
                )
            try:
                await payments.release_for_order(sessionmaker, settings, order_id=order_id)
            except Exception:
                log.exception("releasing the hold of order %s", order_id)
        except (
            PaymentNotChangeable,
            PaymentDeclined,
            PaymentAuthorizationNotFound,
            PaymentProviderError,  # refused; an unreachable provider (503) stops the run
        ) as error:
            log.warning("order %s cannot be charged by card: %s", order_id, error.detail)
            async with transaction(sessionmaker) as session:
                await service.payment_needed(
                    session, order_id, f"{error.code}: {error.detail or error.title}"
                )


async def resume_settlements(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> list[str]:
    """Finish every settlement that stopped half-way (a crash, a killed worker)."""
    async with transaction(sessionmaker, write=False) as session:
        pending = await service.settling_cycles(session)
    done = []
    for cycle_id in pending:
        try:
            await settle(sessionmaker, settings, None, cycle_id, idempotency_key=None, now=utcnow())
            done.append(cycle_id)
        except SettlementInProgress:
            log.info("cycle %s is being settled by another worker", cycle_id)
        except Exception:
            log.exception("resuming the settlement of cycle %s failed", cycle_id)
    return done


async def credit_invoice(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    invoice_id: str,
    data: CreditNoteCreate,
    *,
    now: datetime,
) -> CreditNotePublic:
    async with transaction(sessionmaker) as session:
        note = await credit_notes.issue(session, principal, invoice_id, data, now=now)
    if note.refund_status == "pending":
        await refund_credit_notes(sessionmaker, settings, note.order_id)
    async with transaction(sessionmaker, write=False) as session:
        stored = await session.get(CreditNote, note.id)
        assert stored is not None
        [public] = await credit_notes.credit_note_publics(session, [stored])
        return public


async def refund_credit_notes(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, order_id: str
) -> None:
    """Refund a card order down to its invoice less its credit notes (idempotent: the
    provider is asked for what is missing, so running it again refunds nothing more)."""
    async with transaction(sessionmaker, write=False) as session:
        invoice = await session.scalar(select(Invoice).where(Invoice.order_id == order_id))
        if invoice is None:
            return
        credited = await credit_notes.credited_of_order(session, order_id)
    # the provider is called with no transaction open; a crash before the notes are marked
    # leaves them pending, and the next run refunds nothing more, then marks them
    await payments.capture_for_order(
        sessionmaker, settings, order_id, max(0, invoice.total_cents - credited)
    )
    async with transaction(sessionmaker) as session:
        await credit_notes.mark_refunded(session, order_id)


async def settle_in_background(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    cycle_id: str,
) -> Operation:
    """``Prefer: respond-async``: check now what can be checked (the admin, the cycle closed
    and ready), and settle in a job; the operation says how it went."""
    async with transaction(sessionmaker) as session:
        cycle = await service.settleable_cycle(session, principal, cycle_id)
        await service.ensure_ready(session, cycle)
        return await operations.start(
            session,
            kind="settlement",
            task_name="settlement.run",
            organization_id=cycle.network_id,
            user_id=principal.user_id,
            args={"cycle_id": cycle_id, "language": current_language()},
        )


@task("settlement.run", max_attempts=3)
async def settle_job(ctx: JobContext, operation_id: str) -> None:
    operation = await operations.claim(ctx.sessionmaker, operation_id)
    if operation is None:
        return
    cycle_id = str(operation.args["cycle_id"])
    try:
        # as Minga itself (the admin's request was checked): a settlement is resumable, so
        # a worker that dies here leaves it for the job's next run or the next tick
        await settle(
            ctx.sessionmaker, ctx.settings, None, cycle_id, idempotency_key=None, now=utcnow()
        )
    except Problem as problem:
        await operations.fail(ctx.sessionmaker, operation, problem)
        return
    await operations.succeed(ctx.sessionmaker, operation_id, f"/api/v1/cycles/{cycle_id}/ledger")
