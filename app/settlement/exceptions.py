"""Errors of settlement."""

from __future__ import annotations

from app.core.problems import Conflict, NotFound


class CycleNotClosed(Conflict):
    code = "cycle_not_closed"
    title = "Only a closed cycle can be settled"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    title = "Invoice not found"
