"""A market whose cycle has been received at the centre: two lots of the first association's
cheese, one checked cold and one that arrived warm."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.brands.conftest import BRAND, Network
from tests.fulfilment.helpers import Floor, lot_code
from tests.orders.conftest import Market, build_market
from tests.utils import Api

MEMBERS_TOTAL = 48
MEMBERS_WOMEN = 31


@dataclass
class Traced:
    market: Market
    floor: Floor
    cold: str  # received at 4.0 °C
    warm: str  # received at 11.5 °C: out of range for a chilled cheese


async def network_with_members(api: Api) -> Network:
    """tests.brands.conftest.build_network, with an association that says its members."""
    network = await api.organization("network", name="Red Agroecológica de Cotopaxi")
    _, admin = await api.member(network["id"], role="admin")
    _, staff = await api.member(network["id"], role="staff")
    r = await api.client.post(
        "/api/v1/brands", json={**BRAND, "network_id": network["id"]}, headers=admin
    )
    assert r.status_code == 201, r.text
    setup = Network(api, network, admin, staff, {}, {}, r.json(), {})
    setup.association, setup.association_staff = await setup.join(
        name="Asociación Sabores de Mulaló",
        members_total=MEMBERS_TOTAL,
        members_women=MEMBERS_WOMEN,
    )
    setup.license = await setup.license_for(setup.association["id"])
    return setup


async def build_traced(api: Api) -> Traced:
    m = await build_market(await network_with_members(api))
    floor = await Floor.start(m)
    await floor.order("6")
    await floor.close()
    half = floor.allocated(floor.first) / 2
    cold, warm = lot_code("MUL"), lot_code("MUL")
    await floor.received(floor.first, half, lot_code=cold, temperature_c="4.0")
    await floor.received(
        floor.first, floor.allocated(floor.first) - half, lot_code=warm, temperature_c="11.5"
    )
    assert half > Decimal(0)
    return Traced(m, floor, cold, warm)


@pytest.fixture
async def traced(api: Api) -> Traced:
    return await build_traced(api)
