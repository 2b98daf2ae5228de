"""HTTP endpoints of settlement: settle a cycle, payouts, invoices, exports, the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.accounts import exceptions as accounts_exc
from app.accounts.models import Role
from app.api.deps import (
    CurrentPrincipal,
    ObjectStoreDep,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
)
from app.api.ids import IdPath, IdQuery
from app.api.operations import OperationPublic, accepted
from app.core.csvexport import CsvDialect, DialectQuery, csv_response
from app.core.idempotency import (
    IdempotencyKeyHeader,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
)
from app.core.pagination import Page, PageParamsDep
from app.core.printing import Language
from app.core.problems import Unauthenticated, responses
from app.core.timeutil import utcnow
from app.flows import settlement as settlement_flow
from app.orders import cycles
from app.orders.exceptions import CycleNotFound
from app.payments.exceptions import CaptureExceedsAuthorization, PaymentProviderError
from app.settlement import copies, dashboard, exports, ledger, views
from app.settlement.exceptions import (
    CycleNotClosed,
    CycleNotReady,
    InvalidCreditNote,
    InvoiceNotCreditable,
    InvoiceNotFound,
    SettlementInProgress,
)
from app.settlement.schemas import (
    CreditNoteCreate,
    CreditNotePublic,
    Dashboard,
    InvoicePublic,
    LedgerReport,
    PayoutPublic,
    SettlementResult,
)

router = APIRouter(tags=["settlement"])
AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV (UTF-8)"}
}


@router.post(
    "/cycles/{cycle_id}/settle",
    response_model=SettlementResult,
    summary="Capture card payments at the final amount, invoice buyers, pay associations",
    description="With `Prefer: respond-async` the settlement runs in the background: 202 "
    "and the operation to poll in `Location`, whose `result` is the cycle's ledger once done.",
    responses={202: {"model": OperationPublic, "description": "Settling in the background"}}
    | responses(
        CycleNotFound,
        CycleNotClosed,
        CycleNotReady,
        SettlementInProgress,
        CaptureExceedsAuthorization,
        PaymentProviderError,
        IdempotencyKeyReused,
        IdempotencyKeyInFlight,
    )
    | AUTH,
)
async def settle_cycle(
    request_session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    idempotency_key: IdempotencyKeyHeader = None,
    prefer: Annotated[
        str | None,
        Header(
            max_length=200,
            description="`respond-async`: settle in the background (202 and the operation)",
        ),
    ] = None,
) -> JSONResponse:
    # Settling spans several transactions (one per card capture, then the books), so it
    # manages its own: the request's, used only to authenticate, ends here (on SQLite it
    # would otherwise keep the write lock that those transactions wait for).
    await request_session.commit()
    if "respond-async" in (prefer or "").lower():
        operation = await settlement_flow.settle_in_background(
            sessionmaker, settings, principal, cycle_id
        )
        return accepted(operation)
    return await settlement_flow.settle(
        sessionmaker,
        settings,
        principal,
        cycle_id,
        idempotency_key=idempotency_key,
        now=utcnow(),
    )


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    response_model=CreditNotePublic,
    status_code=201,
    summary="Take back what a buyer returned after settlement: numbered, refunded, deducted",
    responses=responses(InvoiceNotFound, InvalidCreditNote, InvoiceNotCreditable) | AUTH,
)
async def create_credit_note(
    request_session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    invoice_id: IdPath,
    body: CreditNoteCreate,
) -> CreditNotePublic:
    await request_session.commit()  # the note, then the refund outside its transaction
    return await settlement_flow.credit_invoice(
        sessionmaker, settings, principal, invoice_id, body, now=utcnow()
    )


@router.get(
    "/invoices/{invoice_id}/credit-notes",
    response_model=list[CreditNotePublic],
    responses=responses(InvoiceNotFound) | AUTH,
)
async def list_credit_notes(
    session: SessionDep, principal: CurrentPrincipal, invoice_id: IdPath
) -> list[CreditNotePublic]:
    return await views.credit_notes_of(session, principal, invoice_id)


@router.get(
    "/cycles/{cycle_id}/ledger",
    response_model=LedgerReport,
    summary="The cycle's money trail recomputed: every difference, to the cent",
    responses=responses(CycleNotFound) | AUTH,
)
async def cycle_ledger(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> LedgerReport:
    cycle = await cycles.get_cycle(session, cycle_id)
    principal.require_member(cycle.network_id, Role.admin, not_found=CycleNotFound)
    return await ledger.check_cycle(session, cycle)


@router.get(
    "/cycles/{cycle_id}/payouts",
    response_model=list[PayoutPublic],
    responses=responses(CycleNotFound) | AUTH,
)
async def list_payouts(
    session: SessionDep, principal: CurrentPrincipal, cycle_id: IdPath
) -> list[PayoutPublic]:
    return await views.list_payouts(session, principal, cycle_id)


@router.get(
    "/cycles/{cycle_id}/payouts.csv",
    response_class=StreamingResponse,
    responses=CSV | responses(CycleNotFound) | AUTH,
)
async def export_payouts(
    session: SessionDep,
    principal: CurrentPrincipal,
    cycle_id: IdPath,
    dialect: DialectQuery = CsvDialect.rfc4180,
) -> StreamingResponse:
    payouts = await views.list_payouts(session, principal, cycle_id)
    return csv_response(
        f"payouts-{cycle_id}.csv", exports.PAYOUT_COLUMNS, exports.payout_rows(payouts), dialect
    )


@router.get("/invoices", response_model=Page[InvoicePublic], responses=AUTH)
async def list_invoices(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    buyer_id: IdQuery = None,
    network_id: IdQuery = None,
    cycle_id: IdQuery = None,
) -> Page[InvoicePublic]:
    items, cursor = await views.list_invoices(
        session, principal, buyer_id=buyer_id, network_id=network_id, cycle_id=cycle_id, page=page
    )
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/invoices.csv",
    response_class=StreamingResponse,
    summary="Every invoice the list would show with these filters, as CSV (not one page)",
    responses=CSV | AUTH,
)
async def export_invoices(
    sessionmaker: SessionmakerDep,
    principal: CurrentPrincipal,
    buyer_id: IdQuery = None,
    network_id: IdQuery = None,
    cycle_id: IdQuery = None,
    dialect: DialectQuery = CsvDialect.rfc4180,
) -> StreamingResponse:
    rows = exports.invoice_rows(
        sessionmaker, principal, buyer_id=buyer_id, network_id=network_id, cycle_id=cycle_id
    )
    return csv_response("invoices.csv", exports.INVOICE_COLUMNS, rows, dialect)


@router.get(
    "/invoices/{invoice_id}.pdf",
    response_class=Response,
    summary="The invoice to print or send: issuer and buyer, lines, taxes, totals, how to pay",
    description="For whoever may read the invoice's JSON; in the buyer's language unless "
    "`lang` asks for another. The first print is kept: a reprint is the same file, until a "
    "credit note against the invoice adds itself to it.",
    responses={200: {"content": {"application/pdf": {}}, "description": "A PDF document"}}
    | responses(InvoiceNotFound)
    | AUTH,
)
async def invoice_document(
    session: SessionDep,
    principal: CurrentPrincipal,
    store: ObjectStoreDep,
    invoice_id: IdPath,
    lang: Annotated[
        Language | None, Query(description="the document's language, instead of the buyer's")
    ] = None,
) -> Response:
    printed = await copies.printed_invoice(session, principal, invoice_id, store=store, lang=lang)
    return Response(
        printed.pdf,
        media_type=copies.PDF,
        headers={"Content-Disposition": f'inline; filename="invoice-{printed.number}.pdf"'},
    )


@router.get(
    "/invoices/{invoice_id}",
    response_model=InvoicePublic,
    responses=responses(InvoiceNotFound) | AUTH,
)
async def get_invoice(
    session: SessionDep, principal: CurrentPrincipal, invoice_id: IdPath
) -> InvoicePublic:
    return await views.get_invoice(session, principal, invoice_id)


@router.get(
    "/networks/{network_id}/dashboard",
    response_model=Dashboard,
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
)
async def network_dashboard(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath
) -> Dashboard:
    return await dashboard.network_dashboard(session, principal, network_id)
