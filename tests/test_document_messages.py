"""The documents' catalogue (gettext domain "documents") is complete: every message the
document code marks is in the template, and every one has a Spanish translation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from app.core.printing import LOCALES, Printer

APP = Path(__file__).resolve().parents[1] / "app"
SOURCES = (
    "core/printing.py",
    "fulfilment/printouts.py",
    "fulfilment/route_sheet.py",
    "settlement/invoice_pdf.py",
)


def _catalogue(path: Path, locale: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def test_every_marked_message_is_in_the_template() -> None:
    marked = {
        message
        for source in SOURCES
        for _, message, _, _ in extract_from_file(
            "python", str(APP / source), keywords={"_": None, "_n_": None}
        )
    }
    template = {m.id for m in _catalogue(LOCALES / "documents.pot") if m.id}
    assert marked == template, (
        "run pybabel extract -k _ -k _n_ for app/locales/documents.pot: "
        f"missing {sorted(marked - template)}, stale {sorted(template - marked)}"
    )


def test_every_message_has_a_spanish_translation() -> None:
    template = {m.id for m in _catalogue(LOCALES / "documents.pot") if m.id}
    spanish = _catalogue(LOCALES / "es" / "LC_MESSAGES" / "documents.po", "es")
    translated = {m.id for m in spanish if m.id and m.string and not m.fuzzy}
    assert template <= translated, sorted(template - translated)
    english = _catalogue(LOCALES / "en" / "LC_MESSAGES" / "documents.po", "en")
    assert template <= {m.id for m in english if m.id}


def test_messages_are_read_in_each_language() -> None:
    es, en = Printer("es"), Printer("en")
    assert es("Invoice {number}", number="2026-000001") == "Factura 2026-000001"
    assert en("Invoice {number}", number="2026-000001") == "Invoice 2026-000001"
    assert es.money(123_456, "USD") == "1.234,56 USD"
    assert en.money(123_456, "USD") == "1,234.56 USD"
    assert es.money(1_250_000, "COP") == "12.500 COP"
    assert es.money(1_250_050, "COP") == "12.500,50 COP"
    assert es.amount(Decimal("12.500"), "kg") == "12,5 kg"
    assert en.amount(Decimal("40.000"), "unit") == "40 pcs"
    assert en.percent(1500) == "15 %"
    assert es.percent(1250) == "12,5 %"
