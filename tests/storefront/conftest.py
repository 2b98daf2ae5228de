"""The shop window's tests run on the market of the order tests (a published SKU with two
suppliers, a buyer, an open cycle)."""

from tests.brands.conftest import net  # noqa: F401 - the fixture market builds on
from tests.orders.conftest import market  # noqa: F401 - the fixture these tests use
