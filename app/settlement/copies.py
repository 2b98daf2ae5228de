"""Invoices as first printed, kept in the object store, so every reprint is the same file.

An invoice is issued once (its row is written when the cycle settles, already numbered and
dated; there is no draft), but drawing it again would not give the same bytes (reportlab
stamps each file with its time and a random id) nor, after an organisation edits its name
or address, the same text. So the first print is stored and later requests get that copy.

What an invoice shows still grows in one way: the credit notes issued against it are
listed on it. A print after the n-th note is another document, stored apart, as is one in
a language a reader asked for (``?lang=``):

``invoices/<id>.pdf`` (as issued, in the buyer's language), ``invoices/<id>.en.pdf``,
``invoices/<id>.cn1.pdf``, ``invoices/<id>.cn1.en.pdf``…
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.core.printing import Language, Printer, document_language
from app.core.storage import ObjectStore
from app.settlement import invoice_pdf
from app.settlement.invoice_pdf import InvoiceDocument

PDF = "application/pdf"


class PrintedInvoice(NamedTuple):
    number: str
    pdf: bytes


def copy_key(data: InvoiceDocument, asked: Language | None) -> str:
    notes = f".cn{len(data.credit_notes)}" if data.credit_notes else ""
    language = f".{asked}" if asked else ""
    return f"invoices/{data.id}{notes}{language}.pdf"


async def printed_invoice(
    session: AsyncSession,
    principal: Principal,
    invoice_id: str,
    *,
    store: ObjectStore,
    lang: Language | None = None,
    as_issued: bool = False,
) -> PrintedInvoice:
    """The invoice's PDF for a reader of it: the stored copy, or a print stored now.
    ``as_issued``: the invoice as it was issued, before any credit note on it (the copy the
    invoice's own e-mail carries, however late it is sent)."""
    data = await invoice_pdf.invoice_document(session, principal, invoice_id)
    if as_issued and data.credit_notes:
        data = dataclasses.replace(data, credit_notes=())
    key = copy_key(data, lang)
    pdf = await store.get(key)
    if pdf is None:
        printer = Printer(document_language(data, lang))
        pdf = await anyio.to_thread.run_sync(invoice_pdf.invoice_pdf, data, printer)
        if not await store.put_if_absent(key, pdf, PDF):
            # another request printed it at the same time and stored its copy first
            pdf = await store.get(key) or pdf
    return PrintedInvoice(data.number, pdf)
