"""What every printed document shares: its language, its translations (the gettext domain
"documents" under ``app/locales``), money and quantities written for people, and text made
safe for reportlab's markup.

A document is in the language of the organisation that receives it (``document_language``,
the one place to change that rule); a reader may ask for another with ``?lang=``.
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol
from xml.sax.saxutils import escape

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "documents"
Language = Literal["es", "en"]
LANGUAGES: tuple[Language, ...] = ("es", "en")
SPANISH_COUNTRIES = frozenset({"EC", "CO"})
_compiling = threading.Lock()


def _n_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is drawn."""
    return message


UNITS = {
    "kg": _n_("kg"),
    "lb": _n_("lb"),
    "unit": _n_("pcs"),
    "litre": _n_("l"),
    "dozen": _n_("dozen"),
}


class Receiver(Protocol):
    @property
    def country(self) -> str: ...


def _language(value: object) -> Language | None:
    for language in LANGUAGES:
        if value == language:
            return language
    return None


def document_language(org: Receiver | None, asked: str | None = None) -> Language:
    """The language a document is printed in: the reader's ``?lang=`` if given, else the
    receiving organisation's own language where it has one, else its country's (Spanish for
    Ecuador and Colombia, English elsewhere)."""
    chosen = _language(asked) or _language(getattr(org, "language", None))
    if chosen is not None:
        return chosen
    if org is None or org.country in SPANISH_COUNTRIES:
        return "es"
    return "en"


def compile_catalogue(language: str, domain: str = DOMAIN) -> Path:
    """The compiled ``.mo`` of a catalogue, written from its ``.po`` when missing or older
    (``make compile-messages`` does this at install; this keeps a fresh checkout working)."""
    po = LOCALES / language / "LC_MESSAGES" / f"{domain}.po"
    mo = po.with_suffix(".mo")
    with _compiling:
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source:
                catalogue = read_po(source, locale=language, domain=domain)
            tmp = mo.with_suffix(f".mo.{os.getpid()}.{threading.get_ident()}")
            with tmp.open("wb") as out:
                write_mo(out, catalogue)
            tmp.replace(mo)
    return mo


@lru_cache(maxsize=8)
def translations(language: Language) -> NullTranslations:
    compile_catalogue(language)
    return Translations.load(str(LOCALES), [language], domain=DOMAIN)


class Printer:
    """The texts and formats of one document in one language."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self._t = translations(language)

    def __call__(self, message: str, **params: object) -> str:
        """The translated message, ``{name}`` placeholders filled with ``params``."""
        text = self._t.gettext(message)
        return text.format(**params) if params else text

    def money(self, cents: int, currency: str) -> str:
        """``1.234,50 USD`` in Spanish, ``1,234.50 USD`` in English; whole pesos without
        their (zero) centavos."""
        sign = "-" if cents < 0 else ""
        whole, minor = divmod(abs(cents), 100)
        thousands, decimal = (".", ",") if self.language == "es" else (",", ".")
        digits = f"{whole:,}".replace(",", thousands)
        if currency == "COP" and minor == 0:  # pesos are written without centavos
            return f"{sign}{digits} {currency}"
        return f"{sign}{digits}{decimal}{minor:02d} {currency}"

    def quantity(self, value: Decimal, places: int = 3) -> str:
        """``12,5`` in Spanish, ``12.5`` in English: at most ``places`` decimals, no trailing
        zeros (``40`` pieces, not ``40,000``)."""
        text = f"{value:.{places}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text.replace(".", ",") if self.language == "es" else text

    def amount(self, value: Decimal, unit: str) -> str:
        """A quantity in its sale unit, the unit written for the reader (``40 u.``)."""
        return f"{self.quantity(value)} {self(UNITS[unit]) if unit in UNITS else unit}"

    def percent(self, bps: int) -> str:
        text = f"{Decimal(bps) / 100:.2f}".rstrip("0").rstrip(".")
        return (text.replace(".", ",") if self.language == "es" else text) + " %"


def xml(text: str) -> str:
    """Text for a Paragraph, which reads reportlab's mini-markup: every name, code and note
    from the database goes through here, so ``<img src=…>`` or ``<a href=…>`` in a name is
    drawn as written and never makes reportlab open a file or a URL."""
    return escape(text, {'"': "&quot;"})


def bold(text: str) -> str:
    return f"<b>{xml(text)}</b>"


def red(text: str) -> str:
    """A warning in the documents' red, bold."""
    return f'<font color="#bf1a1a"><b>{xml(text)}</b></font>'
