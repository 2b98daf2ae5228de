"""Errors of settlement."""

from __future__ import annotations

from app.core.problems import Conflict, InvalidInput, NotFound


class CycleNotClosed(Conflict):
    code = "cycle_not_closed"
    title = "Only a closed cycle can be settled"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    title = "Invoice not found"


class CycleNotReady(Conflict):
    code = "cycle_not_ready"
    title = "The goods of the cycle are not all received and delivered yet"


class InvalidCreditNote(InvalidInput):
    code = "invalid_credit_note"
    title = "The credit note does not fit the invoice"


class InvoiceNotCreditable(Conflict):
    code = "invoice_not_creditable"
    title = "Nothing is left to credit on this invoice line"


class SettlementInProgress(Conflict):
    code = "settlement_in_progress"
    title = "The cycle is being settled right now; retry in a moment"

    def __init__(self, detail: str | None = None, **kwargs: object) -> None:
        kwargs.setdefault("headers", {"Retry-After": "5"})
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
