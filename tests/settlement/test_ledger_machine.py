"""Random cycles through the HTTP API, every ledger invariant checked after every step.

A hypothesis ``RuleBasedStateMachine`` plays a network's seasons. Buyers place, change and
cancel orders (whole packs, invoice or cash on delivery, some pinned to an association,
some retried with their Idempotency-Key; card payments need localstripe and are left to
tests/settlement/test_card_settlement.py) while associations raise and lower their offers;
the network closes the cycle; the centre receives each delivery order with random
shortfalls, surpluses, rejections and real weights, builds the shipments, fails some and
delivers the others with random returns; the network tries to settle (409
``cycle_not_ready`` naming exactly what is missing, until it is ready), credits random
quantities of the invoices (409 ``invoice_not_creditable`` beyond what is left) and opens
the next cycle, whose payouts carry the credit notes' adjustments. What must be refused in
each state is tried too (ordering after the cut-off, delivering twice, touching the goods
after settlement; closing or settling again must change nothing). The machine keeps its
own model of the market and checks every answer against it.

After every step the invariants read the books back: stock reserved is what the placed
lines hold; order lines are never billed above what was delivered (weighed goods apart)
nor credited above what was billed; and once books change (a settlement, a credit note,
a refusal after settlement) the recomputed ledger of each cycle touched
(``GET /cycles/{id}/ledger``) has no difference, and, computed here independently for every
settled cycle (from its payouts, read again, and its invoices, read again when touched):
each invoice is the sum of its lines, each line its unit price times its billed quantity
(half up) with parts that sum to it, what invoices give producers is what payouts pay
gross, the quantities paid are the quantities billed, credit notes come back as
adjustments (never more; all of it once a later payout had room for everything owed),
and the dashboard shows sales net of credit notes. No answer is ever a 5xx.

How it runs:

- Hypothesis' stateful runner is synchronous; the app, its engine and its asyncpg
  connections belong to the session's event loop. The test (async, on that loop) runs the
  machine in a worker thread (``asyncio.to_thread``) and each step hands its coroutine back
  to the loop with ``asyncio.run_coroutine_threadsafe``; the loop is free meanwhile.
- One rule, ``step``, picks among the actions that make sense in the current state, by
  weight, and draws the action's arguments. (One rule per action, with preconditions,
  let hypothesis' swarm testing switch off every action valid in some state: two thirds of
  the examples were thrown away half-way.) A failure prints as the list of draws.
- The market (network, brand, goods, suppliers, centre, buyers) is built through the API
  once; its rows are copied and every example starts from them again, so an example costs
  its own steps only. Picks follow the setup's order (not random ids), so a replayed
  example does the same things.

The default run (8 examples of 30 steps, derandomised) is part of ``make test``;
``MINGA_LEDGER_MACHINE_EXAMPLES=40`` (and ``MINGA_LEDGER_MACHINE_STEPS=60``) runs a bigger
randomised hunt, shrinking any failure to a minimal sequence (the default run prints the
sequence unshrunk; ``MINGA_LEDGER_MACHINE_SHRINK=1`` shrinks it). ``-s`` prints what a
run did.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from app.core.db import metadata
from app.core.timeutil import utcnow
from app.main import bootstrap
from tests.brands.conftest import Network, build_network, net  # noqa: F401 - fixtures
from tests.conftest import SEEDED_TABLES, empty_tables
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import Api

EXAMPLES = int(os.environ.get("MINGA_LEDGER_MACHINE_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=EXAMPLES or 8,
    stateful_step_count=int(os.environ.get("MINGA_LEDGER_MACHINE_STEPS", "30")),
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    # shrinking a failure replays hundreds of examples (minutes): the hunt does it, the
    # default run prints its (derandomised, so reproducible) failing sequence as it came,
    # unless MINGA_LEDGER_MACHINE_SHRINK=1
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    + ([Phase.shrink] if EXAMPLES or os.environ.get("MINGA_LEDGER_MACHINE_SHRINK") else []),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MAX_CYCLES = 4
PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")
MILLI = Decimal("0.001")
ZERO = Decimal(0)
T = TypeVar("T")


# --- the goods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Good:
    """A brand SKU of the machine's network, as the machine knows it."""

    key: str
    pack: Decimal
    weighed: bool  # variable weight: billed on the kilos weighed at the centre
    producer_price_cents: int
    tiers: tuple[tuple[Decimal, int], ...]
    sku: dict[str, Any]

    def price_at(self, volume: Decimal) -> int:
        return max((t for t in self.tiers if t[0] <= volume), key=lambda t: t[0])[1]


GOODS: dict[str, dict[str, Any]] = {
    # whole cheeses; the tiers are within reach of a cycle's offers
    "queso": {
        "sku": {
            "name": "Queso fresco Sabores de Cotopaxi 500 g",
            "unit": "unit",
            "pack_size": "1",
            "unit_weight_kg": "0.5",
            "producer_price_cents": 250,
            "solidarity_fund_bps": 150,
            "tiers": [
                {"min_quantity": "0", "unit_price_cents": 400},
                {"min_quantity": "30", "unit_price_cents": 360},
                {"min_quantity": "60", "unit_price_cents": 330},
            ],
        },
        "sheet": {},
    },
    # half kilos at prices that do not divide evenly
    "quesillo": {
        "sku": {
            "name": "Quesillo por kilo",
            "unit": "kg",
            "pack_size": "0.5",
            "unit_weight_kg": None,
            "producer_price_cents": 251,
            "solidarity_fund_bps": 333,
            "tiers": [
                {"min_quantity": "0", "unit_price_cents": 399},
                {"min_quantity": "10", "unit_price_cents": 377},
            ],
        },
        "sheet": {"name": "Quesillo de Mulaló", "unit": "kg"},
    },
    # cheese wheels sold by the kilo and weighed at the centre
    "hoja": {
        "sku": {
            "name": "Queso de hoja por kilo",
            "unit": "kg",
            "pack_size": "1",
            "unit_weight_kg": None,
            "producer_price_cents": 853,
            "solidarity_fund_bps": 175,
            "tiers": [
                {"min_quantity": "0", "unit_price_cents": 1297},
                {"min_quantity": "12", "unit_price_cents": 1213},
            ],
        },
        "sheet": {
            "name": "Queso de hoja de Mulaló",
            "unit": "kg",
            "pack_size": "1.000",
            "variable_weight": True,
        },
    },
}
KEYS = tuple(GOODS)


# Per cycle and association, how many packs of each good it offers (0: no offer).
def _offer(most: int) -> st.SearchStrategy[int]:
    # hypothesis' simplest value is the full offer, so short supply and no offer at all
    # (0) are the exceptions, as in a real cycle
    return st.integers(0, most).map(lambda n: most - n)


offers_strategy = st.fixed_dictionaries(
    {
        "queso": st.tuples(_offer(40), _offer(40)),
        "quesillo": st.tuples(_offer(24), _offer(24)),
        "hoja": st.tuples(_offer(10), _offer(10)),
    }
)
policies = st.sampled_from(["proportional", "equal_share", "income_equalizing"])
order_lines = st.dictionaries(st.sampled_from(KEYS), st.integers(1, 14), min_size=1, max_size=3)
picks = st.integers(0, 10_000)
# per SKU of a delivery order: packs short (negative: a surplus), packs rejected, grams a
# weighed kilo really weighs
cuts_strategy = st.lists(
    st.tuples(st.integers(-2, 4), st.integers(0, 3), st.integers(850, 1180)),
    min_size=3,
    max_size=3,
)
# per SKU of a shipment: packs and thousandths returned
returns_strategy = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from([0, 0, 0, 1, 250, 333, 500, 999])),
    min_size=3,
    max_size=3,
)


def q(value: Any) -> Decimal:
    return Decimal(str(value))


def cents(price: int, quantity: Decimal) -> int:
    """Unit price times quantity, half up to the cent: computed here, not by app code."""
    return floor(Fraction(price) * Fraction(quantity) + Fraction(1, 2))


def pick(items: list[T], index: int) -> T:
    return items[index % len(items)]


# --- the model -----------------------------------------------------------------------------


@dataclass
class OrderModel:
    id: str
    buyer: int
    lines: dict[str, Decimal]  # sku id -> quantity
    prices: dict[str, int]
    cash: bool
    prefer: str | None  # the association the buyer pinned its lines to
    status: str = "placed"


@dataclass
class ShipmentModel:
    id: str
    buyer_id: str
    lines: dict[str, Decimal]
    rank: int  # the buyer's place among the buyers: picks never depend on random ids
    status: str = "packed"
    returned: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class CycleModel:
    id: str
    delivery_date: date
    offered: dict[str, dict[str, Decimal]]  # sku id -> association id -> quantity
    offer_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    status: str = "open"
    orders: dict[str, OrderModel] = field(default_factory=dict)
    demand: dict[str, Decimal] = field(default_factory=dict)
    final_price: dict[str, int] = field(default_factory=dict)
    close_answer: list[dict[str, Any]] = field(default_factory=list)
    delivery_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    receipts: Counter[str] = field(default_factory=Counter)
    accepted: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    shipments: dict[str, ShipmentModel] = field(default_factory=dict)
    built: bool = False
    # what a weighed unit of each lot really weighed (variable-weight goods)
    kilos_per_unit: dict[str, list[Decimal]] = field(default_factory=lambda: defaultdict(list))
    settle_answer: dict[str, Any] | None = None

    def shipments_in_order(self) -> list[ShipmentModel]:
        return sorted(self.shipments.values(), key=lambda s: s.rank)

    def reserved(self, sku_id: str) -> Decimal:
        return sum(
            (o.lines.get(sku_id, ZERO) for o in self.orders.values() if o.status == "placed"),
            ZERO,
        )

    def available(self, sku_id: str) -> Decimal:
        return sum(self.offered.get(sku_id, {}).values(), ZERO) - self.reserved(sku_id)


@dataclass
class NoteModel:
    id: str
    invoice_id: str
    cycle_id: str
    producer_cents: int
    total_cents: int


@dataclass
class Setup:
    """The market every example starts from (built once through the API)."""

    net: Network
    associations: list[tuple[str, dict[str, str]]]
    goods: dict[str, Good]
    centre: dict[str, Any]
    centre_staff: dict[str, str]
    buyers: list[tuple[dict[str, Any], dict[str, str]]]


async def build_setup(api: Api) -> Setup:
    """A network with two licensed associations both supplying the three goods, a centre
    with staff, and three buyers with staff (two on longer terms)."""
    network = await build_network(api)
    second, second_staff = await network.join(name="Asociación Nueva Esperanza", parish="Pujilí")
    await network.license_for(second["id"])
    associations = [
        (network.association["id"], network.association_staff),
        (second["id"], second_staff),
    ]
    goods: dict[str, Good] = {}
    for key, spec in GOODS.items():
        sku = await network.sku(**spec["sku"])
        for association_id, staff in associations:
            sheet = await network.sheet(
                association_id=association_id, headers=staff, **spec["sheet"]
            )
            r = await network.approve(sku["id"], sheet["id"])
            assert r.status_code == 201, r.text
        goods[key] = Good(
            key=key,
            pack=q(spec["sku"]["pack_size"]),
            weighed=bool(spec["sheet"].get("variable_weight")),
            producer_price_cents=spec["sku"]["producer_price_cents"],
            tiers=tuple(
                (q(t["min_quantity"]), t["unit_price_cents"]) for t in spec["sku"]["tiers"]
            ),
            sku=sku,
        )
    centre = await api.organization("collection_centre", name="Centro de acopio Latacunga")
    _, centre_staff = await api.member(centre["id"], role="staff")
    buyers = []
    for name, terms in (("Mama Miche", None), ("Hotel Rodelu", 45), ("Supermaxi", 60)):
        extra = {"payment_terms_days": terms} if terms else {}
        buyer = await api.organization("buyer", name=name, **extra)
        _, staff = await api.member(buyer["id"], role="staff")
        buyers.append((buyer, staff))
    return Setup(network, associations, goods, centre, centre_staff, buyers)


Rows = dict[str, list[dict[str, Any]]]


async def copy_rows(app: FastAPI) -> Rows:
    """Every row the setup wrote (the seeded reference tables stay as they are)."""
    rows: Rows = {}
    async with app.state.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in SEEDED_TABLES:
                result = await conn.execute(table.select())
                rows[table.name] = [dict(row._mapping) for row in result]
    return rows


async def restore_rows(app: FastAPI, rows: Rows) -> None:
    """Back to the setup in one transaction: every table emptied (DELETE: on these few
    rows far quicker than ``empty_tables``' TRUNCATE on PostgreSQL), then the setup's rows
    again, with their ids, so the logins taken at the setup stay valid."""
    async with app.state.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name in rows:
                await conn.execute(table.delete())
        for table in metadata.sorted_tables:
            if rows.get(table.name):
                await conn.execute(table.insert(), rows[table.name])


@dataclass
class World:
    """What the test gives the machine: the session's app and client, and a way to run a
    coroutine on the session loop from the machine's thread."""

    app: FastAPI
    client: httpx.AsyncClient
    run: Callable[[Coroutine[Any, Any, Any]], Any]
    setup: Setup | None = None
    rows: Rows = field(default_factory=dict)
    seen: Counter[str] = field(default_factory=Counter)  # answers and steps, for the summary


def on_loop(
    fn: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., None]:
    """A rule or invariant written as a coroutine, run on the session loop."""

    @functools.wraps(fn)
    def step(self: LedgerMachine, *args: Any, **kwargs: Any) -> None:
        self.world.run(fn(self, *args, **kwargs))

    return step


@dataclass(frozen=True)
class Action:
    """One thing a participant can do: when it makes sense, how often it is picked among
    the actions that make sense (its weight), and the strategies of its arguments."""

    name: str
    when: Callable[[Any], bool]
    weight: Callable[[Any], int]
    arguments: dict[str, st.SearchStrategy[Any]]


ACTIONS: list[Action] = []


def action(
    when: Callable[[Any], Any],
    weight: int | Callable[[Any], int],
    **arguments: st.SearchStrategy[Any],
) -> Callable[[Callable[..., Coroutine[Any, Any, None]]], Callable[..., Coroutine[Any, Any, None]]]:
    def register(
        fn: Callable[..., Coroutine[Any, Any, None]],
    ) -> Callable[..., Coroutine[Any, Any, None]]:
        weigh = weight if callable(weight) else lambda _: weight
        ACTIONS.append(Action(fn.__name__, lambda m: bool(when(m)), weigh, arguments))
        return fn

    return register


_lots = itertools.count(1)


def lot_code() -> str:
    return f"MQ-{next(_lots):06d}"


class LedgerMachine(RuleBasedStateMachine):
    world: ClassVar[World]  # set on the subclass each test run makes

    def __init__(self) -> None:
        super().__init__()
        self.cycles: list[CycleModel] = []
        self.notes: list[NoteModel] = []
        # credited quantity per (invoice id, sku id); billed quantities from the invoices
        self.credited: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.invoices: dict[str, dict[str, Any]] = {}  # id -> invoice as settled
        # the books of a settled cycle change only by settling it and crediting its
        # invoices (and must not by anything refused after settlement): the settled cycles
        # such a step touched are read back in full; the others' invoices as last read
        self.dirty: set[str] = set()
        self.invoice_pages: dict[str, list[dict[str, Any]]] = {}

    # --- plumbing ------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        *,
        expect: int | None = None,
        code: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        r = await self.world.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        assert r.status_code < 500, f"{method} {path} -> {r.status_code}: {r.text}"
        if expect is not None:
            assert r.status_code == expect, f"{method} {path} -> {r.status_code}: {r.text}"
        if code is not None:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
            assert r.json()["code"] == code, r.text
        what = "/".join(path.strip("/").split("/")[::2])  # the path without its ids
        self.world.seen[f"{method} {what} {r.status_code}"] += 1
        return r

    async def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        r = await self.call("GET", path, headers or self.admin, expect=200, params=params)
        return r.json()

    @property
    def current(self) -> CycleModel:
        return self.cycles[-1]

    @property
    def admin(self) -> dict[str, str]:
        return self.net.admin

    def by_rank(self, items: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        """In the setup's order of their SKU, association or buyer (not by random ids, so
        that a replayed example picks the same things)."""
        return sorted(items, key=lambda x: self.rank[x[key]])

    def ranked(self, by_sku: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
        return sorted(by_sku.items(), key=lambda x: self.rank[x[0]])

    def good(self, sku_id: str) -> Good:
        return self.by_sku[sku_id]

    def is_open(self) -> bool:
        return bool(self.cycles) and self.current.status == "open"

    def is_closed(self) -> bool:
        return bool(self.cycles) and self.current.status == "closed"

    def settled(self) -> list[CycleModel]:
        return [c for c in self.cycles if c.status == "settled"]

    # --- the one rule -----------------------------------------------------------------------

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """Pick an action among those that make sense now (by weight), draw its arguments,
        and run it on the session loop."""
        valid = [a for a in ACTIONS if a.when(self)]
        name = data.draw(
            st.sampled_from([a.name for a in valid for _ in range(a.weight(self))]), label="action"
        )
        [chosen] = [a for a in valid if a.name == name]
        arguments = {k: data.draw(strategy, label=k) for k, strategy in chosen.arguments.items()}
        self.world.run(getattr(self, name)(**arguments))
        self.world.seen[f"step {name}"] += 1

    # --- the world ------------------------------------------------------------------------

    @initialize(offers=offers_strategy, policy=policies)
    @on_loop
    async def market(self, offers: dict[str, tuple[int, int]], policy: str) -> None:
        """The network, its brand's goods, their suppliers, the centre and the buyers: built
        through the API for the first example, then restored from a copy of its rows."""
        world = self.world
        if world.setup is None:
            await empty_tables(world.app)
            await bootstrap(world.app)
            world.setup = await build_setup(Api(world.client))
            world.rows = await copy_rows(world.app)
        else:
            await restore_rows(world.app, world.rows)
        setup = world.setup
        self.net, self.associations, self.goods = setup.net, setup.associations, setup.goods
        self.by_sku = {g.sku["id"]: g for g in self.goods.values()}
        self.centre, self.centre_staff, self.buyers = setup.centre, setup.centre_staff, setup.buyers
        ids = [*self.by_sku, *(a for a, _ in self.associations), *(b["id"] for b, _ in self.buyers)]
        self.rank = {x: n for n, x in enumerate(ids)}
        await self.open_cycle(offers, policy)

    async def open_cycle(self, offers: dict[str, tuple[int, int]], policy: str) -> None:
        now = utcnow()
        closes = now + timedelta(days=2)
        body = {
            "network_id": self.net.network["id"],
            "collection_centre_id": self.centre["id"],
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": closes.isoformat(),
            "delivery_date": (closes + timedelta(days=1 + len(self.cycles))).date().isoformat(),
            "allocation_policy": policy,
        }
        r = await self.call("POST", "/cycles", self.admin, expect=201, json=body)
        assert r.json()["status"] == "open", r.text
        cycle = CycleModel(r.json()["id"], date.fromisoformat(body["delivery_date"]), {})
        for key, packs in offers.items():
            good = self.goods[key]
            for (association_id, staff), n in zip(self.associations, packs, strict=True):
                if not n:
                    continue
                quantity = n * good.pack
                r = await self.call(
                    "POST",
                    f"/cycles/{cycle.id}/offers",
                    staff,
                    expect=201,
                    json={
                        "sku_id": good.sku["id"],
                        "association_id": association_id,
                        "quantity": str(quantity),
                    },
                )
                cycle.offered.setdefault(good.sku["id"], {})[association_id] = quantity
                cycle.offer_ids[(good.sku["id"], association_id)] = r.json()["id"]
        self.cycles.append(cycle)

    # --- until the cut-off ------------------------------------------------------------------

    def _wanted(self, lines: dict[str, int]) -> dict[str, Decimal]:
        return {self.goods[k].sku["id"]: n * self.goods[k].pack for k, n in sorted(lines.items())}

    def _check_order(
        self, body: dict[str, Any], wanted: dict[str, Decimal], prices: dict[str, int]
    ) -> None:
        assert body["status"] == "placed", body
        got = {line["sku_id"]: q(line["quantity"]) for line in body["lines"]}
        assert got == wanted, body
        assert {line["sku_id"]: line["unit_price_cents"] for line in body["lines"]} == prices
        assert body["total_cents"] == sum(cents(prices[s], x) for s, x in wanted.items()), body

    def _shortage(self, r: httpx.Response, short: set[str]) -> None:
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "insufficient_supply", r.text
        assert {e["sku_id"] for e in r.json()["errors"]} == short, r.text

    def _lines(self, wanted: dict[str, Decimal], prefer: str | None) -> list[dict[str, Any]]:
        pin = {"preferred_association_id": prefer} if prefer else {}
        return [{"sku_id": s, "quantity": str(x), **pin} for s, x in wanted.items()]

    def _unoffered(self, wanted: dict[str, Decimal], prefer: str | None) -> bool:
        """A pin to an association that offers one of the SKUs not at all: 422."""
        c = self.current
        return prefer is not None and any(prefer not in c.offered.get(s, {}) for s in wanted)

    @action(
        lambda m: m.is_open(),
        4,
        buyer=st.integers(0, 2),
        lines=order_lines,
        cash=st.booleans(),
        prefer=st.sampled_from([None, None, 0, 1]),
        retry=st.sampled_from([None, None, "same", "other"]),
    )
    async def place_order(
        self,
        buyer: int,
        lines: dict[str, int],
        cash: bool,
        prefer: int | None,
        retry: str | None,
    ) -> None:
        """A buyer orders, optionally with an Idempotency-Key, and then ``retry``s: the
        same request again (the first answer, nothing reserved twice) or another body
        with the same key (422)."""
        c = self.current
        wanted = self._wanted(lines)
        pinned = None if prefer is None else self.associations[prefer][0]
        short = {s for s, x in wanted.items() if x > c.available(s)}
        prices = {s: self.good(s).price_at(c.reserved(s) + x) for s, x in wanted.items()}
        org, staff = self.buyers[buyer]
        body = {
            "buyer_id": org["id"],
            "cycle_id": c.id,
            "lines": self._lines(wanted, pinned),
            "payment_method": "cash_on_delivery" if cash else "invoice",
        }
        headers = {**staff, "Idempotency-Key": f"order-{lot_code()}"} if retry else staff
        r = await self.call("POST", "/orders", headers, json=body)
        if self._unoffered(wanted, pinned):
            assert (r.status_code, r.json()["code"]) == (422, "invalid_order"), r.text
            return
        if short:
            self._shortage(r, short)
            if retry == "same":  # a refusal is not kept: the retry runs again, and fails again
                self._shortage(await self.call("POST", "/orders", headers, json=body), short)
            return
        assert r.status_code == 201, r.text
        self._check_order(r.json(), wanted, prices)
        assert {x["preferred_association_id"] for x in r.json()["lines"]} == {pinned}, r.text
        order = OrderModel(r.json()["id"], buyer, wanted, prices, cash, pinned)
        c.orders[order.id] = order
        if retry == "same":
            again = await self.call("POST", "/orders", headers, expect=201, json=body)
            assert again.json() == r.json(), (again.json(), r.json())
        elif retry == "other":
            other = {**body, "payment_method": "invoice" if cash else "cash_on_delivery"}
            await self.call(
                "POST", "/orders", headers, expect=422, code="idempotency_key_reused", json=other
            )

    @action(lambda m: m.is_open() and m.current.orders, 2, which=picks, lines=order_lines)
    async def change_order(self, which: int, lines: dict[str, int]) -> None:
        c = self.current
        order = pick(list(c.orders.values()), which)
        wanted = self._wanted(lines)
        more = {s: x - order.lines.get(s, ZERO) for s, x in wanted.items()}
        prices = {s: self.good(s).price_at(c.reserved(s) + max(more[s], ZERO)) for s in wanted}
        short = {s for s, extra in more.items() if extra > c.available(s)}
        r = await self.call(
            "PATCH",
            f"/orders/{order.id}",
            self.buyers[order.buyer][1],
            json={"lines": self._lines(wanted, order.prefer)},
        )
        if order.status != "placed":
            assert (r.status_code, r.json()["code"]) == (409, "order_not_changeable"), r.text
            return
        if self._unoffered(wanted, order.prefer):
            assert (r.status_code, r.json()["code"]) == (422, "invalid_order"), r.text
            return
        if short:
            self._shortage(r, short)
            return
        assert r.status_code == 200, r.text
        self._check_order(r.json(), wanted, prices)
        order.lines, order.prices = wanted, prices

    @action(lambda m: m.is_open() and m.current.orders, 1, which=picks)
    async def cancel_order(self, which: int) -> None:
        order = pick(list(self.current.orders.values()), which)
        r = await self.call(
            "POST", f"/orders/{order.id}/cancel", self.buyers[order.buyer][1], expect=200
        )
        assert r.json()["status"] == "cancelled", r.text  # cancelling twice changes nothing
        order.status = "cancelled"

    @action(lambda m: m.is_open() and m.current.offer_ids, 1, which=picks, packs=st.integers(0, 40))
    async def change_offer(self, which: int, packs: int) -> None:
        """An association raises or lowers its offer: never below what buyers reserved."""
        c = self.current
        sku_id, association_id = pick(list(c.offer_ids), which)
        quantity = packs * self.good(sku_id).pack
        before = c.offered[sku_id][association_id]
        staff = dict(self.associations)[association_id]
        r = await self.call(
            "PATCH",
            f"/cycles/{c.id}/offers/{c.offer_ids[(sku_id, association_id)]}",
            staff,
            json={"quantity": str(quantity)},
        )
        if quantity < before and c.available(sku_id) < before - quantity:
            assert (r.status_code, r.json()["code"]) == (409, "offer_below_reserved"), r.text
            return
        assert r.status_code == 200, r.text
        assert q(r.json()["quantity"]) == quantity, r.text
        c.offered[sku_id][association_id] = quantity

    @action(lambda m: m.is_open(), 2)
    async def close_cycle(self) -> None:
        c = self.current
        demand: dict[str, Decimal] = defaultdict(Decimal)
        for order in c.orders.values():
            if order.status == "placed":
                for s, x in order.lines.items():
                    demand[s] += x
        r = await self.call("POST", f"/cycles/{c.id}/close", self.admin, expect=200)
        body = r.json()
        assert body["status"] == "closed", body
        got = {x["sku_id"]: (q(x["demand"]), x["final_unit_price_cents"]) for x in body["skus"]}
        assert got == {s: (d, self.good(s).price_at(d)) for s, d in demand.items()}, body
        c.status, c.demand, c.close_answer = "closed", dict(demand), body["skus"]
        c.final_price = {s: self.good(s).price_at(d) for s, d in demand.items()}
        for order in c.orders.values():
            if order.status == "placed":
                order.status = "confirmed"
        # the allocation: each SKU's demand exactly, never above an offer, in whole packs
        delivery_orders = await self.get(f"/cycles/{c.id}/delivery-orders", self.centre_staff)
        allocated: dict[str, Decimal] = defaultdict(Decimal)
        for d in delivery_orders:
            for line in d["lines"]:
                x = q(line["quantity"])
                assert ZERO < x <= c.offered[line["sku_id"]][d["association_id"]], d
                assert x % self.good(line["sku_id"]).pack == 0, d
                allocated[line["sku_id"]] += x
        assert allocated == demand, (delivery_orders, demand)
        # pins first: an association gets at least what was pinned to it, up to its offer
        pinned: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for order in c.orders.values():
            if order.status == "confirmed" and order.prefer:
                for s, x in order.lines.items():
                    pinned[(s, order.prefer)] += x
        got_by = {
            (line["sku_id"], d["association_id"]): q(line["quantity"])
            for d in delivery_orders
            for line in d["lines"]
        }
        for (s, a), x in pinned.items():
            assert got_by.get((s, a), ZERO) >= min(x, c.offered[s][a]), (s, a, x, got_by)
        c.delivery_orders = {d["id"]: d for d in delivery_orders}

    # --- at the collection centre ----------------------------------------------------------

    @action(
        lambda m: m.is_closed() and m.current.delivery_orders,
        3,
        which=picks,
        again=st.booleans(),
        cuts=cuts_strategy,
    )
    async def receive(self, which: int, again: bool, cuts: list[tuple[int, int, int]]) -> None:
        """Receive a delivery order (one not received yet, unless ``again``): ``short``
        packs missing (negative: a surplus), ``bad`` packs rejected, each weighed kilo
        weighing ``grams``."""
        c = self.current
        waiting = [d for d in c.delivery_orders.values() if not c.receipts[d["id"]]]
        delivery = pick(
            self.by_rank(
                waiting if waiting and not again else c.delivery_orders.values(), "association_id"
            ),
            which,
        )
        await self._receive(delivery, cuts)

    async def _receive(self, delivery: dict[str, Any], cuts: list[tuple[int, int, int]]) -> None:
        c = self.current
        lines = []
        for line, (short, bad, grams) in zip(
            self.by_rank(delivery["lines"], "sku_id"), cuts, strict=False
        ):
            good = self.good(line["sku_id"])
            packs = int(q(line["quantity"]) / good.pack)
            accepted = max(0, packs - short)
            rejected = min(bad, max(0, packs - accepted))
            if accepted + rejected == 0:
                rejected = packs  # nothing came: all of it is refused as missing
            body: dict[str, Any] = {
                "sku_id": good.sku["id"],
                "accepted_quantity": str(accepted * good.pack),
                "rejected_quantity": str(rejected * good.pack),
                "lot_code": lot_code(),
            }
            if rejected:
                body["reason"] = "no llegó o llegó en mal estado"
            if good.weighed and accepted:
                body["weight_kg"] = str((accepted * good.pack * grams / 1000).quantize(MILLI))
                c.kilos_per_unit[good.sku["id"]].append(Decimal(grams) / 1000)
            lines.append(body)
        r = await self.call(
            "POST",
            f"/delivery-orders/{delivery['id']}/receipts",
            self.centre_staff,
            expect=201,
            json={"lines": lines},
        )
        got = {x["lot_code"]: q(x["accepted_quantity"]) for x in r.json()["lines"]}
        assert got == {x["lot_code"]: q(x["accepted_quantity"]) for x in lines}, r.text
        c.receipts[delivery["id"]] += 1
        for x in lines:
            c.accepted[(delivery["association_id"], x["sku_id"])] += q(x["accepted_quantity"])

    def _confirmed(self, c: CycleModel) -> list[OrderModel]:
        return [o for o in c.orders.values() if o.status != "cancelled"]

    @action(lambda m: m.is_closed(), 2)
    async def build_shipments(self) -> None:
        await self._build()

    async def _build(self) -> None:
        c = self.current
        r = await self.call("POST", f"/cycles/{c.id}/shipments", self.centre_staff)
        if any(s.status != "packed" for s in c.shipments.values()):
            assert (r.status_code, r.json()["code"]) == (409, "shipments_delivered"), r.text
            return
        assert r.status_code == 200, r.text
        shipments = r.json()
        buyers = {self.buyers[o.buyer][0]["id"] for o in self._confirmed(c)}
        assert {s["buyer_id"] for s in shipments} == buyers, shipments
        ids_before = {s.buyer_id: s.id for s in c.shipments.values()}
        for s in shipments:  # building again keeps each buyer's shipment
            assert ids_before.get(s["buyer_id"], s["id"]) == s["id"], (ids_before, s)
        shipped: dict[str, Decimal] = defaultdict(Decimal)
        c.shipments = {}
        for s in shipments:
            assert s["status"] == "packed", s
            lines: dict[str, Decimal] = defaultdict(Decimal)
            for line in s["lines"]:
                lines[line["sku_id"]] += q(line["quantity"])
                shipped[line["sku_id"]] += q(line["quantity"])
                assert line["lot_codes"] or not q(line["quantity"]), s
            rank = self.rank[s["buyer_id"]]
            c.shipments[s["id"]] = ShipmentModel(s["id"], s["buyer_id"], dict(lines), rank)
        # what reaches buyers is all the demand the accepted goods cover, never more
        for sku_id, demand in c.demand.items():
            accepted = sum((x for (_, s), x in c.accepted.items() if s == sku_id), ZERO)
            assert shipped[sku_id] == min(demand, accepted), (sku_id, shipped, demand, accepted)
        c.built = True

    def _packed(self) -> list[ShipmentModel]:
        return [s for s in self.current.shipments_in_order() if s.status == "packed"]

    def _done(self) -> list[ShipmentModel]:
        return [s for s in self.current.shipments_in_order() if s.status != "packed"]

    def _orders_of(self, c: CycleModel, buyer_id: str) -> list[OrderModel]:
        return [o for o in self._confirmed(c) if self.buyers[o.buyer][0]["id"] == buyer_id]

    @action(lambda m: m.is_closed() and m._packed(), 1, which=picks)
    async def fail_shipment(self, which: int) -> None:
        await self._fail(pick(self._packed(), which))

    async def _fail(self, shipment: ShipmentModel) -> None:
        r = await self.call(
            "POST",
            f"/shipments/{shipment.id}/fail",
            self.centre_staff,
            expect=200,
            json={"reason": "vía Latacunga-Pujilí cerrada"},
        )
        assert r.json()["status"] == "failed", r.text
        shipment.status = "failed"
        for order in self._orders_of(self.current, shipment.buyer_id):
            order.status = "not_delivered"

    @action(lambda m: m.is_closed() and m._packed(), 3, which=picks, returns=returns_strategy)
    async def deliver_shipment(self, which: int, returns: list[tuple[int, int]]) -> None:
        """Deliver a shipment; of each SKU ``packs`` packs and ``milli`` thousandths come
        back (at most what was shipped)."""
        shipment = pick(self._packed(), which)
        await self._deliver(shipment, self._returns(shipment, returns))

    def _returns(
        self, shipment: ShipmentModel, returns: list[tuple[int, int]]
    ) -> dict[str, Decimal]:
        back: dict[str, Decimal] = {}
        for (sku_id, shipped), (packs, milli) in zip(
            self.ranked(shipment.lines), returns, strict=False
        ):
            x = min(shipped, packs * self.good(sku_id).pack + milli * MILLI)
            if x > 0:
                back[sku_id] = x
        return back

    async def _deliver(self, shipment: ShipmentModel, back: dict[str, Decimal]) -> None:
        r = await self.call(
            "POST",
            f"/shipments/{shipment.id}/deliver",
            self.centre_staff,
            expect=200,
            json={
                "received_by": "Cocina",
                "returns": [
                    {"sku_id": s, "quantity": str(x), "reason": "golpeado"} for s, x in back.items()
                ],
            },
        )
        assert r.json()["status"] == "delivered", r.text
        came_back: dict[str, Decimal] = defaultdict(Decimal)
        for x in r.json()["returns"]:
            came_back[x["sku_id"]] += q(x["quantity"])
        assert came_back == back, r.text
        shipment.status, shipment.returned = "delivered", back
        for order in self._orders_of(self.current, shipment.buyer_id):
            order.status = "delivered"

    @action(
        lambda m: m.is_closed(),
        1,
        cuts=cuts_strategy,
        returns=st.lists(returns_strategy, min_size=3, max_size=3),
        failed=st.sets(st.integers(0, 2), max_size=2),
    )
    async def finish_and_settle(
        self,
        cuts: list[tuple[int, int, int]],
        returns: list[list[tuple[int, int]]],
        failed: set[int],
    ) -> None:
        """The centre finishes the cycle (every delivery order not received yet comes in,
        with ``cuts``; the shipments are (re)built while none is done; the packed ones of
        the ``failed`` buyers fail, the others are delivered with ``returns``) and the
        network settles it."""
        c = self.current
        for d in self.by_rank(c.delivery_orders.values(), "association_id"):
            if not c.receipts[d["id"]]:
                await self._receive(d, cuts)
        if not self._done():
            await self._build()
        for shipment in self._packed():
            buyer = [b["id"] for b, _ in self.buyers].index(shipment.buyer_id)
            if buyer in failed:
                await self._fail(shipment)
            else:
                await self._deliver(shipment, self._returns(shipment, returns[buyer]))
        await self._settle()

    @action(
        lambda m: bool(m.cycles),
        1,
        which=picks,
        what=st.sampled_from(
            ["order", "cancel", "close", "settle", "deliver", "fail", "build", "receive", "again"]
        ),
    )
    async def refused(self, which: int, what: str) -> None:
        """What the API must refuse (or answer as before) in the cycle's state: packing or
        settling before the cut-off, ordering after it, delivering twice, anything on the
        goods after settlement; settling or closing again changes nothing. The invariants
        check that a refusal changed nothing."""
        c = self.current
        if c.status == "open":  # nothing to pack or settle before the cut-off
            if what in ("settle", "close", "cancel", "order"):
                path, headers = f"/cycles/{c.id}/settle", self.admin
            else:
                path, headers = f"/cycles/{c.id}/shipments", self.centre_staff
            await self.call("POST", path, headers, expect=409, code="cycle_not_closed")
            return
        settled = c.status == "settled"
        if settled:
            self.dirty.add(c.id)
        done = c.shipments_in_order() if settled else self._done()
        confirmed = self._confirmed(c)
        if what == "settle" and settled:  # settling again, with its key or not, changes nothing
            key = {"Idempotency-Key": f"settle-{c.id}"} if which % 2 else {}
            headers = {**self.admin, **key}
            r = await self.call("POST", f"/cycles/{c.id}/settle", headers, expect=200)
            assert r.json() == c.settle_answer, (r.json(), c.settle_answer)
        elif what == "close":  # closing twice changes nothing
            r = await self.call("POST", f"/cycles/{c.id}/close", self.admin, expect=200)
            assert r.json()["status"] == c.status, r.text
            assert r.json()["skus"] == c.close_answer, (r.json()["skus"], c.close_answer)
        elif what == "cancel" and confirmed:
            order = pick(confirmed, which)
            headers = self.buyers[order.buyer][1]
            await self.call(
                "POST",
                f"/orders/{order.id}/cancel",
                headers,
                expect=409,
                code="order_not_changeable",
            )
        elif what in ("deliver", "fail", "again") and done:
            shipment = pick(done, which)
            action = "fail" if what == "fail" or (what == "again" and which % 2) else "deliver"
            body: dict[str, Any] = (
                {"reason": "otra vez"} if action == "fail" else {"received_by": "Miche"}
            )
            if action == "deliver":
                body["returns"] = [
                    {"sku_id": s, "quantity": str(x), "reason": "moho"}
                    for s, x in self.ranked(shipment.lines)[:1]
                    if x > 0
                ]
            if settled:
                code = "cycle_settled"
            else:
                code = (
                    "shipment_failed"
                    if shipment.status == "failed"
                    else "shipment_already_delivered"
                )
            await self.call(
                "POST",
                f"/shipments/{shipment.id}/{action}",
                self.centre_staff,
                expect=409,
                code=code,
                json=body,
            )
        elif what == "build" and (settled or self._done()):
            code = "cycle_not_closed" if settled else "shipments_delivered"
            await self.call(
                "POST", f"/cycles/{c.id}/shipments", self.centre_staff, expect=409, code=code
            )
        elif what == "receive" and settled and c.delivery_orders:
            delivery = pick(self.by_rank(c.delivery_orders.values(), "association_id"), which)
            line = delivery["lines"][0]
            lot: dict[str, Any] = {
                "sku_id": line["sku_id"],
                "accepted_quantity": "1",
                "lot_code": lot_code(),
            }
            if self.good(line["sku_id"]).weighed:
                lot["weight_kg"] = "1.010"
            await self.call(
                "POST",
                f"/delivery-orders/{delivery['id']}/receipts",
                self.centre_staff,
                expect=409,
                code="cycle_not_closed",
                json={"lines": [lot]},
            )
        else:  # ordering after the cut-off
            org, staff = self.buyers[which % len(self.buyers)]
            body = {
                "buyer_id": org["id"],
                "cycle_id": c.id,
                "lines": [
                    {"sku_id": self.goods[KEYS[which % len(KEYS)]].sku["id"], "quantity": "1"}
                ],
                "payment_method": "invoice",
            }
            await self.call("POST", "/orders", staff, expect=409, code="cycle_not_open", json=body)

    # --- settlement ---------------------------------------------------------------------------

    def _not_ready(self, c: CycleModel) -> list[tuple[str, str]]:
        missing = [("receipt_missing", d) for d in c.delivery_orders if not c.receipts[d]]
        if not c.built and any(o.status == "confirmed" for o in c.orders.values()):
            missing.append(("shipments_not_built", ""))
        missing += [
            ("shipment_not_delivered", s.id) for s in c.shipments.values() if s.status == "packed"
        ]
        return sorted(missing)

    @action(lambda m: m.is_closed(), 1)
    async def settle(self) -> None:
        await self._settle()

    async def _settle(self) -> None:
        c = self.current
        missing = self._not_ready(c)
        outstanding = 0 if missing else await self.outstanding()
        # one key for every attempt: a refused settle is not kept, so the key still settles
        headers = {**self.admin, "Idempotency-Key": f"settle-{c.id}"}
        r = await self.call("POST", f"/cycles/{c.id}/settle", headers)
        if missing:
            assert (r.status_code, r.json()["code"]) == (409, "cycle_not_ready"), r.text
            got = sorted(
                (e["rule"], e.get("delivery_order_id") or e.get("shipment_id") or "")
                for e in r.json()["errors"]
            )
            assert got == missing, (got, missing)
            return
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["status"] == "settled", result
        assert (result["captured_cents"], result["refunded_cents"]) == (0, 0), result
        assert result["ledger"]["differences"] == [], result["ledger"]
        c.status, c.settle_answer = "settled", result
        self.dirty.add(c.id)
        self.world.seen["settled cycles"] += 1

        delivered = {o.id for o in c.orders.values() if o.status == "delivered"}
        invoices = await self.cycle_invoices(c)
        assert {i["order_id"] for i in invoices} == delivered, (invoices, delivered)
        assert (result["invoices"], result["invoiced_cents"]) == (
            len(invoices),
            sum(i["total_cents"] for i in invoices),
        )
        kept: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # what each buyer kept
        for s in c.shipments.values():
            if s.status == "delivered":
                for sku_id, x in s.lines.items():
                    kept[(s.buyer_id, sku_id)] += x - s.returned.get(sku_id, ZERO)
        billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        placed = list(c.orders)
        for invoice in sorted(invoices, key=lambda i: placed.index(i["order_id"])):
            order = c.orders[invoice["order_id"]]
            self.invoices[invoice["id"]] = invoice
            # invoices on terms fall due after the buyer's terms, cash ones on delivery
            terms = (30, 45, 60)[order.buyer] if not order.cash else 0
            assert invoice["due_on"] == str(c.delivery_date + timedelta(days=terms)), invoice
            assert invoice["payment_method"] == ("cash_on_delivery" if order.cash else "invoice")
            for line in invoice["lines"]:
                sku_id = line["sku_id"]
                # the final price: the tier the cycle reached, never above the estimate
                assert line["unit_price_cents"] == min(
                    order.prices[sku_id], c.final_price[sku_id]
                ), (line, order)
                billed[(invoice["buyer_id"], sku_id)] += q(line["quantity"])
        for (buyer_id, sku_id), x in kept.items():
            if not self.good(sku_id).weighed:
                assert billed[(buyer_id, sku_id)] == x, (buyer_id, sku_id, billed, x)
            elif x:  # the weighed kilos: the kept units at what their lots weighed
                factors = c.kilos_per_unit[sku_id]
                low, high = x * min(factors) - MILLI * 3, x * max(factors) + MILLI * 3
                assert low <= billed[(buyer_id, sku_id)] <= high, (sku_id, billed, x, factors)
        payouts = await self.get(f"/cycles/{c.id}/payouts")
        suppliers = {d["association_id"] for d in c.delivery_orders.values()}
        assert {p["association_id"] for p in payouts} == suppliers, payouts
        assert result["payouts"] == len(payouts)
        assert result["paid_out_cents"] == sum(p["amount_cents"] for p in payouts)
        for p in payouts:
            for line in p["lines"]:  # paid on goods the centre accepted
                assert (
                    q(line["nominal_quantity"]) <= c.accepted[(p["association_id"], line["sku_id"])]
                ), (line, c.accepted)
        # earlier credit notes come off these payouts: all of them, when every association
        # was paid more than everything still owed
        after = await self.outstanding()
        assert 0 <= after <= outstanding, (after, outstanding)
        room = [p["gross_cents"] for p in payouts if p["association_id"] in self.network_ids()]
        if len(room) == len(self.associations) and min(room) >= outstanding:
            assert after == 0, (after, outstanding, payouts)

    def network_ids(self) -> set[str]:
        return {a for a, _ in self.associations}

    def _credit_lines(self) -> list[tuple[str, str]]:
        return [
            (i, x["sku_id"])
            for i, v in self.invoices.items()
            for x in self.by_rank(v["lines"], "sku_id")
        ]

    @action(
        lambda m: m._credit_lines(),
        lambda m: 3 if m.current.status == "settled" else 1,
        which=picks,
        how=st.sampled_from(["part", "part", "all", "over"]),
        milli=st.integers(1, 12_000),
    )
    async def credit_note(self, which: int, how: str, milli: int) -> None:
        invoice_id, sku_id = pick(self._credit_lines(), which)
        invoice = self.invoices[invoice_id]
        [line] = [x for x in invoice["lines"] if x["sku_id"] == sku_id]
        billed = q(line["quantity"])
        left = billed - self.credited[(invoice_id, sku_id)]
        if how == "over" or left <= 0:
            asked = left + milli * MILLI
        elif how == "all":
            asked = left
        else:
            asked = (1 + (milli - 1) % int(left / MILLI)) * MILLI
        self.dirty.add(invoice["cycle_id"])
        r = await self.call(
            "POST",
            f"/invoices/{invoice_id}/credit-notes",
            self.admin,
            json={"lines": [{"sku_id": sku_id, "quantity": str(asked), "reason": "moho"}]},
        )
        if asked > left:
            assert (r.status_code, r.json()["code"]) == (409, "invoice_not_creditable"), r.text
            return
        assert r.status_code == 201, r.text
        note = r.json()
        [credited] = note["lines"]
        price = line["unit_price_cents"]
        assert q(credited["quantity"]) == asked, note
        # named rule: amount(kept before) - amount(kept after)
        assert credited["amount_cents"] == cents(price, left) - cents(price, left - asked), note
        assert sum(credited["price_breakdown"][p] for p in PARTS) == credited["amount_cents"]
        assert note["total_cents"] == credited["amount_cents"], note
        assert note["price_breakdown"] == credited["price_breakdown"], note
        assert note["refund_status"] == "not_required", note
        assert (note["invoice_id"], note["order_id"]) == (invoice_id, invoice["order_id"]), note
        self.credited[(invoice_id, sku_id)] += asked
        self.notes.append(
            NoteModel(
                note["id"],
                invoice_id,
                note["cycle_id"],
                note["price_breakdown"]["producer_cents"],
                note["total_cents"],
            )
        )
        assert note["cycle_id"] == invoice["cycle_id"], note
        self.world.seen["credit notes"] += 1

    @action(
        lambda m: len(m.settled()) == len(m.cycles) and 0 < len(m.cycles) < MAX_CYCLES,
        2,
        offers=offers_strategy,
        policy=policies,
    )
    async def next_cycle(self, offers: dict[str, tuple[int, int]], policy: str) -> None:
        await self.open_cycle(offers, policy)

    # --- the invariants -----------------------------------------------------------------------

    async def cycle_invoices(self, c: CycleModel) -> list[dict[str, Any]]:
        page = await self.get("/invoices", cycle_id=c.id, limit=200)
        assert page["next_cursor"] is None
        items: list[dict[str, Any]] = page["items"]
        return items

    async def all_payouts(self) -> dict[str, list[dict[str, Any]]]:
        return {c.id: await self.get(f"/cycles/{c.id}/payouts") for c in self.settled()}

    @staticmethod
    def adjustments_in(payouts: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Every adjustment deducted in a payout so far (pending ones are not shown)."""
        return [
            {**a, "payout_cycle_id": cycle_id}
            for cycle_id, ps in payouts.items()
            for p in ps
            for a in p["adjustments"]
        ]

    async def outstanding(self) -> int:
        """Producer cents credited that no payout has deducted yet."""
        if not self.notes:
            return 0
        deducted = sum(a["amount_cents"] for a in self.adjustments_in(await self.all_payouts()))
        return sum(n.producer_cents for n in self.notes) + int(deducted)

    @invariant()
    @on_loop
    async def everything_adds_up(self) -> None:
        await self.stock_is_what_placed_lines_hold()
        await self.order_lines_are_consistent()
        if self.dirty:
            await self.books_add_up()
            self.dirty.clear()

    async def stock_is_what_placed_lines_hold(self) -> None:
        if not self.is_open():
            return
        c = self.current
        rows = await self.get(f"/cycles/{c.id}/availability", self.buyers[0][1])
        got = {
            x["sku_id"]: (
                q(x["offered"]),
                q(x["reserved"]),
                q(x["available"]),
                x["unit_price_cents"],
            )
            for x in rows
        }
        expected = {
            s: (
                sum(by.values(), ZERO),
                c.reserved(s),
                c.available(s),
                self.good(s).price_at(c.reserved(s)),
            )
            for s, by in c.offered.items()
        }
        assert got == expected, (got, expected)

    async def order_lines_are_consistent(self) -> None:
        for c in self.cycles:
            if c.status == "settled" and c.id not in self.dirty:
                continue
            page = await self.get("/orders", cycle_id=c.id, limit=200)
            assert page["next_cursor"] is None
            orders = {o["id"]: o for o in page["items"]}
            assert {i: o["status"] for i, o in orders.items()} == {
                i: o.status for i, o in c.orders.items()
            }
            for order in orders.values():
                model = c.orders[order["id"]]
                for line in order["lines"]:
                    sku_id = line["sku_id"]
                    assert q(line["quantity"]) == model.lines[sku_id], (order, model)
                    billed = None if line["billed_quantity"] is None else q(line["billed_quantity"])
                    delivered = line["delivered_quantity"]
                    weighed = self.good(sku_id).weighed
                    if line["confirmed_quantity"] is not None:
                        assert q(line["confirmed_quantity"]) <= q(line["quantity"]), order
                    if billed is not None and delivered is not None and not weighed:
                        assert billed <= q(delivered), order
                    if order["status"] == "not_delivered":
                        assert billed == 0, order
                    credited = q(line["credited_quantity"])
                    assert credited <= (billed or ZERO), order
                    assert credited == sum(
                        (
                            x
                            for (i, s), x in self.credited.items()
                            if s == sku_id and self.invoices[i]["order_id"] == order["id"]
                        ),
                        ZERO,
                    ), order

    async def books_add_up(self) -> None:
        all_payouts = await self.all_payouts()
        adjustments = self.adjustments_in(all_payouts)
        notes = {n.id: n for n in self.notes}
        assert len({a["id"] for a in adjustments}) == len(adjustments), adjustments
        by_note: dict[str, int] = defaultdict(int)
        for a in adjustments:
            note = notes[a["credit_note_id"]]
            assert a["origin_cycle_id"] == note.cycle_id != a["payout_cycle_id"], (a, note)
            assert a["amount_cents"] < 0, a
            by_note[note.id] += a["amount_cents"]
        for note in self.notes:  # never more deducted than the note gives back
            assert -by_note[note.id] <= note.producer_cents, (note, by_note[note.id])
        all_deducted = sum(by_note.values()) == -sum(n.producer_cents for n in self.notes)
        revenue, sold = 0, dict[str, Decimal]()

        for c in self.settled():
            if c.id in self.dirty or c.id not in self.invoice_pages:
                report = await self.get(f"/cycles/{c.id}/ledger")
                assert report["checked"], report
                assert report["differences"] == [], report["differences"]
                self.invoice_pages[c.id] = await self.cycle_invoices(c)
            invoices = self.invoice_pages[c.id]
            payouts = all_payouts[c.id]
            billed: dict[str, Decimal] = defaultdict(Decimal)
            for invoice in invoices:
                assert invoice["total_cents"] == sum(x["amount_cents"] for x in invoice["lines"])
                for part in PARTS:
                    assert invoice["price_breakdown"][part] == sum(
                        x["price_breakdown"][part] for x in invoice["lines"]
                    ), invoice
                for line in invoice["lines"]:
                    assert sum(line["price_breakdown"][p] for p in PARTS) == line["amount_cents"]
                    assert line["amount_cents"] == cents(
                        line["unit_price_cents"], q(line["quantity"])
                    ), line
                    assert (
                        q(line["credited_quantity"])
                        == self.credited[(invoice["id"], line["sku_id"])]
                    ), (invoice, line)
                    billed[line["sku_id"]] += q(line["quantity"])
                mine = [n for n in self.notes if n.invoice_id == invoice["id"]]
                assert invoice["credited_cents"] == sum(n.total_cents for n in mine), invoice
                assert len(invoice["credit_notes"]) == len(mine), invoice
            paid: dict[str, Decimal] = defaultdict(Decimal)
            for payout in payouts:
                assert payout["gross_cents"] == sum(x["amount_cents"] for x in payout["lines"])
                assert payout["adjustments_cents"] == sum(
                    a["amount_cents"] for a in payout["adjustments"]
                ), payout
                assert (
                    payout["amount_cents"]
                    == payout["gross_cents"] + payout["adjustments_cents"]
                    >= 0
                ), payout
                for line in payout["lines"]:
                    paid[line["sku_id"]] += q(line["quantity"])
            # producers are paid on the quantities billed, to the cent of the invoices
            assert {s: x for s, x in paid.items() if x} == {s: x for s, x in billed.items() if x}
            producer = sum(i["price_breakdown"]["producer_cents"] for i in invoices)
            assert producer == sum(p["gross_cents"] for p in payouts), (invoices, payouts)
            credited = sum(n.producer_cents for n in self.notes if n.cycle_id == c.id)
            deducted = -sum(a["amount_cents"] for a in adjustments if a["origin_cycle_id"] == c.id)
            assert deducted <= credited, (c.id, deducted, credited)
            if all_deducted:
                gross = sum(p["gross_cents"] for p in payouts)
                assert producer - credited == gross - deducted, (c.id, producer, credited)
            revenue += sum(i["total_cents"] for i in invoices)
            sold.update({s: sold.get(s, ZERO) + x for s, x in billed.items()})

        # the network's dashboard: sales net of credit notes, what producers were paid
        board = await self.get(f"/networks/{self.net.network['id']}/dashboard")
        for invoice_id, sku_id in self._credit_lines():
            sold[sku_id] = sold.get(sku_id, ZERO) - self.credited[(invoice_id, sku_id)]
        paid_out = sum(p["amount_cents"] for ps in all_payouts.values() for p in ps)
        assert (
            board["cycles_settled"],
            board["revenue_cents"],
            board["producer_income_cents"],
        ) == (
            len(self.settled()),
            revenue - sum(n.total_cents for n in self.notes),
            paid_out,
        ), board
        volumes = {v["sku_id"]: q(v["quantity"]) for v in board["volume_by_sku"]}
        assert {s: x for s, x in volumes.items() if x} == {s: x for s, x in sold.items() if x}


@pytest.mark.slow
async def test_random_cycles_keep_the_ledger(app: FastAPI, client: httpx.AsyncClient) -> None:
    loop = asyncio.get_running_loop()

    def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=300)

    world = World(app, client, run)
    started = time.perf_counter()

    class Run(LedgerMachine):
        pass

    Run.world = world
    await asyncio.to_thread(run_state_machine_as_test, Run, settings=SETTINGS)
    took = time.perf_counter() - started
    # what the run did (shown with -s): how many steps of each action, how many answers
    print(f"\nledger machine: {took:.1f} s,", dict(sorted(world.seen.items())))


async def test_closing_again_after_packing_answers_what_the_close_decided(
    market: Market,  # noqa: F811
) -> None:
    """Found by the machine: closing twice must change nothing, also once a shortfall cut
    the lines at packing (the second close used to answer the cut demand, and the tier
    price of the cut demand rather than the price the lines are billed at)."""
    m = market
    f = await Floor.start(m)
    await f.order("10")
    first = (
        await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.admin)
    ).json()
    await f.close()
    await f.received(f.first, f.allocated(f.first) - 2)  # two cheeses short, no surplus
    await f.received(f.second, f.allocated(f.second))
    await f.build()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert (
        r.json()["skus"]
        == first["skus"]
        == [
            {
                "sku_id": m.sku["id"],
                "sku_name": m.sku["name"],
                "demand": "10.000",
                "final_unit_price_cents": 400,
            }
        ]
    )
