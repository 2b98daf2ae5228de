"""A whole cycle with several buyers, each with its address, phone and delivery notes: what
the read models' names are checked on (orders, shipments, routes, invoices, payouts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market

BUYERS = (
    ("Restaurante La Cuchara de Palo", "Eloy Alfaro", "Av. Amazonas 12-40 y Quito"),
    ("Cafetería El Molino", "La Matriz", "Calle Sánchez de Orellana 5-21"),
    ("Hostería Rumipamba", "Mulaló", "Vía a Mulaló km 3"),
    ("Comedor Solidario San Felipe", "San Buenaventura", "Calle Juan Abel Echeverría 88"),
    ("Picantería Doña Rosita", "Ignacio Flores", "Calle Guayaquil 7-19"),
)


@dataclass
class Day:
    floor: Floor
    buyers: list[dict[str, Any]] = field(default_factory=list)
    staff: dict[str, dict[str, str]] = field(default_factory=dict)  # by buyer id
    orders: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    vehicle: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def m(self) -> Market:
        return self.floor.m

    def buyer(self, buyer_id: str) -> dict[str, Any]:
        [buyer] = [b for b in self.buyers if b["id"] == buyer_id]
        return buyer


async def ordered(m: Market, buyers: int = len(BUYERS)) -> Day:
    """Buyers with contact details, each with an order of 4 (the first pinning the second
    association)."""
    day = Day(await Floor.start(m))
    for i, (name, parish, address) in enumerate(BUYERS[:buyers]):
        buyer, staff = await day.floor.buyer(
            name,
            parish=parish,
            address=address,
            phone=f"+593 3 281 {i:04d}",
            delivery_notes=f"Entrada por la cocina, {7 + i}:00 a 10:00",
            latitude=-0.93 + i / 100,
            longitude=-78.61 + i / 100,
        )
        day.buyers.append(buyer)
        day.staff[buyer["id"]] = staff
        extra = {"preferred_association_id": m.second["id"]} if i == 0 else {}
        r = await m.client.post(
            "/api/v1/orders",
            json={
                "buyer_id": buyer["id"],
                "cycle_id": m.cycle["id"],
                "lines": [{"sku_id": m.sku["id"], "quantity": "4", **extra}],
                "payment_method": "invoice",
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        day.orders.append(r.json())
    return day


async def routed(m: Market, buyers: int = len(BUYERS)) -> Day:
    """Ordered, closed, received, packed and routed on one cold van (not delivered yet)."""
    day = await ordered(m, buyers)
    f = day.floor
    await f.close()
    await f.receive_all()
    day.shipments = await f.build()
    r = await f.client.post(
        f"/api/v1/collection-centres/{m.centre['id']}/vehicles",
        json={"name": "Furgón frío Hino", "capacity_kg": "500", "chilled": True},
        headers=f.admin,
    )
    assert r.status_code == 201, r.text
    day.vehicle = r.json()
    r = await f.client.post(f"/api/v1/cycles/{m.cycle['id']}/routes", headers=f.staff)
    assert r.status_code == 200, r.text
    day.plan = r.json()
    return day


async def settled(m: Market, buyers: int = len(BUYERS)) -> Day:
    """Routed, every shipment delivered, and the cycle settled."""
    day = await routed(m, buyers)
    await day.floor.deliver_all(day.shipments)
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return day
