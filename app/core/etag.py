"""Strong ETags for JSON answers, and ``304 Not Modified`` for ``If-None-Match``.

The tag is a hash of the exact bytes sent, so two answers share a tag only when they are
byte for byte the same. Answers depend on who asks, so caches are told to keep them private
and to revalidate every time.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

CACHE_CONTROL = "private, no-cache"
VARY = "Authorization, X-API-Key"
NOT_MODIFIED_RESPONSE: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` tag is still current"}
}


def etag_of(body: bytes) -> str:
    digest = hashlib.sha256(body).digest()
    return '"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def none_match(header: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in header.split(","))


def json_with_etag(request: Request, content: BaseModel, *, status_code: int = 200) -> Response:
    """``content`` as JSON with its ETag, or an empty 304 when the client has it already."""
    body = content.model_dump_json().encode()
    return body_with_etag(request, body, etag_of(body), status_code=status_code)


def body_with_etag(
    request: Request,
    body: bytes,
    etag: str,
    *,
    status_code: int = 200,
    cache_control: str = CACHE_CONTROL,
    vary: str = VARY,
) -> Response:
    """A JSON body already rendered (and its tag), or an empty 304."""
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": vary}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)
