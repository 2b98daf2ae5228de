"""Joint purchase: pack rounding within tolerances, allocation, tier price, cost shares."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.aggregation.joint_purchase import (
    PackTier,
    PurchasePlan,
    PurchaseRequest,
    Rounding,
    pack_tier,
    plan_purchase,
)
from app.aggregation.types import steps_up

D = Decimal
# The issue asks for at least 500 examples of every property.
PROPERTY = settings(max_examples=500, deadline=None)
TIERS = [PackTier(1, 3000), PackTier(2, 2800), PackTier(5, 2500)]


def shares(plan: PurchasePlan) -> dict[str, tuple[Decimal, int, int]]:
    return {s.association_id: (s.quantity, s.cost_cents, s.cost_alone_cents) for s in plan.shares}


def test_requests_that_make_whole_packs() -> None:
    plan = plan_purchase(
        [PurchaseRequest("B", D(20)), PurchaseRequest("A", D(30))], pack_size=D(25), tiers=TIERS
    )
    assert (plan.packs, plan.pack_price_cents, plan.total_cost_cents) == (2, 2800, 5600)
    assert plan.rounding is Rounding.exact
    # 5600 shared 30 : 20; alone A needs 2 packs at 2800, B 1 pack at 3000
    assert shares(plan) == {"A": (D(30), 3360, 5600), "B": (D(20), 2240, 3000)}
    assert [s.saved_cents for s in plan.shares] == [2240, 760]


def test_rounds_up_when_the_tolerances_absorb_the_excess() -> None:
    plan = plan_purchase(
        [PurchaseRequest("A", D(30), D(10)), PurchaseRequest("B", D(12), D(5))],
        pack_size=D(25),
        tiers=TIERS,
    )
    assert (plan.packs, plan.rounding, plan.total_cost_cents) == (2, Rounding.up, 5600)
    # excess 8 shared 10 : 5 -> 5.3333 / 2.6667, the leftover thousandth to B (.67 > .33);
    # cost 5600 shared 35.333 : 14.667 -> 3957.30 / 1642.70, the leftover cent to B
    assert shares(plan) == {"A": (D("35.333"), 3957, 5600), "B": (D("14.667"), 1643, 3000)}


def test_rounds_down_and_shares_the_shortfall_otherwise() -> None:
    plan = plan_purchase(
        [PurchaseRequest("A", D(30), D(3)), PurchaseRequest("B", D(12), D(4))],
        pack_size=D(25),
        tiers=TIERS,
    )
    assert (plan.packs, plan.rounding, plan.total_cost_cents) == (1, Rounding.down, 3000)
    # shortfall 17 shared 30 : 12 -> 12.1429 / 4.8571; cost 3000 shared 17.857 : 7.143
    assert shares(plan) == {"A": (D("17.857"), 2143, 5600), "B": (D("7.143"), 857, 3000)}


def test_zero_packs_buys_nothing() -> None:
    plan = plan_purchase(
        [PurchaseRequest("A", D(5)), PurchaseRequest("B", D(3), D(1))],
        pack_size=D(25),
        tiers=TIERS,
    )
    assert (plan.packs, plan.pack_price_cents, plan.total_cost_cents) == (0, 3000, 0)
    assert shares(plan) == {"A": (D(0), 0, 3000), "B": (D(0), 0, 3000)}
    empty = plan_purchase([], pack_size=D(25), tiers=TIERS)
    assert (empty.packs, empty.total_cost_cents, empty.shares) == (0, 0, ())


def test_pack_tier() -> None:
    assert pack_tier(TIERS, 0) == PackTier(1, 3000)
    assert pack_tier(TIERS, 1) == PackTier(1, 3000)
    assert pack_tier(TIERS, 4) == PackTier(2, 2800)
    assert pack_tier(TIERS, 50) == PackTier(5, 2500)


@pytest.mark.parametrize(
    ("requests", "pack_size", "tiers", "message"),
    [
        ([PurchaseRequest("A", D("1.0005"))], D(25), TIERS, "multiple of the pack step"),
        ([PurchaseRequest("A", D(1), D(-1))], D(25), TIERS, ">= 0"),
        ([PurchaseRequest("A", D(1)), PurchaseRequest("A", D(2))], D(25), TIERS, "merge"),
        ([PurchaseRequest("A", D(1))], D(0), TIERS, "positive"),
        ([PurchaseRequest("A", D(1))], D(25), [], "at least one"),
        ([PurchaseRequest("A", D(1))], D(25), [PackTier(2, 100)], "0 or 1"),
        ([PurchaseRequest("A", D(1))], D(25), [PackTier(1, 1), PackTier(1, 2)], "same pack"),
        ([PurchaseRequest("A", D(1))], D(25), [PackTier(0, -1)], "negative"),
    ],
)
def test_refuses_bad_input(
    requests: list[PurchaseRequest], pack_size: Decimal, tiers: list[PackTier], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plan_purchase(requests, pack_size=pack_size, tiers=tiers)


MILLI = D("0.001")


@st.composite
def campaigns(draw: st.DrawFn) -> tuple[list[PurchaseRequest], Decimal, list[PackTier]]:
    pack_size = draw(st.sampled_from([D(1), D(25), D("2.5"), D("0.750"), D(50)]))
    names = draw(st.lists(st.sampled_from("ABCDEFGH"), max_size=6, unique=True))
    requests = [
        PurchaseRequest(
            name,
            draw(st.integers(0, 200_000)) * MILLI,
            draw(st.one_of(st.just(0), st.integers(0, 30_000))) * MILLI,
        )
        for name in names
    ]
    starts = sorted(draw(st.sets(st.integers(2, 40), max_size=4)) | {draw(st.sampled_from([0, 1]))})
    price = draw(st.integers(0, 50_000))
    tiers = []
    for start in starts:  # a larger volume never costs more per pack
        tiers.append(PackTier(start, price))
        price = draw(st.integers(0, price))
    return requests, pack_size, tiers


@PROPERTY
@given(campaigns(), st.data())
def test_plan_properties(
    case: tuple[list[PurchaseRequest], Decimal, list[PackTier]], data: st.DataObject
) -> None:
    requests, pack_size, tiers = case
    plan = plan_purchase(requests, pack_size=pack_size, tiers=tiers)
    by_name = {r.association_id: r for r in requests}
    assert [s.association_id for s in plan.shares] == sorted(by_name)

    # the pack count follows the rounding rule
    total = sum((r.quantity for r in requests), D(0))
    tolerance = sum((r.tolerance for r in requests), D(0))
    exact = Fraction(total) / Fraction(pack_size)
    whole = exact.numerator // exact.denominator
    if exact == whole:
        assert (plan.packs, plan.rounding) == (whole, Rounding.exact)
    elif (whole + 1) * pack_size - total <= tolerance:
        assert (plan.packs, plan.rounding) == (whole + 1, Rounding.up)
    else:
        assert (plan.packs, plan.rounding) == (whole, Rounding.down)

    # allocations: exact sum, within bounds, shortfall shared by quantity (Hamilton)
    assert sum((s.quantity for s in plan.shares), D(0)) == plan.packs * pack_size
    shortfall = total - plan.packs * pack_size
    for share in plan.shares:
        request = by_name[share.association_id]
        assert share.quantity % MILLI == 0
        assert D(0) <= share.quantity <= request.quantity + request.tolerance
        if plan.rounding is Rounding.up:
            assert share.quantity >= request.quantity
        elif plan.rounding is Rounding.exact:
            assert share.quantity == request.quantity
        else:
            quota = Fraction(shortfall) * Fraction(request.quantity) / Fraction(total)
            assert abs(Fraction(request.quantity - share.quantity) - quota) < Fraction(MILLI)

    # price and cost shares: the tier reached, to the exact cent
    assert plan.pack_price_cents == pack_tier(tiers, plan.packs).pack_price_cents
    assert plan.total_cost_cents == plan.packs * plan.pack_price_cents
    assert sum(s.cost_cents for s in plan.shares) == plan.total_cost_cents
    for share in plan.shares:
        if plan.packs:
            exact_cost = (
                Fraction(plan.total_cost_cents)
                * Fraction(share.quantity)
                / Fraction(plan.packs * pack_size)
            )
            assert abs(share.cost_cents - exact_cost) < 1
        else:
            assert share.cost_cents == 0

    # alone: ceil(quantity / pack) packs at that count's tier; never cheaper together when
    # the pooled price is at least as good and the association gets no more than it would
    # have bought alone
    for share in plan.shares:
        request = by_name[share.association_id]
        alone_packs = steps_up(request.quantity, pack_size)
        alone_price = pack_tier(tiers, alone_packs).pack_price_cents
        assert share.cost_alone_cents == alone_packs * alone_price
        if plan.pack_price_cents <= alone_price and share.quantity <= alone_packs * pack_size:
            assert share.cost_cents <= share.cost_alone_cents

    shuffled = data.draw(st.permutations(requests))
    assert plan_purchase(list(shuffled), pack_size=pack_size, tiers=tiers) == plan
