"""A network with a regional brand, a licensed association and a sheet that meets the rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.catalog.helpers import sheet
from tests.utils import Api


@dataclass
class Network:
    api: Api
    network: dict[str, Any]
    admin: dict[str, str]
    staff: dict[str, str]
    association: dict[str, Any]
    association_staff: dict[str, str]
    brand: dict[str, Any]
    license: dict[str, Any]

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    async def join(self, **fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """A new association of the network, with a staff login (no licence yet). The
        platform admin joins it at once; a network admin's request would only invite it (see
        tests/api/test_invitations.py for that way)."""
        association = await self.api.organization(**fields)
        r = await self.client.post(
            f"/api/v1/networks/{self.network['id']}/associations",
            json={"association_id": association["id"]},
            headers=await self.api.admin(),
        )
        assert r.status_code == 201, r.text
        _, staff = await self.api.member(association["id"], role="staff")
        return association, staff

    async def license_for(self, association_id: str) -> dict[str, Any]:
        r = await self.client.post(
            f"/api/v1/brands/{self.brand['id']}/licenses",
            json={"association_id": association_id},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def sheet(
        self, *, publish: bool = True, headers: dict[str, str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        fields.setdefault("association_id", self.association["id"])
        r = await self.client.post(
            "/api/v1/products", json=sheet(**fields), headers=headers or self.association_staff
        )
        assert r.status_code == 201, r.text
        product: dict[str, Any] = r.json()
        if publish:
            r = await self.client.post(
                f"/api/v1/products/{product['id']}/publish",
                headers=headers or self.association_staff,
            )
            assert r.status_code == 200, r.text
            product = r.json()
        return product

    async def sku(self, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": "Queso fresco Sabores de Cotopaxi 500 g",
            "category": "dairy",
            "unit": "unit",
            "pack_size": "1",
            "unit_weight_kg": "0.5",
            "gtin": None,
            "producer_price_cents": 250,
            "tiers": [
                {"min_quantity": "0", "unit_price_cents": 400},
                {"min_quantity": "100", "unit_price_cents": 360},
                {"min_quantity": "500", "unit_price_cents": 330},
            ],
            "solidarity_fund_bps": 150,
        }
        body.update(fields)
        r = await self.client.post(
            f"/api/v1/brands/{self.brand['id']}/skus", json=body, headers=self.admin
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def approve(self, sku_id: str, product_id: str) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/skus/{sku_id}/suppliers", json={"product_id": product_id}, headers=self.admin
        )


BRAND = {
    "name": "Sabores de Cotopaxi",
    "slug": "sabores-de-cotopaxi",
    "story": "Lo mejor de las asociaciones de Cotopaxi.",
    "territory": {"provinces": ["Cotopaxi"], "cantons": ["Cayambe"]},
    "rules": {
        "required_certifications": ["agroecological"],
        "allowed_categories": ["dairy", "eggs", "flours"],
        "sanitary_registration_required_for": ["dairy", "flours"],
    },
}


async def build_network(api: Api) -> Network:
    """The network, its admin and staff, its brand, and a licensed association."""
    network = await api.organization("network", name="Red Agroecológica de Cotopaxi")
    _, admin = await api.member(network["id"], role="admin")
    _, staff = await api.member(network["id"], role="staff")
    r = await api.client.post(
        "/api/v1/brands", json={**BRAND, "network_id": network["id"]}, headers=admin
    )
    assert r.status_code == 201, r.text
    brand = r.json()
    setup = Network(api, network, admin, staff, {}, {}, brand, {})
    setup.association, setup.association_staff = await setup.join(
        name="Asociación Sabores de Mulaló"
    )
    setup.license = await setup.license_for(setup.association["id"])
    return setup


@pytest.fixture
async def net(api: Api) -> Network:
    return await build_network(api)
