"""Every error leaves as an RFC 9457 problem with a stable code; no stack trace leaks."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.core.i18n import N_, Joined, Message, lazy_gettext, scope_language
from app.core.logging import request_id_var
from app.core.problems import PROBLEM_MEDIA_TYPE, InternalError, InvalidInput, Problem
from app.core.validation_messages import validation_message

log = logging.getLogger("app.errors")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
}


# The titles of the HTTP errors that are not domain problems (unknown path, wrong method, …),
# as the catalogue knows them; other statuses keep the standard phrase untranslated.
HTTP_TITLES = {
    400: N_("Bad Request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not Found"),
    405: N_("Method Not Allowed"),
    406: N_("Not Acceptable"),
    409: N_("Conflict"),
    413: N_("Content Too Large"),
    415: N_("Unsupported Media Type"),
    422: N_("Unprocessable Content"),
    429: N_("Too Many Requests"),
    500: N_("Internal Server Error"),
}


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = problem.body(
        instance=request.url.path,
        request_id=request_id_var.get(),
        language=scope_language(request.scope),
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        # a 500 leaves through Starlette's outermost middleware, past SecurityHeadersMiddleware
        headers={"X-Content-Type-Options": "nosniff", **problem.headers},
        media_type=PROBLEM_MEDIA_TYPE,
    )


PROBED_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _documented_paths(app: Any) -> list[tuple[re.Pattern[str], int, frozenset[str]]]:
    """The OpenAPI document's paths: a pattern, how many parameters, which methods."""
    cached: list[tuple[re.Pattern[str], int, frozenset[str]]] | None = getattr(
        app.state, "documented_paths", None
    )
    if cached is None:
        cached = []
        for template, item in app.openapi().get("paths", {}).items():
            literals = re.split(r"\{[^}]*\}", template)
            pattern = re.compile("^" + "[^/]+".join(map(re.escape, literals)) + "$")
            methods = frozenset(m.upper() for m in item if m.upper() in PROBED_METHODS)
            cached.append((pattern, len(literals) - 1, methods))
        app.state.documented_paths = cached
    return cached


def allowed_methods(request: Request) -> str:
    """Every method the request's path answers to (RFC 9110 §15.5.6). Starlette names only
    those of the first route that matched the path, and FastAPI has one route per method, so
    each method is tried against the app's routes (through their public ``matches``).

    Where several documented paths fit, the most literal one is the resource: the path
    ``/products/import`` also fits ``/products/{product_id}``, but a GET there asks for a
    sheet whose id is "import" (a 404); the import takes POST alone."""
    allowed = []
    for method in PROBED_METHODS:
        # a copy, nested dicts too: matching writes FastAPI's bookkeeping into the scope
        probe = {k: dict(v) if isinstance(v, dict) else v for k, v in request.scope.items()}
        probe["method"] = method
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    path = request.scope["path"]
    fitting = [
        (n, methods)
        for pattern, n, methods in _documented_paths(request.app)
        if pattern.match(path)
    ]
    if fitting:
        fewest = min(n for n, _ in fitting)
        literal = set().union(*(methods for n, methods in fitting if n == fewest))
        allowed = [method for method in allowed if method in literal] or allowed
    return ", ".join(allowed)


def _http_problem(
    request: Request, status: int, detail: Any, headers: dict[str, str] | None
) -> Problem:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    title = HTTP_TITLES.get(status, phrase)
    cls = type(
        "HTTPProblem",
        (Problem,),
        {"status": status, "code": HTTP_CODES.get(status, f"http_{status}"), "title": title},
    )
    message: str | Message = detail if isinstance(detail, str) and detail else title
    if message == phrase:  # Starlette's own, which says no more than the title
        if status == 404:
            message = N_("Nothing is found at this address; the API documentation is at /docs")
        elif status == 405:
            message = lazy_gettext(
                "This address does not answer to {method}; the Allow header says what it does",
                method=request.method,
            )
        else:
            message = title
    problem: Problem = cls(message, headers=headers)
    return problem


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def validation_problem(exc: RequestValidationError) -> InvalidInput:
    """422 with an item per invalid field; the messages are rendered in the request's
    language (app/core/validation_messages.py)."""
    items = [(_field(tuple(err.get("loc", ()))), validation_message(err)) for err in exc.errors()]
    if not items:
        return InvalidInput(N_("The request is not valid"))
    summary = Joined([Joined([field, ": ", message]) for field, message in items[:5]], "; ")
    return InvalidInput(
        summary, errors=[{"field": field, "detail": message} for field, message in items]
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, validation_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
        problem = _http_problem(request, exc.status_code, exc.detail, headers)
        return problem_response(request, problem)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            request,
            InternalError(
                N_("Something went wrong on our side; quote the request id when you report it")
            ),
        )
