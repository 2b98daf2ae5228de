"""Every operation of the OpenAPI schema, fuzzed by schemathesis: no 5xx, no status the
operation does not document, no body outside its documented schema, whoever asks.

Each generated request goes out as the platform admin and as a buyer's staff; where its path
names objects that exist (a small market, built once), it goes out again with their real ids,
so the fuzzed bodies and queries reach the services and the database, not only the 404 of an
unknown id. Generation is derandomised and seeded: CI runs the same cases every time.

No operation is left out. The Stripe webhook gets a signing secret, so unsigned events must
be refused as 400 problems (without one the deployment answers 503 on purpose); the image
upload and the CSV import are fuzzed as multipart like the rest.

The schema is read at import from an app that touches no database (schemathesis' lazy
``from_fixture`` loader does not run on pytest 9.2); the app under test is a second instance
on the test database, served on schemathesis' own event-loop thread (its ASGI transport is
synchronous, so these tests are too); the market is built through the async client of the
other tests, on the session's app and loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from app.core.config import Environment, Settings
from app.core.timeutil import utcnow
from app.main import bootstrap, create_app
from tests.brands.conftest import build_network
from tests.catalog.helpers import PNG
from tests.conftest import empty_tables
from tests.fulfilment.helpers import Floor, lot_code
from tests.orders.conftest import Market, build_market
from tests.utils import Api

pytestmark = pytest.mark.slow  # every operation fuzzed: minutes in all, seconds per operation

MAX_EXAMPLES = 10
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
CONFIG = schemathesis.Config.from_dict(
    {"seed": 2026, "generation": {"database": "none", "deterministic": True}}
)


def _published_schema() -> schemathesis.BaseSchema:
    """The OpenAPI document the app publishes; no database is touched to get it."""
    app = create_app(
        Settings(
            environment=Environment.test,
            database_url="sqlite+aiosqlite://",
            log_level="WARNING",
            scheduler_enabled=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
            _env_file=None,  # type: ignore[call-arg]
        )
    )
    return schemathesis.openapi.from_dict(app.openapi(), config=CONFIG)


schema = _published_schema()


@dataclass
class World:
    app: FastAPI
    admin: dict[str, str]
    buyer: dict[str, str]
    ids: dict[str, str]  # path parameter name → an object that exists


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    media = tmp_path_factory.mktemp("fuzzed-media")
    secret = SecretStr("whsec_fuzzing-only-secret")
    app = create_app(
        settings.model_copy(update={"media_dir": str(media), "stripe_webhook_secret": secret})
    )
    yield app
    asgi.shutdown_lifespans()  # its engine is disposed on the loop that used it


@pytest.fixture(scope="module")
async def emptied_afterwards(app: FastAPI) -> AsyncIterator[None]:
    """The module's rows go at its end even if building the world failed halfway: under xdist
    other tests run on the same database after these."""
    yield
    await empty_tables(app)


@pytest.fixture(scope="module")
async def world(
    app: FastAPI, fuzzed_app: FastAPI, emptied_afterwards: None
) -> AsyncIterator[World]:
    await bootstrap(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        m = await build_market(await build_network(api))
        _, spare = await api.member(m.buyer["id"], role="staff")
        me = (await client.get("/api/v1/me", headers=spare)).json()
        product = await m.net.sheet()
        order = await m.order("2")
        assert order.status_code == 201, order.text
        standing = await client.post(
            "/api/v1/standing-orders",
            json={
                "buyer_id": m.buyer["id"],
                "network_id": m.net.network["id"],
                "lines": [{"sku_id": m.sku["id"], "quantity": "1"}],
                "payment_method": "invoice",
            },
            headers=m.buyer_staff,
        )
        assert standing.status_code == 201, standing.text
        campaign = await client.post(
            "/api/v1/purchase-campaigns",
            json={
                "network_id": m.net.network["id"],
                "supplier_name": "Agroinsumos del Centro",
                "item_name": "Abono orgánico",
                "unit": "kg",
                "pack_size": "25",
                "tiers": [{"min_packs": 1, "pack_price_cents": 1800}],
                "closes_at": (utcnow() + timedelta(days=3)).isoformat(),
            },
            headers=m.net.admin,
        )
        assert campaign.status_code == 201, campaign.text
        key = await client.post(
            f"/api/v1/organizations/{m.buyer['id']}/api-keys",
            json={"name": "Caja"},
            headers=await api.admin(),
        )
        image = await client.post(
            f"/api/v1/products/{product['id']}/images",
            files={"file": ("queso.png", PNG, "image/png")},
            headers=m.net.association_staff,
        )
        suppliers = await client.get(f"/api/v1/skus/{m.sku['id']}/suppliers", headers=m.net.admin)
        ids = {
            "key_id": key.json()["id"],
            "image_id": image.json()["id"],
            "supplier_id": suppliers.json()[0]["id"],
            **await _delivered_cycle(m),
            "organization_id": m.buyer["id"],
            "user_id": me["id"],
            "network_id": m.net.network["id"],
            "product_id": product["id"],
            "brand_id": m.net.brand["id"],
            "license_id": m.net.license["id"],
            "sku_id": m.sku["id"],
            "cycle_id": m.cycle["id"],
            "offer_id": m.offers["first"]["id"],
            "order_id": order.json()["id"],
            "standing_order_id": standing.json()["id"],
            "campaign_id": campaign.json()["id"],
            "buyer_id": m.buyer["id"],
            "centre_id": m.centre["id"],
        }
        yield World(fuzzed_app, await api.admin(), m.buyer_staff, ids)


async def _delivered_cycle(m: Market) -> dict[str, str]:
    """A second cycle of the market, closed, received, packed, delivered and settled: the ids of its
    delivery order, lot, shipment and invoice."""
    closed = replace(m, cycle=await m.new_cycle(), offers={})
    await closed.offer(closed.cycle["id"], m.net.association["id"], "30", m.net.association_staff)
    floor = await Floor.start(closed)
    await floor.order("4")
    await floor.close()
    code = lot_code("FUZZ")
    await floor.received(floor.first, floor.allocated(floor.first), lot_code=code)
    [shipment] = await floor.build()
    await floor.deliver_all([shipment])
    settled = await m.client.post(
        f"/api/v1/cycles/{closed.cycle['id']}/settle", headers=m.net.admin
    )
    assert settled.status_code == 200, settled.text
    invoices = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": closed.cycle["id"]}, headers=m.net.admin
    )
    return {
        "delivery_order_id": floor.delivery_orders[floor.first]["id"],
        "lot_code": code,
        "shipment_id": shipment["id"],
        "invoice_id": invoices.json()["items"][0]["id"],
    }


def _call(case: schemathesis.Case, world: World, headers: dict[str, str]) -> None:
    response = case.call(headers=headers, app=world.app)
    case.validate_response(response, checks=CHECKS, headers=headers)


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_operation(case: schemathesis.Case, world: World) -> None:
    for headers in (world.admin, world.buyer):
        _call(case, world, headers)
    generated = dict(case.path_parameters or {})
    real = {name: world.ids[name] for name in generated if name in world.ids}
    if real:
        case.path_parameters = {**generated, **real}
        try:
            for headers in (world.admin, world.buyer):
                _call(case, world, headers)
        finally:
            case.path_parameters = generated
