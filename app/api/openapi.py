"""The OpenAPI document tells every error an operation can answer, and its true shape.

Routers list their domain problems in ``responses``; the problems that any operation may
answer because of how it is called are added here, in one place, from what the operation
takes: a body can be unreadable (400), too large (413) or invalid (422); parameters can be
invalid (422), a list's cursor too (422 ``invalid_cursor``); a protected operation can be
called without credentials (401). Every problem is documented as what it is on the wire:
``application/problem+json`` with ``ProblemBody`` (FastAPI's own ``HTTPValidationError`` is
never sent, so it is not documented).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.api.docs import apply_summaries
from app.core.limits import PayloadTooLarge
from app.core.pagination import InvalidCursor
from app.core.problems import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    InvalidInput,
    Problem,
    ProblemBody,
    Unauthenticated,
)

REF = "#/components/schemas/{model}"
PROBLEM_REF = {"$ref": REF.format(model=ProblemBody.__name__)}
FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")
HTML_MEDIA_TYPE = "text/html"
METHODS = frozenset({"get", "put", "post", "delete", "patch", "options", "head", "trace"})


def _mention(description: str, problem: type[Problem]) -> str:
    entry = f"{problem.title} (`{problem.code}`)"
    if f"`{problem.code}`" in description:
        return description
    if not description or description == "Validation Error":
        return entry
    return f"{description}; {entry}"


def _add(responses: dict[str, Any], problem: type[Problem]) -> None:
    entry = responses.setdefault(str(problem.status), {"description": ""})
    entry["description"] = _mention(entry.get("description", ""), problem)


def _as_problem(response: dict[str, Any]) -> None:
    """The problem's media type, with the schema of what is really sent (and the HTML page
    of a public page's error, which browsers get instead)."""
    html = (response.get("content") or {}).get(HTML_MEDIA_TYPE)
    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(PROBLEM_REF)}}
    if html is not None:
        response["content"][HTML_MEDIA_TYPE] = html


def _is_problem(status: str, response: dict[str, Any]) -> bool:
    if not status.isdigit() or int(status) < 400:
        return False
    content = response.get("content") or {}
    if not content:
        return True
    return PROBLEM_MEDIA_TYPE in content or any(
        REF.format(model=name) in str(media)
        for media in content.values()
        for name in FASTAPI_VALIDATION
    )


def document_operation(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        for problem in (BadRequest, PayloadTooLarge, InvalidInput):
            _add(responses, problem)
    parameters = operation.get("parameters") or []
    if parameters:
        _add(responses, InvalidInput)
    if any(p.get("in") == "query" and p.get("name") == "cursor" for p in parameters):
        _add(responses, InvalidCursor)
    if operation.get("security"):
        _add(responses, Unauthenticated)
    for status, response in responses.items():
        if _is_problem(status, response):
            _as_problem(response)


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in METHODS:
                document_operation(operation)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ProblemBody.model_json_schema(ref_template=REF)
    components.update(body.pop("$defs", {}))
    components[ProblemBody.__name__] = body
    for name in FASTAPI_VALIDATION:
        components.pop(name, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` answer the completed document (built once, then cached)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(apply_summaries(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
