"""A large delivery day is planned in the background: ``POST /cycles/{id}/routes`` answers
202 with the operation to poll, which names the stored plan once the job has made it."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi import FastAPI

from tests.fulfilment.helpers import Floor
from tests.fulfilment.test_routes_api import _day
from tests.utils import assert_problem
from tests.utils.jobs import drain


async def test_a_day_planned_in_the_background(floor: Floor, app: FastAPI) -> None:
    f = floor
    await _day(f)
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    r = await f.client.post(url, headers=f.staff | {"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    operation = r.json()
    assert operation["state"] == "queued"
    assert operation["kind"] == "route_plan"
    assert r.headers["Location"] == f"/api/v1/operations/{operation['id']}"
    polled = await f.client.get(r.headers["Location"], headers=f.staff)
    assert polled.status_code == 200, polled.text
    assert polled.json()["state"] == "queued"
    assert polled.headers["Retry-After"]
    assert_problem(await f.client.get(url, headers=f.staff), 404, "route_plan_not_found")
    # nobody outside the centre reads it
    assert_problem(
        await f.client.get(r.headers["Location"], headers=f.other_centre_staff),
        404,
        "operation_not_found",
    )

    await drain(app)
    done = await f.client.get(r.headers["Location"], headers=f.staff)
    assert done.json()["state"] == "succeeded", done.text
    assert done.json()["result"] == f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    assert done.headers["Location"] == done.json()["result"]
    plan = await f.client.get(done.json()["result"], headers=f.staff)
    assert plan.status_code == 200, plan.text
    assert plan.json()["routes"]


async def test_a_large_day_goes_to_the_background_by_itself(
    floor: Floor, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = floor
    await _day(f)
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    r = await f.client.post(url, headers=f.staff)
    assert r.status_code == 200, r.text  # two stops: at once
    monkeypatch.setattr(app.state.settings, "route_async_min_stops", 2)
    r = await f.client.post(url, headers=f.staff)
    assert r.status_code == 202, r.text
    await drain(app)
    done = await f.client.get(r.headers["Location"], headers=f.staff)
    assert done.json()["state"] == "succeeded", done.text


async def test_a_cycle_settled_in_the_background(floor: Floor, app: FastAPI) -> None:
    f = floor
    await f.order("5")
    await f.through_delivery()
    url = f"/api/v1/cycles/{f.m.cycle['id']}/settle"
    assert_problem(
        await f.client.post(url, headers=f.staff | {"Prefer": "respond-async"}),
        404,
        "cycle_not_found",
    )  # the centre's staff may not settle: checked before anything is queued
    r = await f.client.post(url, headers=f.m.net.admin | {"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "settlement"
    await drain(app)
    done = await f.client.get(r.headers["Location"], headers=f.m.net.admin)
    assert done.json()["state"] == "succeeded", done.text
    ledger = await f.client.get(done.json()["result"], headers=f.m.net.admin)
    assert ledger.status_code == 200, ledger.text
    cycle = await f.client.get(f"/api/v1/cycles/{f.m.cycle['id']}", headers=f.m.net.admin)
    assert cycle.json()["status"] == "settled"


async def test_a_days_documents_printed_in_the_background(floor: Floor, app: FastAPI) -> None:
    f = floor
    await _day(f)
    r = await f.client.post(f"/api/v1/cycles/{f.m.cycle['id']}/routes", headers=f.staff)
    assert r.status_code == 200, r.text
    url = f"/api/v1/cycles/{f.m.cycle['id']}/documents"
    assert_problem(
        await f.client.post(url, headers=f.other_centre_staff), 403, "centre_staff_required"
    )
    r = await f.client.post(url, headers=f.staff)
    assert r.status_code == 202, r.text
    result = f"{r.headers['Location']}/result"
    assert_problem(await f.client.get(result, headers=f.staff), 404, "operation_result_not_ready")
    await drain(app)
    done = await f.client.get(r.headers["Location"], headers=f.staff)
    assert done.json()["state"] == "succeeded", done.text
    assert done.json()["result"] == result
    archive = await f.client.get(result, headers=f.staff)
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as z:
        names = z.namelist()
        assert all(z.read(name)[:5] == b"%PDF-" for name in names)
    assert sum(n.startswith("packing-list-") for n in names) == 2  # the day's two shipments
    assert sum(n.startswith("labels-") for n in names) == 2
    assert any(n.startswith("pick-list-") for n in names)
    assert any(n.startswith("route-") for n in names)
