"""The Cotopaxi demo, run through the API on its own scratch SQLite file (also in the
PostgreSQL runs of the suite), and what its whole cycle comes to."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from app.core import migrate
from app.core.config import Settings, get_settings
from app.core.timeutil import utcnow
from app.demo import data, report
from app.demo.runner import DemoResult, run_demo
from app.main import create_app


@pytest.fixture
def demo_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'minga-demo.db'}"
    monkeypatch.setenv("MINGA_DATABASE_URL", url)
    monkeypatch.setenv("MINGA_FIRST_ADMIN_EMAIL", "admin@minga.ec")
    monkeypatch.setenv("MINGA_FIRST_ADMIN_PASSWORD", "minga-demo-platform")
    monkeypatch.setenv("MINGA_MEDIA_DIR", str(tmp_path / "media-demo"))
    get_settings.cache_clear()
    migrate.upgrade(url)
    # the suite's cheap password hashes and quiet logs (create_app configures both globally)
    yield get_settings().model_copy(
        update={
            "log_level": "WARNING",
            "argon2_time_cost": 1,
            "argon2_memory_kib": 1024,
            "argon2_parallelism": 1,
        }
    )
    get_settings.cache_clear()


@pytest.mark.slow
async def test_the_demo_runs_a_whole_cycle(demo_settings: Settings) -> None:
    result: DemoResult = await run_demo(demo_settings)
    run, world = result.run, result.world

    # every API call answered as expected
    assert len(result.steps) > 250
    assert result.failed_steps == []
    assert len(world.associations) >= 14
    assert {b.name for b in data.BUYERS} <= set(world.buyers)
    assert all(len(suppliers) >= 1 for suppliers in world.suppliers.values())

    # settled, and the money adds up
    assert run.cycle["status"] == "settled"
    assert run.settlement["status"] == "settled"
    paid = report.payouts_total(result)
    assert paid == run.settlement["paid_out_cents"] == run.dashboard["producer_income_cents"]
    assert len(run.payouts) == len(world.associations)  # every association sold something
    assert sum(i["total_cents"] for i in run.invoices) == run.settlement["invoiced_cents"]
    assert run.dashboard["revenue_cents"] == run.settlement["invoiced_cents"]
    assert 0.5 < run.dashboard["producer_share"] < 1
    assert 0 <= run.dashboard["income_gini"] < 1
    # the demo allocates per member; the what-if replays the cycle under every policy
    assert run.cycle["allocation_policy"] == "per_member_equalizing"
    what_if = {o["policy"]: o for o in run.dashboard["what_if"]}
    assert what_if["per_member_equalizing"]["in_use"]
    assert (
        what_if["per_member_equalizing"]["income_gini_per_member"]
        <= what_if["proportional"]["income_gini_per_member"]
    )
    assert run.dashboard["members_women_reached"] > run.dashboard["members_reached"] / 2
    assert {i["payment_method"] for i in run.invoices} == {"invoice", "cash_on_delivery"}

    # the shortfall: Panzaleo came 6 short, Mulaló's surplus covered 4, buyers shared 2
    [short] = report.shortfalls(result)
    association, sku_key, missing = data.SHORTFALL
    assert short.short == ((association, Decimal(missing)),)
    assert short.covered == ((data.SURPLUS[0], Decimal(data.SURPLUS[2])),)
    assert short.shared == short.missing - short.covered_total == 2
    assert short.sku == world.skus[sku_key]["name"]
    assert run.warm_lot["temperature_alert"] is True

    # routes beat each association driving to its buyers
    routes = run.routes
    assert routes["routes"]
    assert routes["unassigned"] == []
    assert routes["routed_km"] > 0
    assert routes["direct_delivery_km"] > routes["distance_km"]
    assert run.dashboard["direct_delivery_km"] > run.dashboard["routed_km"] > 0
    assert all(d["status"] == "delivered" for d in run.deliveries)

    # the joint purchase of feed saved every association money
    campaign = run.campaign
    assert campaign["status"] == "closed"
    assert sum(s["cost_cents"] for s in campaign["shares"]) == campaign["total_cost_cents"]
    assert all(s["saved_cents"] > 0 for s in campaign["shares"])
    assert report.campaign_savings(result) > 0

    # the summary prints, with the logins of every role
    console = Console(record=True, width=160)
    report.render(console, result)
    text = console.export_text()
    assert "admin@minga.ec" in text
    assert data.email("panzaleo") in text
    assert f"{report.money(paid)}" in text

    # the next cycle is left open with offers: every printed buyer login orders right away
    open_cycle = run.open_cycle
    assert open_cycle["status"] == "open"
    closes_at = datetime.fromisoformat(open_cycle["closes_at"])
    assert closes_at > utcnow() + timedelta(days=2)
    assert {o["sku_id"] for o in run.open_offers} == {
        sku["id"] for key, sku in world.skus.items() if key in cycle_demand()
    }
    assert open_cycle["id"] in text
    buyers = [login for login in world.logins if login.role == "buyer"]
    assert {login.organization for login in buyers} == {b.name for b in data.BUYERS}
    for login in buyers:
        assert login.email in text
    await order_as_each_buyer(demo_settings, open_cycle["id"], result)


def cycle_demand() -> set[str]:
    return {key for lines in data.ORDERS.values() for key in lines}


async def order_as_each_buyer(settings: Settings, cycle_id: str, result: DemoResult) -> None:
    """Log in as each printed buyer, on a new app over the demo's database, and order."""
    app = create_app(settings)
    world = result.world
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://minga.demo") as client:
            for login in (x for x in world.logins if x.role == "buyer"):
                r = await client.post(
                    "/api/v1/auth/token",
                    data={"username": login.email, "password": login.password},
                )
                assert r.status_code == 200, r.text
                headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
                r = await client.get(f"/api/v1/cycles/{cycle_id}/availability", headers=headers)
                assert r.status_code == 200, r.text
                available = {a["sku_id"]: Decimal(a["available"]) for a in r.json()}
                lines = [
                    {"sku_id": world.skus[key]["id"], "quantity": quantity}
                    for key, quantity in data.ORDERS[login.organization].items()
                ]
                assert all(available[x["sku_id"]] >= Decimal(x["quantity"]) for x in lines)
                r = await client.post(
                    "/api/v1/orders",
                    headers=headers,
                    json={
                        "buyer_id": world.buyers[login.organization]["id"],
                        "cycle_id": cycle_id,
                        "lines": lines,
                        "payment_method": "invoice",
                    },
                )
                assert r.status_code == 201, r.text
                assert r.json()["cycle_id"] == cycle_id
    finally:
        await app.state.engine.dispose()
