"""The Gini index, and a simulated season comparing the allocation policies."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.aggregation.allocation import SkuDemand, allocate_cycle
from app.aggregation.fairness import (
    SeasonCycle,
    counted_members,
    cycles_of,
    gini,
    gini_per_member,
    simulate_season,
)
from app.aggregation.types import Offer, Policy

D = Decimal
# The issue asks for at least 500 examples of every property.
PROPERTY = settings(max_examples=500, deadline=None)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], D(0)),
        ([0, 0, 0], D(0)),
        ([7, 7, 7], D(0)),
        ([42], D(0)),
        ([0, 0, 0, 1], D("0.75")),  # one holds everything: (n - 1) / n
        ([1, 2, 3, 4], D("0.25")),  # 2 * 30 / (4 * 10) - 5 / 4
        ([D("2.5"), D("0.5")], D("0.333333")),  # 2 * 5.5 / (2 * 3) - 3 / 2 = 1 / 3
        ([1, 2], D("0.166667")),  # 1 / 6, rounded half up
    ],
)
def test_gini_examples(values: list[int | Decimal], expected: Decimal) -> None:
    assert gini(values) == expected


def test_gini_refuses_negative_values() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        gini([3, -1])


@PROPERTY
@given(st.lists(st.integers(0, 10**9), max_size=30), st.integers(1, 1000), st.data())
def test_gini_bounds_and_invariances(values: list[int], factor: int, data: st.DataObject) -> None:
    index = gini(values)
    n = len(values)
    assert D(0) <= index
    if n:
        assert Fraction(index) <= Fraction(n - 1, n) + Fraction(1, 2_000_000)
    assert gini(data.draw(st.permutations(values))) == index
    assert gini([v * factor for v in values]) == index
    if len(set(values)) <= 1:
        assert index == 0


ASSOCIATIONS = {"A": 4, "B": 8, "C": 15, "D": 30, "E": 60}  # typical capacity per cycle (kg)


def season(seed: int, cycles: int = 20) -> list[SeasonCycle]:
    """The same random orders for every policy: capacities vary ±50 %, demand 30-70 %."""
    rng = random.Random(seed)
    rounds = []
    for _ in range(cycles):
        offers = tuple(
            Offer(f"{name}-offer", name, D(max(1, round(size * rng.uniform(0.5, 1.5)))))
            for name, size in ASSOCIATIONS.items()
        )
        capacity = sum(int(o.capacity) for o in offers)
        rounds.append(SeasonCycle(D(round(capacity * rng.uniform(0.3, 0.7))), offers))
    return rounds


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_income_equalizing_narrows_the_income_gap(seed: int) -> None:
    rounds = season(seed)
    start = {"A": 0, "B": 5_000, "C": 0, "D": 20_000, "E": 40_000}
    incomes = {
        policy: simulate_season(
            rounds, policy=policy, step=D(1), unit_value_cents=250, starting_income=start
        )
        for policy in Policy
    }
    sold = sum((c.demand for c in rounds), D(0))
    for income in incomes.values():  # every policy sells the same, so the same total income
        assert sum(income.values()) == sum(start.values()) + 250 * sold
    ginis = {policy: gini(list(income.values())) for policy, income in incomes.items()}
    assert ginis[Policy.income_equalizing] < ginis[Policy.proportional]
    assert ginis[Policy.equal_share] < ginis[Policy.proportional]


def test_simulate_season_carries_income_from_cycle_to_cycle() -> None:
    offers = (Offer("a", "A", D(10)), Offer("b", "B", D(10)))
    rounds = [SeasonCycle(D(6), offers), SeasonCycle(D(4), offers)]
    income = simulate_season(
        rounds, policy=Policy.income_equalizing, step=D(1), unit_value_cents=100
    )
    # equal incomes take turns, A first on a tie: 3 / 3 in cycle 1, 2 / 2 in cycle 2
    assert income == {"A": 500, "B": 500}
    income = simulate_season(
        rounds,
        policy=Policy.income_equalizing,
        step=D(1),
        unit_value_cents=100,
        starting_income={"B": 800, "Z": 1},
    )
    # A catches up with B: 6 units in cycle 1 (600 < 800), then 2 to reach 800 and the
    # tie at 800 goes to A first: 3 of 4 (900 / 900)
    assert income == {"A": 900, "B": 900, "Z": 1}


# --- per member -------------------------------------------------------------------------


def test_gini_per_member_counts_every_member() -> None:
    # 2 members with 1 each, 3 members with 2 each: the Gini of [1, 1, 2, 2, 2]
    assert gini_per_member({"a": 2, "b": 6}, {"a": 2, "b": 3}) == gini([1, 1, 2, 2, 2])
    assert gini_per_member({"a": 5}, {}) == 0
    assert gini_per_member({"a": 0, "b": 0}, {"a": 3}) == 0
    with pytest.raises(ValueError, match=">= 0"):
        gini_per_member({"a": -1, "b": 2}, {})


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from("ABCDEFG"), st.tuples(st.integers(0, 10**6), st.integers(1, 6)), max_size=6
    )
)
def test_gini_per_member_is_the_gini_of_the_members_list(
    groups: dict[str, tuple[int, int]],
) -> None:
    # each association's income is a multiple of its members, so per-member values are exact
    income = {a: value * members for a, (value, members) in groups.items()}
    members = {a: m for a, (_, m) in groups.items()}
    expanded = [value for value, m in groups.values() for _ in range(m)]
    assert gini_per_member(income, members) == gini(expanded)


def test_members_not_recorded_count_as_the_mean() -> None:
    assert counted_members({"a": 10, "b": None, "c": 21, "d": 0}) == {
        "a": 10,
        "b": 16,  # (10 + 21) / 2 = 15.5, half up
        "c": 21,
        "d": 16,
    }
    assert counted_members({"a": None}) == {"a": 1}


def random_season(
    seed: int, associations: int, cycles: int, demand: float, skus: int
) -> tuple[list[SeasonCycle], dict[str, int]]:
    """A season as bench/fairness.py draws them, smaller: lognormal sizes, members growing
    with size, each association offering one or two SKUs every cycle (±40 %)."""
    rng = random.Random(seed)
    names = [f"a{k}" for k in range(associations)]
    size = {a: rng.lognormvariate(0, 0.9) for a in names}
    members = {a: max(3, round(20 * size[a] ** 0.75 * rng.lognormvariate(0, 0.3))) for a in names}
    steps = [(D(1), 250), (D("0.5"), 700), (D(1), 90)][:skus]
    supplies = {a: rng.sample(range(len(steps)), rng.randint(1, min(2, len(steps)))) for a in names}
    rounds = []
    for c in range(cycles):
        for k, (step, price) in enumerate(steps):
            offers = tuple(
                Offer(f"{c}-{k}-{a}", a, max(1, int(size[a] * 12 * rng.uniform(0.6, 1.4))) * step)
                for a in names
                if k in supplies[a]
            )
            supply = sum(int(o.capacity / step) for o in offers)
            units = min(supply, round(supply * demand))
            if units:
                rounds.append(SeasonCycle(units * step, offers, step, price, cycle=c))
    return rounds, members


SEASONS = settings(max_examples=40, deadline=None, derandomize=True)


@SEASONS
@given(
    seed=st.integers(0, 10**6),
    associations=st.integers(2, 7),
    cycles=st.integers(3, 8),
    demand=st.sampled_from([0.5, 0.75, 0.9]),
    skus=st.integers(1, 3),
    floor=st.sampled_from([D(0), D("0.5"), D("0.8")]),
)
def test_per_member_equalizing_over_random_seasons(
    seed: int, associations: int, cycles: int, demand: float, skus: int, floor: D
) -> None:
    rounds, members = random_season(seed, associations, cycles, demand, skus)
    incomes = {
        policy: simulate_season(rounds, policy=policy, members=members, floor_share=floor)
        for policy in Policy
    }
    # the same volume sold, so the same income, whatever the policy
    assert len({sum(income.values()) for income in incomes.values()}) == 1
    fair = incomes[Policy.per_member_equalizing]
    base = incomes[Policy.proportional]
    assert gini_per_member(fair, members) <= gini_per_member(base, members)
    # never under the floor: cycle by cycle, at least ``floor`` of proportional's packs
    income: dict[str, int] = {}
    for group in cycles_of(rounds):
        skus_ = [
            SkuDemand(r.demand, r.offers, r.step or D(1), r.unit_value_cents or 1) for r in group
        ]
        fair_cycle = allocate_cycle(
            skus_, policy=Policy.per_member_equalizing, income=income, members=members,
            floor_share=floor,
        )  # fmt: skip
        base_cycle = allocate_cycle(skus_, policy=Policy.proportional)
        for sku, mine, theirs in zip(skus_, fair_cycle, base_cycle, strict=True):
            assert sum(a.quantity for a in mine) == sum(a.quantity for a in theirs)
            for a, b in zip(mine, theirs, strict=True):
                guaranteed = int(Fraction(floor) * Fraction(b.quantity / sku.step)) * sku.step
                assert a.quantity >= guaranteed
                income[a.association_id] = income.get(a.association_id, 0) + int(
                    a.quantity * sku.unit_value_cents
                )


@pytest.mark.slow
@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), demand=st.sampled_from([0.5, 0.75, 0.9]))
def test_per_member_equalizing_over_long_seasons(seed: int, demand: float) -> None:
    rounds, members = random_season(seed, 12, 20, demand, 3)
    fair = simulate_season(rounds, policy=Policy.per_member_equalizing, members=members)
    base = simulate_season(rounds, policy=Policy.proportional, members=members)
    assert sum(fair.values()) == sum(base.values())
    assert gini_per_member(fair, members) <= gini_per_member(base, members)
