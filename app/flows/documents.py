"""A cycle's print pack, made by a job: every shipment's packing list and labels, the
cycle's pick list and every route sheet, as one ZIP in the object store. Printing a large
day's documents one request at a time takes minutes of requests; ``POST
/cycles/{id}/documents`` answers 202 with the operation, whose result is the ZIP."""

from __future__ import annotations

import io
import zipfile

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts.principal import SYSTEM, Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import current_language
from app.core.printing import Printer, document_language
from app.core.problems import Problem
from app.core.storage import object_store
from app.fulfilment import access, documents, printouts, route_sheet
from app.fulfilment.models import PlannedRoute, RoutePlan, Shipment
from app.jobs import operations
from app.jobs.models import Operation
from app.jobs.tasks import JobContext, task


def pack_key(operation_id: str) -> str:
    return f"operations/{operation_id}.zip"


async def start(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, cycle_id: str
) -> Operation:
    async with transaction(sessionmaker) as session:
        cycle = await access.centre_cycle(session, principal, cycle_id)
        return await operations.start(
            session,
            kind="cycle_documents",
            task_name="documents.cycle_pack",
            organization_id=cycle.collection_centre_id,
            user_id=principal.user_id,
            args={"cycle_id": cycle_id, "language": current_language()},
        )


async def _pack(session: AsyncSession, settings: Settings, cycle_id: str) -> bytes:
    files: list[tuple[str, bytes]] = []
    cycle = await access.centre_cycle(session, SYSTEM, cycle_id)
    shipments = list(
        await session.scalars(
            select(Shipment).where(Shipment.cycle_id == cycle.id).order_by(col(Shipment.id))
        )
    )
    for shipment in shipments:
        data = await documents.packing_data(
            session, SYSTEM, shipment.id, public_base_url=settings.public_base_url
        )
        printer = Printer(document_language(data))
        files.append(
            (
                f"packing-list-{shipment.id}.pdf",
                await anyio.to_thread.run_sync(printouts.packing_list_pdf, data, printer),
            )
        )
        files.append(
            (
                f"labels-{shipment.id}.pdf",
                await anyio.to_thread.run_sync(printouts.labels_pdf, data, printer),
            )
        )
    _, rows = await documents.cycle_pick_list_rows(session, SYSTEM, cycle.id, None)
    centre = await documents.organization(session, cycle.collection_centre_id)
    pick = documents.pick_list_data(cycle, centre, rows)
    files.append(
        (
            f"pick-list-{cycle.id}.pdf",
            await anyio.to_thread.run_sync(
                printouts.pick_list_pdf, pick, Printer(document_language(centre))
            ),
        )
    )
    route_ids = await session.scalars(
        select(PlannedRoute.id)
        .join(RoutePlan, col(RoutePlan.id) == col(PlannedRoute.plan_id))
        .where(RoutePlan.cycle_id == cycle.id)
        .order_by(col(PlannedRoute.position))
    )
    for route_id in list(route_ids):
        sheet = await route_sheet.route_sheet(session, SYSTEM, route_id)
        files.append(
            (
                f"route-{route_id}.pdf",
                await anyio.to_thread.run_sync(
                    route_sheet.route_sheet_pdf, sheet, Printer(document_language(sheet))
                ),
            )
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            archive.writestr(name, content)
    return buffer.getvalue()


@task("documents.cycle_pack", max_attempts=3)
async def cycle_pack(ctx: JobContext, operation_id: str) -> None:
    operation = await operations.claim(ctx.sessionmaker, operation_id)
    if operation is None:
        return
    try:
        async with transaction(ctx.sessionmaker, write=False) as session:
            archive = await _pack(session, ctx.settings, str(operation.args["cycle_id"]))
    except Problem as problem:  # the shipments are not built yet…
        await operations.fail(ctx.sessionmaker, operation, problem)
        return
    # no transaction is open while the object store is written
    await object_store(ctx.settings).put(pack_key(operation_id), archive, "application/zip")
    await operations.succeed(
        ctx.sessionmaker, operation_id, f"/api/v1/operations/{operation_id}/result"
    )
