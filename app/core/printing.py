"""What every printed document shares: its language, its translations (the gettext domain
"documents" under ``app/locales``), money and quantities written for people, and text made
safe for reportlab's markup.

A document is in the language of the organisation that receives it (``document_language``,
the one place to change that rule); a reader may ask for another with ``?lang=``.
"""

from __future__ import annotations

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


class Receiver(Protocol):
    @property
    def country(self) -> str: ...


def document_language(org: Receiver | None, asked: str | None = None) -> Language:
    """The language a document is printed in: the reader's ``?lang=`` if given, else the
    receiving organisation's (Spanish for Ecuador and Colombia, English elsewhere)."""
    if asked == "es" or asked == "en":
        return asked
    language = getattr(org, "language", None)
    if language in LANGUAGES:
        return language  # type: ignore[no-any-return]
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
            tmp = mo.with_suffix(f".mo.{threading.get_ident()}")
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
        """``1.234,50 USD`` in Spanish, ``1,234.50 USD`` in English; COP has no cents."""
        sign = "-" if cents < 0 else ""
        whole, minor = divmod(abs(cents), 100)
        thousands, decimal = (".", ",") if self.language == "es" else (",", ".")
        digits = f"{whole:,}".replace(",", thousands)
        if currency == "COP":
            return f"{sign}{digits} {currency}"
        return f"{sign}{digits}{decimal}{minor:02d} {currency}"

    def quantity(self, value: Decimal, places: int = 3) -> str:
        text = f"{value:.{places}f}"
        return text.replace(".", ",") if self.language == "es" else text

    def percent(self, bps: int) -> str:
        text = f"{Decimal(bps) / 100:.2f}".rstrip("0").rstrip(".")
        return (text.replace(".", ",") if self.language == "es" else text) + " %"


def xml(text: str) -> str:
    """Text for a Paragraph, which reads reportlab's mini-markup: every name, code and note
    from the database goes through here, so ``<img src=…>`` or ``<a href=…>`` in a name is
    drawn as written and never makes reportlab open a file or a URL."""
    return escape(text, {'"': "&quot;"})
