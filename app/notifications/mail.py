"""A notification as an e-mail: subject, text and HTML parts from one Jinja2 template per
kind (``templates/<kind>.html``, blocks ``subject``, ``text`` and ``html``), in the
recipient's language through the gettext domain ``mail`` (``app/locales/*/LC_MESSAGES``),
with the document attached where there is one; delivered through SMTP (aiosmtplib), or
written to ``mail_dir`` as ``.eml`` files when no SMTP server is configured.
"""

from __future__ import annotations

import email.utils
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosmtplib
import anyio
from babel.dates import format_date, format_time
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.core.config import Settings
from app.core.printing import LOCALES, Printer, compile_catalogue
from app.notifications.models import Notification

TEMPLATES = Path(__file__).resolve().parent / "templates"
DOMAIN = "mail"
LANGUAGES = ("es", "en")
SEPARATOR = "\x1e"


def day(value: str | date, language: str) -> str:
    """``sábado, 12 de diciembre de 2026`` / ``Saturday, December 12, 2026``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return format_date(value, format="full", locale=language)


def at(value: str | datetime, zone: str, language: str) -> str:
    """A moment in the cycle's time zone, as people there read it."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(ZoneInfo(zone))
    return f"{format_date(local, 'full', locale=language)}, {format_time(local, 'HH:mm')}"


def clock(value: str | datetime, zone: str) -> str:
    """``10:40``, in the cycle's time zone."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_time(moment.astimezone(ZoneInfo(zone)), "HH:mm")


@lru_cache(maxsize=4)
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    compile_catalogue(language, DOMAIN)
    env.install_gettext_translations(  # type: ignore[attr-defined] # the i18n extension's
        Translations.load(str(LOCALES), [language], domain=DOMAIN), newstyle=True
    )
    printer = Printer("en" if language == "en" else "es")  # the documents' formats
    env.filters["money"] = lambda cents, currency: printer.money(int(cents), currency)
    env.filters["qty"] = lambda value: printer.quantity(Decimal(str(value)))
    env.filters["day"] = lambda value: day(value, language)
    env.filters["moment"] = lambda value, zone: at(value, zone, language)
    env.filters["clock"] = lambda value, zone: clock(value, zone)
    return env


def render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) of a message."""
    env = environment(language if language in LANGUAGES else "es")
    template = env.get_template(f"{kind}.html")
    # _mail.html puts the three blocks one after the other, parted by a record separator
    rendered = template.render(dict(context) | {"language": language})
    parts = [part.strip() for part in rendered.split(SEPARATOR)]
    subject = " ".join(parts[0].split())
    return subject, parts[1] + "\n", parts[2]


def compose(
    settings: Settings, row: Notification, attachments: list[tuple[str, str, bytes]]
) -> EmailMessage:
    context = dict(row.context)
    if "link_path" in context:
        context["link"] = settings.public_base_url + str(context["link_path"])
    subject, text, html = render(row.kind, row.language, context)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.email
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(localtime=False)
    # the same id on every attempt: a receiving server that saw it may drop the copy
    domain = email.utils.parseaddr(settings.mail_from)[1].rpartition("@")[2] or "minga"
    message["Message-ID"] = f"<{row.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Minga-Kind"] = row.kind
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    message["Content-Language"] = row.language  # after the parts: set_content drops it
    return message


async def deliver(settings: Settings, message: EmailMessage) -> None:
    if not settings.smtp_host:
        await anyio.to_thread.run_sync(_write_file, settings.mail_dir, message)
        return
    await aiosmtplib.send(
        message,
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls and not settings.smtp_tls,
        use_tls=settings.smtp_tls,
        timeout=settings.smtp_timeout_seconds,
    )


def _write_file(folder: str, message: EmailMessage) -> None:
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    name = str(message["Message-ID"]).strip("<>").partition("@")[0]
    target = path / f"{name}.eml"
    partial = target.with_suffix(".eml.part")
    partial.write_bytes(message.as_bytes())
    partial.replace(target)
