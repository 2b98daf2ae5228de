"""A collection centre at work on the shared ``market``: staff, closing the cycle, delivery
orders, receipts and shipments, all through the HTTP API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from tests.orders.conftest import Market
from tests.utils import Api

_lots = itertools.count(1)


def lot_code(prefix: str = "L") -> str:
    return f"{prefix}-{next(_lots):05d}"


@dataclass
class Floor:
    """The market's cycle, its centre with an admin and a staff member, and an outsider
    centre whose staff must not see anything of it."""

    m: Market
    admin: dict[str, str]
    staff: dict[str, str]
    other_centre_staff: dict[str, str]
    delivery_orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    async def start(cls, m: Market) -> Floor:
        _, admin = await m.api.member(m.centre["id"], role="admin")
        _, staff = await m.api.member(m.centre["id"], role="staff")
        other = await m.api.organization("collection_centre", name="Centro de acopio Salcedo")
        _, other_staff = await m.api.member(other["id"], role="staff")
        return cls(m, admin, staff, other_staff)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.m.client

    @property
    def api(self) -> Api:
        return self.m.api

    @property
    def first(self) -> str:
        return str(self.m.net.association["id"])

    @property
    def second(self) -> str:
        return str(self.m.second["id"])

    async def buyer(self, name: str, **fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
        buyer = await self.api.organization("buyer", name=name, **fields)
        _, staff = await self.api.member(buyer["id"], role="staff")
        return buyer, staff

    async def order(
        self,
        quantity: str,
        buyer: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        fields = {"buyer_id": buyer["id"]} if buyer else {}
        r = await self.m.order(quantity, headers=headers, **fields)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def close(self) -> dict[str, dict[str, Any]]:
        """Close the cycle; the delivery orders by association."""
        cycle_id = self.m.cycle["id"]
        r = await self.client.post(f"/api/v1/cycles/{cycle_id}/close", headers=self.m.net.admin)
        assert r.status_code == 200, r.text
        r = await self.client.get(f"/api/v1/cycles/{cycle_id}/delivery-orders", headers=self.staff)
        assert r.status_code == 200, r.text
        self.delivery_orders = {d["association_id"]: d for d in r.json()}
        return self.delivery_orders

    def allocated(self, association_id: str) -> Decimal:
        [line] = self.delivery_orders[association_id]["lines"]
        return Decimal(line["quantity"])

    async def receive(
        self,
        association_id: str,
        accepted: Decimal | str,
        *,
        rejected: str = "0",
        headers: dict[str, str] | None = None,
        sku_id: str | None = None,
        **fields: Any,
    ) -> httpx.Response:
        line: dict[str, Any] = {
            "sku_id": sku_id or self.m.sku["id"],
            "accepted_quantity": str(accepted),
            "rejected_quantity": rejected,
            "lot_code": fields.pop("lot_code", None) or lot_code(),
            **fields,
        }
        return await self.client.post(
            f"/api/v1/delivery-orders/{self.delivery_orders[association_id]['id']}/receipts",
            json={"lines": [line]},
            headers=headers or self.staff,
        )

    async def received(self, association_id: str, accepted: Decimal | str, **fields: Any) -> Any:
        r = await self.receive(association_id, accepted, **fields)
        assert r.status_code == 201, r.text
        return r.json()

    async def build(self) -> list[dict[str, Any]]:
        r = await self.client.post(
            f"/api/v1/cycles/{self.m.cycle['id']}/shipments", headers=self.staff
        )
        assert r.status_code == 200, r.text
        result: list[dict[str, Any]] = r.json()
        return result

    async def delivery_order(self, association_id: str) -> dict[str, Any]:
        r = await self.client.get(
            f"/api/v1/delivery-orders/{self.delivery_orders[association_id]['id']}",
            headers=self.staff,
        )
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    async def get_order(self, order_id: str, headers: dict[str, str] | None = None) -> Any:
        r = await self.client.get(f"/api/v1/orders/{order_id}", headers=headers or self.m.net.admin)
        assert r.status_code == 200, r.text
        return r.json()

    async def receive_all(self) -> None:
        """Every association delivers exactly its allocation."""
        for association_id in self.delivery_orders:
            await self.received(association_id, self.allocated(association_id))

    async def deliver_all(self, shipments: list[dict[str, Any]] | None = None) -> None:
        """Every shipment reaches its buyer, nothing returned."""
        for shipment in shipments if shipments is not None else await self.build():
            r = await self.client.post(
                f"/api/v1/shipments/{shipment['id']}/deliver",
                json={"received_by": "Cocina"},
                headers=self.staff,
            )
            assert r.status_code == 200, r.text

    async def through_delivery(self) -> None:
        """Close, receive every allocation, pack and deliver: ready to settle."""
        await self.close()
        await self.receive_all()
        await self.deliver_all()
