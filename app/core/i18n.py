"""Languages: which one a request is answered in, and the gettext catalogues in ``app/locales``.

Messages are written in English in the code (the msgids); ``app/locales/<lang>/LC_MESSAGES/
<domain>.po`` translate them (see docs/languages.md). Each domain has its own catalogue:
``messages`` for the API's own texts (problems, category labels), others for documents and
pages. A request's language comes from ``Accept-Language``, else the user's ``language``,
else the language of the user's network (its country), else ``DEFAULT_LANGUAGE``.

``LanguageMiddleware`` opens a ``LanguageChoice`` for every request (the header); the
authenticated principal fills in the user's and the network's language when it is known.
Code that renders text asks ``current_language()``, or renders a ``Message`` in a language.
"""

from __future__ import annotations

import functools
import gettext as _gettext
import logging
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
DEFAULT_DOMAIN = "messages"


class Language(StrEnum):
    es = "es"
    en = "en"


LANGUAGES: tuple[str, ...] = tuple(language.value for language in Language)
# Minga's people are Spanish speakers of Ecuador and Colombia: a request that says nothing and
# has no user or network to go by (an anonymous call, a platform admin) is answered in Spanish.
DEFAULT_LANGUAGE = Language.es.value
# The language the msgids are written in: its catalogue may leave them untranslated.
SOURCE_LANGUAGE = Language.en.value
COUNTRY_LANGUAGES: Mapping[str, str] = {"EC": "es", "CO": "es"}

# an Accept-Language header longer than this is read only so far (it is never that long)
MAX_ACCEPT_LANGUAGE = 512
_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_QVALUE = re.compile(r"^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)


def N_(message: str) -> str:
    """Marks a string for the catalogue without translating it here (it is translated where
    it is shown, by its msgid)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular/plural pair for the catalogue (shown with ``lazy_ngettext``)."""
    return singular, plural


def supported(language: str | None) -> str | None:
    """``language`` if Minga speaks it ("es-EC" → "es"), else None."""
    if not language:
        return None
    primary = language.split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header (RFC 9110 §12.5.4), most wanted
    first (ties keep the header's order); malformed ranges and those with q=0 are left out."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        if not _RANGE.match(tag):
            continue
        quality = 1.0
        for param in params:
            match = _QVALUE.match(param)
            if match is None:
                quality = -1.0  # a malformed weight: the range is not trusted
                break
            quality = float(match.group(1))
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(
    accept_language: str | None, user_language: str | None, network_language: str | None
) -> str:
    """The language to answer in: the first range of ``Accept-Language`` that Minga speaks
    (regional variants such as es-EC or es-419 count as their language; ``*`` says nothing),
    else the user's language, else the network's, else ``DEFAULT_LANGUAGE``."""
    for tag in parse_accept_language(accept_language):
        language = supported(tag)
        if language is not None:
            return language
    return supported(user_language) or supported(network_language) or DEFAULT_LANGUAGE


def country_language(country: str | None) -> str | None:
    """The language of a network in ``country`` (EC and CO speak Spanish)."""
    return COUNTRY_LANGUAGES.get((country or "").upper())


# --- the request's language --------------------------------------------------------------------


@dataclass
class LanguageChoice:
    """What a request says about its language; filled in as the request is authenticated.
    Mutable on purpose: a dependency that runs in a copied context still fills in the one
    object the request's error handler reads."""

    accept_language: str | None = None
    user_language: str | None = None
    network_language: str | None = None

    @property
    def language(self) -> str:
        return negotiate(self.accept_language, self.user_language, self.network_language)


_choice: ContextVar[LanguageChoice | None] = ContextVar("language_choice", default=None)
STATE_KEY = "language_choice"


def current_choice() -> LanguageChoice | None:
    return _choice.get()


def current_language() -> str:
    """The language of the request being answered (``DEFAULT_LANGUAGE`` outside one)."""
    choice = _choice.get()
    return choice.language if choice is not None else DEFAULT_LANGUAGE


def note_user(user_language: str | None, network_language: str | None) -> None:
    """Record the authenticated user's language and their network's for this request."""
    choice = _choice.get()
    if choice is not None:
        choice.user_language = user_language
        choice.network_language = network_language


def scope_language(scope: Mapping[str, Any]) -> str:
    """The language of the request of an ASGI ``scope`` (also after the middleware is done,
    for the outermost 500 handler)."""
    state = scope.get("state") or {}
    choice = state.get(STATE_KEY)
    if isinstance(choice, LanguageChoice):
        return choice.language
    return current_language()


@contextmanager
def use_language(language: str) -> Iterator[None]:
    """Render in ``language`` inside the block (documents for a given reader, the CLI)."""
    token = _choice.set(LanguageChoice(accept_language=language))
    try:
        yield
    finally:
        _choice.reset(token)


class LanguageMiddleware:
    """Opens the request's ``LanguageChoice`` from its ``Accept-Language`` header and says in
    ``Content-Language`` which language the answer is in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"accept-language":
                header = value.decode("latin-1")
                break
        choice = LanguageChoice(accept_language=header)
        scope.setdefault("state", {})[STATE_KEY] = choice

        async def send_with_language(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == b"content-language" for name, _ in headers):
                    headers.append((b"content-language", choice.language.encode("ascii")))
                    headers.append((b"vary", b"Accept-Language"))
                message = {**message, "headers": headers}
            await send(message)

        token = _choice.set(choice)
        try:
            await self.app(scope, receive, send_with_language)
        finally:
            _choice.reset(token)


# --- catalogues ---------------------------------------------------------------------------------


def catalogue_path(language: str, domain: str = DEFAULT_DOMAIN) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{domain}.po"


@functools.cache
def translations(language: str, domain: str = DEFAULT_DOMAIN) -> _gettext.NullTranslations:
    """The catalogue of ``domain`` in ``language``, loaded once per process.

    The compiled ``.mo`` (``make compile-messages``, run by ``make install``) when it is there
    and not older than its ``.po``; otherwise the ``.po`` is compiled in memory. So a source
    checkout, a wheel (which leaves out the git-ignored ``.mo``) or a read-only install all
    answer translated, and an edited ``.po`` is never shadowed by a stale ``.mo``.
    """
    po = catalogue_path(language, domain)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fileobj:
            return Translations(fileobj, domain=domain)
    if not po.exists():
        if language != SOURCE_LANGUAGE:
            log.warning("no %s catalogue for %s: %s is shown untranslated", domain, language, po)
        return _gettext.NullTranslations()
    with po.open("rb") as fileobj:
        catalog = read_po(fileobj, locale=language, domain=domain)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=domain)


def gettext(message: str, *, domain: str = DEFAULT_DOMAIN, language: str | None = None) -> str:
    return translations(language or current_language(), domain).gettext(message)


def ngettext(
    singular: str,
    plural: str,
    n: int,
    *,
    domain: str = DEFAULT_DOMAIN,
    language: str | None = None,
) -> str:
    return translations(language or current_language(), domain).ngettext(singular, plural, n)


class Translatable(Protocol):
    """A text that is rendered in a language when it is shown."""

    def render(self, language: str | None = None) -> str: ...

    def source(self) -> str: ...


def _format(template: str, fallback: str, params: Mapping[str, Any], language: str) -> str:
    if not params:
        return template
    # params are shown as they are (ids, quantities, statuses); only messages are translated
    values = {
        k: v.render(language) if isinstance(v, Message | Joined) else v for k, v in params.items()
    }
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # a translation that names a placeholder the code does not give: the source text
        log.warning("translation %r does not format; the source text is shown", template)
        return fallback.format(**values)


@dataclass(frozen=True)
class Message:
    """A message rendered when it is shown, in the reader's language: ``template`` is the
    msgid (English), with ``{name}`` placeholders filled from ``params`` after translation.
    ``str()`` renders it in the current language; ``source()`` is the English text."""

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None
    domain: str = DEFAULT_DOMAIN

    def _templates(self, language: str) -> tuple[str, str]:
        catalogue = translations(language, self.domain)
        if self.plural is not None and self.n is not None:
            source = self.template if self.n == 1 else self.plural
            return catalogue.ngettext(self.template, self.plural, self.n), source
        return catalogue.gettext(self.template), self.template

    def render(self, language: str | None = None) -> str:
        language = language or current_language()
        translated, source = self._templates(language)
        return _format(translated, source, self.params, language)

    def source(self) -> str:
        return self.render(SOURCE_LANGUAGE)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Joined:
    """Texts shown one after the other (a summary of several messages): the messages are
    translated, plain strings shown as they are."""

    parts: Sequence[str | Translatable]
    separator: str = ""

    def render(self, language: str | None = None) -> str:
        language = language or current_language()
        return self.separator.join(
            p if isinstance(p, str) else p.render(language) for p in self.parts
        )

    def source(self) -> str:
        return self.render(SOURCE_LANGUAGE)

    def __str__(self) -> str:
        return self.render()


def lazy_gettext(message: str, /, *, domain: str = DEFAULT_DOMAIN, **params: Any) -> Message:
    """``message`` (with ``{name}`` placeholders filled from ``params``) to be translated
    when shown: ``raise OrderNotChangeable(_l("The order is {status}", status=...))``."""
    return Message(message, params, domain=domain)


def lazy_ngettext(
    singular: str, plural: str, n: int, /, *, domain: str = DEFAULT_DOMAIN, **params: Any
) -> Message:
    """As ``lazy_gettext``, with a plural chosen by ``n`` (``{n}`` is a placeholder too)."""
    return Message(singular, {"n": n, **params}, plural=plural, n=n, domain=domain)


_l = lazy_gettext


def render(text: object, language: str | None = None) -> str:
    """Any text in ``language``: a ``Message``/``Joined`` is rendered, a plain string is
    looked up by msgid (a static message of the catalogue, or shown as it is)."""
    language = language or current_language()
    if isinstance(text, Message | Joined):
        return text.render(language)
    if isinstance(text, str):
        return translations(language, DEFAULT_DOMAIN).gettext(text) if text else text
    return str(text)


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of a template (for the catalogue's tests)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@dataclass(frozen=True)
class Domain:
    """The gettext helpers of one domain, for the documents' and pages' catalogues:
    ``DOCUMENTS = Domain("documents")``, then ``DOCUMENTS.gettext("Invoice", language)``.
    (Attribute calls are not extracted into ``messages``; each domain extracts its own.)"""

    name: str

    def gettext(self, message: str, language: str | None = None) -> str:
        return gettext(message, domain=self.name, language=language)

    def ngettext(self, singular: str, plural: str, n: int, language: str | None = None) -> str:
        return ngettext(singular, plural, n, domain=self.name, language=language)

    def lazy(self, message: str, /, **params: Any) -> Message:
        return Message(message, params, domain=self.name)

    def translations(self, language: str) -> _gettext.NullTranslations:
        return translations(language, self.name)
