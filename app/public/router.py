"""``GET /t/{lot_code}``: the page behind every label's QR code, for anyone, without a login.

HTML for people (server-rendered, mobile first, no JavaScript), the same content as JSON for
``Accept: application/json``, in the visitor's language (``Accept-Language``; Spanish when
it names none we have). Not under ``/api/v1``: the address is printed on labels and must
stay short and stable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.api.deps import SessionDep
from app.core.problems import PROBLEM_MEDIA_TYPE
from app.fulfilment.exceptions import LotNotFound
from app.public.i18n import negotiate, translations
from app.public.origin import LOT_CODE_PATTERN, OriginPage, origin_page

TEMPLATES = FilePath(__file__).resolve().parent / "templates"
HTML = "text/html"
JSON = "application/json"
# A lot's page changes seldom (its sheet version is frozen); a minute of staleness at most
# for a missing one, which may be received later.
CACHE_FOUND = "public, max-age=300"
CACHE_MISSING = "public, max-age=60"
VARY = "Accept, Accept-Language"

router = APIRouter(tags=["public"])

LotCode = Annotated[
    str,
    Path(
        min_length=1,
        max_length=100,
        description="The lot code printed on the label (a code no lot can have is a 404)",
    ),
]


@lru_cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def wants_json(accept: str | None) -> bool:
    """JSON when the client prefers it to HTML (a browser's ``*/*`` gets the page)."""
    quality = {HTML: 0.0, JSON: 0.0}
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if media in {JSON, PROBLEM_MEDIA_TYPE}:
            quality[JSON] = max(quality[JSON], q)
        elif media in {HTML, "text/*", "*/*"}:
            quality[HTML] = max(quality[HTML], q if media == HTML else q * 0.99)
    return quality[JSON] > quality[HTML]


@router.get(
    "/t/{lot_code}",
    response_model=OriginPage,
    summary="Where a lot comes from: the public page behind every label's QR code",
    description=(
        "For anyone, no login. A server-rendered page (`text/html`) in the language of "
        "`Accept-Language` (Spanish by default); the same content as JSON with "
        "`Accept: application/json`. An unknown code is a 404 page (a problem as JSON)."
    ),
    responses={
        200: {"content": {HTML: {"schema": {"type": "string"}}}},
        404: {
            **LotNotFound.openapi(),
            "content": {PROBLEM_MEDIA_TYPE: {}, HTML: {"schema": {"type": "string"}}},
        },
    },
)
async def read_origin_page(request: Request, session: SessionDep, lot_code: LotCode) -> Response:
    language = negotiate(request.headers.get("accept-language"))
    as_json = wants_json(request.headers.get("accept"))
    headers = {"Vary": VARY, "Content-Language": language}
    page = None
    if re.fullmatch(LOT_CODE_PATTERN, lot_code):
        page = await origin_page(session, lot_code, language, translations(language))
    if page is None:
        headers["Cache-Control"] = CACHE_MISSING
        if as_json:
            raise LotNotFound(headers=headers)
        html = (
            environment(language)
            .get_template("not_found.html")
            .render(language=language, code=lot_code)
        )
        return HTMLResponse(html, status_code=404, headers=headers)
    headers["Cache-Control"] = CACHE_FOUND
    if as_json:
        return JSONResponse(page.model_dump(mode="json"), headers=headers)
    html = environment(language).get_template("origin.html").render(language=language, page=page)
    return HTMLResponse(html, headers=headers)
