"""``GET /api/v1/operations/{id}``: how slow work handed to a job goes (a large delivery
day's route plan), and where its result is once it is done."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import CurrentPrincipal, ObjectStoreDep, SessionDep
from app.api.ids import IdPath
from app.core.problems import NotFound, responses
from app.jobs.models import Operation

router = APIRouter(tags=["operations"])
ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "ZIP"}
}


class OperationNotFound(NotFound):
    code = "operation_not_found"
    title = "Operation not found"


class OperationPublic(BaseModel):
    id: str
    kind: str = Field(description="route_plan, settlement or cycle_documents")
    state: str = Field(description="queued, running, succeeded or failed")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: str | None = Field(description="where the result is, once it succeeded")
    problem: dict[str, Any] | None = Field(description="why it failed (RFC 9457)")


def public(operation: Operation) -> OperationPublic:
    return OperationPublic(
        id=operation.id,
        kind=operation.kind,
        state=operation.state,
        created_at=operation.created_at,
        started_at=operation.started_at,
        finished_at=operation.finished_at,
        result=operation.result_path,
        problem=operation.problem,
    )


async def _readable(
    session: SessionDep, principal: CurrentPrincipal, operation_id: str
) -> Operation:
    operation = await session.get(Operation, operation_id)
    if operation is None or not (
        principal.is_member(operation.organization_id)
        or (principal.user_id and principal.user_id == operation.requested_by_user_id)
    ):
        raise OperationNotFound()
    return operation


def accepted(operation: Operation) -> JSONResponse:
    """The 202 of a request whose work an operation does: where to poll, and how soon."""
    return JSONResponse(
        public(operation).model_dump(mode="json"),
        status_code=202,
        headers={"Location": f"/api/v1/operations/{operation.id}", "Retry-After": "2"},
    )


@router.get(
    "/operations/{operation_id}",
    response_model=OperationPublic,
    summary="How slow work asked for goes; its result once done",
    description="While the work is queued or running the answer carries `Retry-After`; "
    "once it succeeded, `result` (and the `Location` header) is where the result is.",
    responses=responses(OperationNotFound),
)
async def read_operation(
    session: SessionDep, principal: CurrentPrincipal, operation_id: IdPath, response: Response
) -> OperationPublic:
    operation = await _readable(session, principal, operation_id)
    if operation.state in ("queued", "running"):
        response.headers["Retry-After"] = "2"
    elif operation.result_path:
        response.headers["Location"] = operation.result_path
    return public(operation)


class OperationResultNotReady(NotFound):
    code = "operation_result_not_ready"
    title = "The operation has no result here (yet)"


@router.get(
    "/operations/{operation_id}/result",
    response_class=Response,
    summary="The file an operation made (a cycle's print pack, as a ZIP)",
    responses=ZIP | responses(OperationNotFound, OperationResultNotReady),
)
async def read_operation_result(
    session: SessionDep, principal: CurrentPrincipal, store: ObjectStoreDep, operation_id: IdPath
) -> Response:
    operation = await _readable(session, principal, operation_id)
    if operation.state != "succeeded" or operation.kind != "cycle_documents":
        raise OperationResultNotReady()
    await session.commit()  # no transaction open while the object store answers
    data = await store.get(f"operations/{operation.id}.zip")
    if data is None:
        raise OperationResultNotReady()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="documents-{operation.id}.zip"'},
    )
