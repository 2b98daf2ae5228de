"""The collection centre's fixture: the shared market (tests/orders) with its centre's staff."""

from __future__ import annotations

import pytest

from tests.brands.conftest import net  # noqa: F401 - the fixtures this one builds on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401


@pytest.fixture
async def floor(market: Market) -> Floor:  # noqa: F811 - the imported fixture
    return await Floor.start(market)
