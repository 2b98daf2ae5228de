"""The public pages' texts, in the visitor's language: gettext catalogues of the domain
``pages`` (``app/locales/{es,en}/LC_MESSAGES/pages.po``, made from ``pages.pot`` by
``make pages-messages``), read through Babel and used by Jinja2's i18n extension.

A catalogue's ``.mo`` is compiled from its ``.po`` when it is missing or older (it is not
kept in git); where the package folder cannot be written, it is compiled in memory.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DOMAIN = "pages"
LANGUAGES = ("es", "en")
DEFAULT_LANGUAGE = "es"


def negotiate(accept_language: str | None) -> str:
    """The best of ``LANGUAGES`` for an ``Accept-Language`` header (by q-value, then order);
    Spanish when it names none of them."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        candidate = (-q, position, language)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


def compiled(language: str) -> bytes:
    """The ``.mo`` of a language's catalogue, compiled from its ``.po`` if missing or older."""
    folder = LOCALES_DIR / language / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return mo.read_bytes()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    with contextlib.suppress(OSError):  # a read-only install: the catalogue stays in memory
        mo.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@lru_cache
def translations(language: str) -> Translations:
    return Translations(io.BytesIO(compiled(language)), domain=DOMAIN)
