"""RFC 9457 problem details: the one shape of every error Minga answers.

Every domain error is a subclass of ``Problem`` with a stable machine ``code`` and one
HTTP status; routers list the ones they raise in ``responses`` so OpenAPI documents them.

``title`` and ``detail`` are written in English and rendered in the request's language
(app/core/i18n.py): the title and a static detail by their msgid, a parameterised detail as
a ``Message`` (``_l("The order is {status}", status=...)``). The ``code`` is never translated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from app.core.i18n import Joined, Message, current_language, render

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://minga.coop/problems/"


class ProblemItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    field: str | None = None
    rule: str | None = None
    detail: str


class ProblemBody(BaseModel):
    """The JSON body of every error answer."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[ProblemItem] = Field(default_factory=list)


class Problem(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | Message | Joined | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message: str | Message | Joined = detail or self.title
        # the English text, for logs and code; the answer renders ``message`` in a language
        self.detail = self.message if isinstance(self.message, str) else self.message.source()
        self.errors = [dict(e) for e in errors]
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(
        self,
        *,
        instance: str | None = None,
        request_id: str | None = None,
        language: str | None = None,
    ) -> ProblemBody:
        """The answer in ``language`` (the current request's by default)."""
        language = language or current_language()
        return ProblemBody(
            type=PROBLEM_TYPE_BASE + self.code.replace("_", "-"),
            title=render(self.title, language),
            status=self.status,
            detail=render(self.message, language),
            code=self.code,
            instance=instance,
            request_id=request_id,
            errors=[ProblemItem(**_rendered(e, language)) for e in self.errors],
        )

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """An entry for a router's ``responses={status: ...}``."""
        return {
            "model": ProblemBody,
            "description": f"{cls.title} (`{cls.code}`)",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }


def _rendered(item: Mapping[str, Any], language: str) -> dict[str, Any]:
    if "detail" not in item:
        return dict(item)
    return {**item, "detail": render(item["detail"], language)}


def responses(*problems: type[Problem]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a list of problems; several codes may share a status."""
    out: dict[int | str, dict[str, Any]] = {}
    for problem in problems:
        entry = out.setdefault(problem.status, problem.openapi())
        if entry["description"] != problem.openapi()["description"]:
            entry["description"] += f"; {problem.title} (`{problem.code}`)"
    return out


class BadRequest(Problem):
    status = 400
    code = "bad_request"
    title = "Bad request"


class Unauthenticated(Problem):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"

    def __init__(self, detail: str | Message | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(Problem):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(Problem):
    status = 409
    code = "conflict"
    title = "Conflict"


class InvalidInput(Problem):
    status = 422
    code = "validation_error"
    title = "Invalid input"


class TooManyRequests(Problem):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(
        self, detail: str | Message | None = None, *, retry_after: int, **kwargs: Any
    ) -> None:
        self.retry_after = max(1, int(retry_after))
        kwargs["headers"] = {"Retry-After": str(self.retry_after)}
        super().__init__(detail, **kwargs)


class InternalError(Problem):
    status = 500
    code = "internal_error"
    title = "Internal server error"
