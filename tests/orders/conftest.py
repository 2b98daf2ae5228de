"""A running market: a network with a brand SKU supplied by two associations, a collection
centre, a buyer, and an open cycle with offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from app.core.timeutil import utcnow
from tests.brands.conftest import Network, net  # noqa: F401 - the fixture this one builds on
from tests.utils import Api


@dataclass
class Market:
    net: Network
    sku: dict[str, Any]
    second: dict[str, Any]
    second_staff: dict[str, str]
    centre: dict[str, Any]
    buyer: dict[str, Any]
    buyer_staff: dict[str, str]
    cycle: dict[str, Any] = field(default_factory=dict)
    offers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.net.client

    @property
    def api(self) -> Api:
        return self.net.api

    async def new_cycle(
        self,
        *,
        opens_at: datetime | str | None = None,
        closes_at: datetime | str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        now = utcnow()
        body = {
            "network_id": self.net.network["id"],
            "collection_centre_id": self.centre["id"],
            "opens_at": str(opens_at or (now - timedelta(hours=1)).isoformat()),
            "closes_at": str(closes_at or (now + timedelta(days=2)).isoformat()),
            "delivery_date": None,
            "allocation_policy": "proportional",
        }
        body.update(fields)
        if body["delivery_date"] is None:  # the day after the cut-off
            closes = datetime.fromisoformat(str(body["closes_at"]))
            body["delivery_date"] = (closes + timedelta(days=1)).date().isoformat()
        r = await self.client.post("/api/v1/cycles", json=body, headers=self.net.admin)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def offer(
        self,
        cycle_id: str,
        association_id: str,
        quantity: str,
        headers: dict[str, str],
        **fields: Any,
    ) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/cycles/{cycle_id}/offers",
            json={
                "sku_id": self.sku["id"],
                "association_id": association_id,
                "quantity": quantity,
                **fields,
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def order(
        self, quantity: str = "5", *, headers: dict[str, str] | None = None, **fields: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "buyer_id": self.buyer["id"],
            "cycle_id": self.cycle["id"],
            "lines": [{"sku_id": self.sku["id"], "quantity": quantity}],
            "payment_method": "invoice",
        }
        body.update(fields)
        return await self.client.post(
            "/api/v1/orders", json=body, headers=headers or self.buyer_staff
        )

    async def availability(self, cycle_id: str | None = None) -> dict[str, Any]:
        r = await self.client.get(
            f"/api/v1/cycles/{cycle_id or self.cycle['id']}/availability", headers=self.buyer_staff
        )
        assert r.status_code == 200, r.text
        [row] = [a for a in r.json() if a["sku_id"] == self.sku["id"]]
        result: dict[str, Any] = row
        return result


async def build_market(network: Network) -> Market:
    """Two suppliers of a SKU, a centre, a buyer with staff, an open cycle with two offers."""
    sku = await network.sku()
    product = await network.sheet()
    assert (await network.approve(sku["id"], product["id"])).status_code == 201
    second, second_staff = await network.join(name="Asociación Nueva Esperanza", parish="Pujilí")
    await network.license_for(second["id"])
    other_product = await network.sheet(association_id=second["id"], headers=second_staff)
    assert (await network.approve(sku["id"], other_product["id"])).status_code == 201
    centre = await network.api.organization("collection_centre", name="Centro de acopio Latacunga")
    buyer = await network.api.organization("buyer", name="Mama Miche Marisquería")
    _, buyer_staff = await network.api.member(buyer["id"], role="staff")
    m = Market(network, sku, second, second_staff, centre, buyer, buyer_staff)
    m.cycle = await m.new_cycle()
    assert m.cycle["status"] == "open"
    m.offers["first"] = await m.offer(
        m.cycle["id"], network.association["id"], "30", network.association_staff
    )
    m.offers["second"] = await m.offer(m.cycle["id"], second["id"], "20", second_staff)
    return m


@pytest.fixture
async def market(net: Network) -> Market:  # noqa: F811 - the imported fixture
    return await build_market(net)
