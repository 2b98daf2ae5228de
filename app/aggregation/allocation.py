"""Joint sale allocation: share a SKU's demand among the associations that offered it.

Pure: plain dataclasses in and out, no database. Everything is counted in whole pack steps
(integers) and turned back into quantities at the end, so every result is a multiple of the
step and the parts add up exactly. The result does not depend on the order of the input
lists: offers are sorted by ``offer_id`` and associations by ``association_id``, and every
tie goes to the smaller id (string order).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from app.aggregation.types import (
    DEFAULT_FLOOR_SHARE,
    Allocation,
    Offer,
    Pin,
    Policy,
    check_quantity,
    check_step,
    exact_steps,
    quantity_of,
    steps_down,
    steps_up,
)
from app.core.money import split_largest_remainder

__all__ = ["DEFAULT_FLOOR_SHARE", "Allocation", "Offer", "Pin", "Policy", "allocate"]

# the policies that weigh the season's income (and so need the value of a sale unit)
INCOME_POLICIES = frozenset({Policy.income_equalizing, Policy.per_member_equalizing})


def allocate(
    demand: Decimal,
    offers: Sequence[Offer],
    *,
    step: Decimal,
    policy: Policy,
    pinned: Sequence[Pin] = (),
    income: Mapping[str, int] | None = None,
    unit_value_cents: int | None = None,
    members: Mapping[str, int] | None = None,
    floor_share: Decimal = DEFAULT_FLOOR_SHARE,
) -> list[Allocation]:
    """Share ``demand`` among ``offers``; one ``Allocation`` per offer, sorted by offer_id.

    Named rules:

    * **Pack steps.** Every allocation is a whole number of ``step``s. An offer can deliver at
      most its *usable capacity*: its capacity rounded down to whole steps. ``demand`` must be
      a multiple of ``step`` and at most the sum of the capacities (``ValueError`` otherwise:
      callers never sell more than was offered). The allocations sum exactly to
      ``min(demand, sum of usable capacities)``; the second term is smaller only when
      capacities are not whole steps, and the caller sees the unserved rest as the difference.
    * **Pins first.** The quantities buyers pinned to an association are served from that
      association's offers first (filling its offers in offer_id order, up to their usable
      capacity); what it cannot serve falls back into the general pool. Pins must be
      multiples of ``step`` and add up to at most ``demand``. The pinned part of each
      allocation is reported in ``Allocation.pinned``.
    * **Policies** share the rest of the demand (the *pool*):

      - ``proportional``: in proportion to each offer's usable capacity left after its pins,
        largest remainder in pack steps (Hamilton's method).
      - ``equal_share``: max-min fair water-filling over the whole allocation (pins
        included). The level rises one step at a time for every offer that is below it and
        not full, so small offers are filled first and the others get equal shares; the few
        steps left at the last level go to the smallest offer_ids.
      - ``income_equalizing``: needs ``unit_value_cents`` (producer income per sale unit,
        > 0) and ``income`` (association_id → producer income so far this season in cents;
        missing associations count as 0). Packs go one by one to the association whose
        income plus the value already allocated to it (pins included) is the lowest, ties
        to the smaller association_id: water-filling on income. An association with several
        offers shares its packs among them in proportion to their usable capacity left.
      - ``per_member_equalizing``: the same water-filling on the income *per member*: needs
        ``unit_value_cents`` and ``income`` like ``income_equalizing``, and ``members``
        (association_id → members, as recorded in ``members_total``; missing or below 1
        counts as 1). Each pack goes to the association whose income plus the value already
        allocated to it, divided by its members, is the lowest; ties to the smaller
        association_id. **Floor**: first every offer gets ``floor_share`` (0 to 1, the
        network's setting) of what ``proportional`` gives it on the same input, rounded down
        to whole steps and raised to the offer's minimum when that is still within what
        ``proportional`` gives it; an offer holding a floor is never closed (when its floor
        is below its minimum, the minimum is waived, as ``proportional`` waived it). If the
        buyers' pins leave no room for the floors, the floors are cut back, smallest
        offer_id first.
    * **Minimum delivery.** An offer allocated more than 0 but less than its minimum
      (rounded up to whole steps, and never above its usable capacity) is *closed*: it gets
      nothing, its pins fall back into the pool, and the demand is shared again among the
      offers still open. One offer is closed per round: unpinned offers before pinned ones,
      then the one furthest below its minimum, then the smaller offer_id. If closing that
      offer would leave less usable capacity open than the demand to serve, it is *raised*
      instead: its minimum becomes a floor of its allocation (like a pin), provided the
      floors still fit within the demand. If they do not, its minimum is *waived*
      (``Allocation.minimum_waived``): it stays in and may deliver less than its minimum.
      Each round settles one offer for good (closed, raised to its minimum, or waived), so
      the loop ends after at most as many rounds as offers, and the open offers can always
      serve the whole demand.
    """
    check_step(step)
    check_quantity("demand", demand)
    ordered = sorted(offers, key=lambda o: o.offer_id)
    ids = [o.offer_id for o in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("two offers share an offer_id")
    for offer in ordered:
        check_quantity(f"capacity of {offer.offer_id}", offer.capacity)
        check_quantity(f"min_delivery of {offer.offer_id}", offer.min_delivery)
    if demand > sum((o.capacity for o in ordered), Decimal(0)):
        raise ValueError(f"demand {demand} is more than the capacity offered")
    demand_units = exact_steps("demand", demand, step)
    pins = _pinned_units(pinned, step)
    if sum(pins.values()) > demand_units:
        raise ValueError("the pinned quantities add up to more than the demand")
    if policy in INCOME_POLICIES and (unit_value_cents is None or unit_value_cents <= 0):
        raise ValueError(f"{policy} needs a positive unit_value_cents")
    if not floor_share.is_finite() or not 0 <= floor_share <= 1:
        raise ValueError(f"the floor share must be between 0 and 1, not {floor_share}")

    caps = [steps_down(o.capacity, step) for o in ordered]
    mins = [min(steps_up(o.min_delivery, step), cap) for o, cap in zip(ordered, caps, strict=True)]
    problem = _Problem(
        offers=ordered,
        caps=caps,
        target=min(demand_units, sum(caps)),
        income=dict(income or {}),
        step_value=Fraction(unit_value_cents or 0) * Fraction(step),
        members={a: max(1, n) for a, n in (members or {}).items()},
    )
    floors: Sequence[int] = (0,) * len(caps)
    if policy is Policy.per_member_equalizing:
        floors = _floors(demand, tuple(ordered), step, tuple(pinned), floor_share, tuple(mins))
    open_ = [i for i, cap in enumerate(caps) if cap > 0]
    raised: set[int] = set()
    waived = {i for i in open_ if 0 < floors[i] < mins[i]}
    while True:
        served = _serve_pins(problem, open_, pins)
        lower = [max(n, mins[i]) if i in raised else n for i, n in enumerate(served)]
        if policy is Policy.per_member_equalizing:
            lower = _with_floors(problem, open_, lower, floors)
        units = _share(policy, problem, open_, lower)
        below = [i for i in open_ if 0 < units[i] < mins[i] and i not in waived and floors[i] == 0]
        if not below:
            break
        worst = min(below, key=lambda i: (served[i] > 0, units[i] - mins[i], i))
        if sum(caps[i] for i in open_ if i != worst) >= problem.target:
            open_.remove(worst)
        elif sum(lower) - lower[worst] + mins[worst] <= problem.target:
            raised.add(worst)
        else:
            waived.add(worst)

    return [
        Allocation(
            offer_id=offer.offer_id,
            association_id=offer.association_id,
            quantity=quantity_of(units[i], step),
            pinned=quantity_of(served[i], step),
            minimum_waived=i in waived and 0 < units[i] < mins[i],
        )
        for i, offer in enumerate(ordered)
    ]


@dataclass(frozen=True)
class _Problem:
    """One allocation, counted in pack steps; offers sorted by offer_id."""

    offers: list[Offer]
    caps: list[int]  # usable capacity of each offer, in steps
    target: int  # steps to allocate in all
    income: dict[str, int]  # association_id -> cents earned so far (income policies)
    step_value: Fraction  # producer income of one step, in cents (income policies)
    members: dict[str, int]  # association_id -> members, at least 1 (per_member_equalizing)


@functools.lru_cache(maxsize=512)
def _floors(
    demand: Decimal,
    offers: tuple[Offer, ...],
    step: Decimal,
    pinned: tuple[Pin, ...],
    share: Decimal,
    mins: tuple[int, ...],
) -> tuple[int, ...]:
    """Steps each offer is guaranteed: ``share`` of its proportional allocation, rounded
    down, raised to its minimum when proportional gives it that much. Cached (a pure
    function of its arguments): ``allocate_cycle`` asks for the same floors again."""
    reference = allocate(demand, offers, step=step, policy=Policy.proportional, pinned=pinned)
    floors = []
    for allocation, minimum in zip(reference, mins, strict=True):
        given = exact_steps("allocation", allocation.quantity, step)
        exact = Fraction(share) * given
        floor = exact.numerator // exact.denominator
        floors.append(minimum if 0 < floor < minimum <= given else floor)
    return tuple(floors)


def _with_floors(
    problem: _Problem, open_: list[int], lower: list[int], floors: Sequence[int]
) -> list[int]:
    """``lower`` raised to the floors of the open offers, cut back (smallest offer_id first)
    to what the target leaves room for."""
    raised = list(lower)
    for i in open_:
        raised[i] = max(lower[i], floors[i])
    excess = sum(raised[i] for i in open_) - problem.target
    for i in open_:
        if excess <= 0:
            break
        cut = min(excess, raised[i] - lower[i])
        raised[i] -= cut
        excess -= cut
    return raised


def _pinned_units(pinned: Sequence[Pin], step: Decimal) -> dict[str, int]:
    """Pinned steps per association (several buyer lines may pin the same association)."""
    pins: dict[str, int] = {}
    for pin in pinned:
        check_quantity(f"pinned quantity for {pin.association_id}", pin.quantity)
        units = exact_steps(f"pinned quantity for {pin.association_id}", pin.quantity, step)
        pins[pin.association_id] = pins.get(pin.association_id, 0) + units
    return pins


def _serve_pins(problem: _Problem, open_: list[int], pins: Mapping[str, int]) -> list[int]:
    """Steps each open offer serves to buyers who pinned its association: a lower bound."""
    lower = [0] * len(problem.caps)
    left = dict(pins)
    for i in open_:  # offer_id order, so an association's first offer fills first
        association = problem.offers[i].association_id
        take = min(left.get(association, 0), problem.caps[i])
        if take:
            lower[i] = take
            left[association] -= take
    return lower


def _share(policy: Policy, problem: _Problem, open_: list[int], lower: list[int]) -> list[int]:
    """The policy's allocation among the open offers, every offer at least its ``lower``."""
    if policy is Policy.proportional:
        return _proportional(problem, open_, lower)
    if policy is Policy.equal_share:
        return _equal_share(problem, open_, lower)
    if policy is Policy.per_member_equalizing:
        return _per_member_equalizing(problem, open_, lower)
    return _income_equalizing(problem, open_, lower)


def _proportional(problem: _Problem, open_: list[int], lower: list[int]) -> list[int]:
    """Pins, then the pool in proportion to the capacity left (largest remainder).

    No share exceeds the capacity left: each quota is at most that capacity because the pool
    is at most the capacity left in all, and a quota below a whole number rounds up to at
    most that number.
    """
    units = list(lower)
    pool = problem.target - sum(lower[i] for i in open_)
    room = [problem.caps[i] - lower[i] for i in open_]
    for i, extra in zip(open_, split_largest_remainder(pool, room), strict=True):
        units[i] += extra
    return units


def _equal_share(problem: _Problem, open_: list[int], lower: list[int]) -> list[int]:
    """Water-filling in steps: every open offer gets ``clamp(level, lower, cap)``.

    The level is the highest whole number of steps at which the total stays within the
    target; the steps still missing (fewer than the offers that could take one more) go
    one each to the offers that can take one more, smallest offer_id first.
    """
    caps = problem.caps

    def filled(level: int) -> int:
        return sum(min(max(level, lower[i]), caps[i]) for i in open_)

    low, high = 0, max((caps[i] for i in open_), default=0)
    while low < high:  # the largest level with filled(level) <= target; filled(0) fits
        mid = (low + high + 1) // 2
        if filled(mid) <= problem.target:
            low = mid
        else:
            high = mid - 1
    units = [0] * len(caps)
    for i in open_:
        units[i] = min(max(low, lower[i]), caps[i])
    missing = problem.target - filled(low)
    for i in [i for i in open_ if lower[i] <= low < caps[i]][:missing]:
        units[i] += 1
    return units


def _income_equalizing(problem: _Problem, open_: list[int], lower: list[int]) -> list[int]:
    """Water-filling on income: each step goes to the poorest association so far.

    Scaled to integers, the step an association receives when it already holds ``x``
    steps has the key ``income * q + x * p`` (``p / q`` is the value of a step in cents).
    Giving steps one by one to the lowest key (ties to the smaller association_id) is the
    same as taking the ``pool`` smallest keys at once; a binary search finds the threshold
    key instead of looping over every step.
    """
    p, q = problem.step_value.numerator, problem.step_value.denominator
    groups: dict[str, list[int]] = {}
    for i in open_:
        groups.setdefault(problem.offers[i].association_id, []).append(i)
    names = sorted(groups)
    base = [sum(lower[i] for i in groups[a]) for a in names]
    full = [sum(problem.caps[i] for i in groups[a]) for a in names]
    start = [problem.income.get(a, 0) * q for a in names]
    pool = problem.target - sum(base)

    def received(key: int) -> list[int]:
        """Steps each association receives with every key below ``key``."""
        return [
            min(max(-((start[k] - key) // p), base[k]), full[k]) - base[k]
            for k in range(len(names))
        ]

    if not names:
        return [0] * len(problem.caps)
    low = min(s + b * p for s, b in zip(start, base, strict=True))
    high = max(s + f * p for s, f in zip(start, full, strict=True))
    while low < high:  # the largest key with at most ``pool`` keys below it
        mid = (low + high + 1) // 2
        if sum(received(mid)) <= pool:
            low = mid
        else:
            high = mid - 1
    extra = received(low)
    missing = pool - sum(extra)
    for k in range(len(names)):  # names are sorted: ties to the smaller association_id
        held = base[k] + extra[k]
        if missing and held < full[k] and start[k] + held * p == low:
            extra[k] += 1
            missing -= 1

    units = list(lower)
    for k, association in enumerate(names):
        members = groups[association]
        room = [problem.caps[i] - lower[i] for i in members]
        for i, more in zip(members, split_largest_remainder(extra[k], room), strict=True):
            units[i] += more
    return units


def _per_member_equalizing(problem: _Problem, open_: list[int], lower: list[int]) -> list[int]:
    """Water-filling on income per member: each step to the association poorest per member.

    The step an association with ``m`` members receives when it already holds ``x`` steps
    has the key ``(income * q + x * p) / m`` (``p / q``: the value of a step in cents); the
    pool goes to the ``pool`` smallest keys, ties to the smaller association_id, which is
    giving the steps one by one. A water level found in floating point gives a first
    guess, which exact integer comparisons then correct step by step (a few steps at most),
    so the result is exact and does not depend on rounding.
    """
    p, q = problem.step_value.numerator, problem.step_value.denominator
    groups: dict[str, list[int]] = {}
    for i in open_:
        groups.setdefault(problem.offers[i].association_id, []).append(i)
    names = sorted(groups)
    if not names:
        return [0] * len(problem.caps)
    base = [sum(lower[i] for i in groups[a]) for a in names]
    full = [sum(problem.caps[i] for i in groups[a]) for a in names]
    start = [problem.income.get(a, 0) * q for a in names]
    weight = [problem.members.get(a, 1) for a in names]
    pool = problem.target - sum(base)
    held = water_fill(start, weight, p, base, full, pool)

    units = list(lower)
    for k, association in enumerate(names):
        offers = groups[association]
        room = [problem.caps[i] - lower[i] for i in offers]
        extra = held[k] - base[k]
        for i, more in zip(offers, split_largest_remainder(extra, room), strict=True):
            units[i] += more
    return units


def water_fill(
    start: Sequence[int],
    weight: Sequence[int],
    p: int,
    base: Sequence[int],
    full: Sequence[int],
    pool: int,
) -> list[int]:
    """Steps each of ``n`` parties holds after ``pool`` steps went one by one to the lowest
    key ``(start[k] + held * p) / weight[k]`` (ties to the smaller index), every party from
    ``base[k]`` up to ``full[k]``. Integers in, integers out; ``pool`` must fit."""
    n = len(start)
    total = sum(base) + pool

    def before(a: int, x: int, b: int, y: int) -> bool:
        """Whether party a's step at x comes before party b's step at y."""
        left, right = (start[a] + x * p) * weight[b], (start[b] + y * p) * weight[a]
        return left < right or (left == right and a < b)

    def count(level: float) -> list[int]:
        held = []
        for k in range(n):
            x = math.ceil((level * weight[k] - start[k]) / p)
            held.append(min(max(x, base[k]), full[k]))
        return held

    low = min((start[k] + base[k] * p) / weight[k] for k in range(n))
    high = max((start[k] + full[k] * p) / weight[k] for k in range(n))
    for _ in range(40):  # the float level with about ``pool`` steps under it
        mid = (low + high) / 2
        if sum(count(mid)) <= total:
            low = mid
        else:
            high = mid
    held = count(low)
    given = sum(held)

    def next_step() -> int | None:
        """The party whose next step comes first, if any party can take one more."""
        best = None
        for k in range(n):
            if held[k] < full[k] and (best is None or before(k, held[k], best, held[best])):
                best = k
        return best

    def last_step() -> int | None:
        """The party whose last step taken (above its base) came last."""
        worst = None
        for k in range(n):
            if held[k] > base[k] and (
                worst is None or before(worst, held[worst] - 1, k, held[k] - 1)
            ):
                worst = k
        return worst

    while given > total:  # give back the last steps taken (the float level was too high)
        last = last_step()
        assert last is not None
        held[last] -= 1
        given -= 1
    while given < total:  # take the next steps (the float level was too low)
        first = next_step()
        assert first is not None
        held[first] += 1
        given += 1
    while True:  # swap any step taken after one left out
        first, last = next_step(), last_step()
        if first is None or last is None or not before(first, held[first], last, held[last] - 1):
            return held
        held[first] += 1
        held[last] -= 1


@dataclass(frozen=True)
class SkuDemand:
    """One SKU of a cycle, as ``allocate_cycle`` takes it."""

    demand: Decimal
    offers: Sequence[Offer]
    step: Decimal
    unit_value_cents: int
    pinned: Sequence[Pin] = ()


def allocate_cycle(
    skus: Sequence[SkuDemand],
    *,
    policy: Policy,
    income: Mapping[str, int] | None = None,
    members: Mapping[str, int] | None = None,
    floor_share: Decimal = DEFAULT_FLOOR_SHARE,
) -> list[list[Allocation]]:
    """Allocate every SKU of a cycle; one ``allocate`` result per SKU, in the given order.

    Every policy but ``per_member_equalizing`` allocates each SKU on its own, seeing the
    same ``income``. ``per_member_equalizing`` sees the cycle as a whole: each SKU (in the
    given order) sees the income the SKUs before it added, and then a **local improvement
    pass** moves single steps of a SKU from the association richest per member after the
    cycle to the poorest one that also offered it, while the move leaves the giver at least
    as rich per member as the taker (a transfer from richer to poorer members, which lowers
    the Gini and never reverses their order), and keeps every rule of ``allocate``: pack
    steps, capacities, pins, floors and minimum deliveries (an offer stays at 0 or at its
    minimum or more; one whose minimum was waived is left as it is). Each move lowers the
    sum over members of the squared income, so the pass ends; the SKUs' totals do not change.
    """
    results: list[list[Allocation]] = []
    seen = dict(income or {})
    for sku in skus:
        result = allocate(
            sku.demand,
            sku.offers,
            step=sku.step,
            policy=policy,
            pinned=sku.pinned,
            income=seen if policy is Policy.per_member_equalizing else income,
            unit_value_cents=sku.unit_value_cents,
            members=members,
            floor_share=floor_share,
        )
        results.append(result)
        if policy is Policy.per_member_equalizing:
            for allocation in result:
                seen[allocation.association_id] = seen.get(allocation.association_id, 0) + _value(
                    sku, allocation.quantity
                )
    if policy is not Policy.per_member_equalizing:
        return results
    return _improve(
        skus, results, seen, {a: max(1, n) for a, n in (members or {}).items()}, floor_share
    )


def _value(sku: SkuDemand, quantity: Decimal) -> int:
    """Cents of producer income of ``quantity`` (as settlement counts it: half up)."""
    exact = Fraction(sku.unit_value_cents) * Fraction(quantity)
    return (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)


def _improve(
    skus: Sequence[SkuDemand],
    results: list[list[Allocation]],
    income: dict[str, int],
    members: dict[str, int],
    floor_share: Decimal,
) -> list[list[Allocation]]:
    """The local improvement pass of ``allocate_cycle`` (``income``: after the cycle)."""
    states = []
    for sku, result in zip(skus, results, strict=True):
        by_id = {o.offer_id: o for o in sku.offers}
        ordered = [by_id[a.offer_id] for a in result]
        caps = [steps_down(o.capacity, sku.step) for o in ordered]
        mins = [
            min(steps_up(o.min_delivery, sku.step), c) for o, c in zip(ordered, caps, strict=True)
        ]
        floors = _floors(
            sku.demand, tuple(ordered), sku.step, tuple(sku.pinned), floor_share, tuple(mins)
        )
        units = [exact_steps("allocation", a.quantity, sku.step) for a in result]
        keep = [
            max(exact_steps("pin", a.pinned, sku.step), floors[i]) for i, a in enumerate(result)
        ]
        states.append((sku, result, caps, mins, keep, units))

    def level(association: str) -> float:
        """Income per member, to choose candidates (floats of equal fractions are equal)."""
        return income.get(association, 0) / members.get(association, 1)

    def richer(giver: str, taker: str, value: int) -> bool:
        """Whether the giver stays at least as rich per member as the taker after a move."""
        left = (income.get(giver, 0) - value) * members.get(taker, 1)
        return left >= (income.get(taker, 0) + value) * members.get(giver, 1)

    moved = True
    while moved:
        moved = False
        for sku, result, caps, mins, keep, units in states:
            value = _value(sku, sku.step)
            while True:
                givers = [
                    i
                    for i, a in enumerate(result)
                    if not a.minimum_waived
                    and units[i] - 1 >= keep[i]
                    and (units[i] - 1 == 0 or units[i] - 1 >= mins[i])
                ]
                takers = [
                    i
                    for i, a in enumerate(result)
                    if not a.minimum_waived and units[i] < caps[i] and units[i] + 1 >= mins[i]
                ]
                if not givers or not takers:
                    break
                rich = max(
                    givers, key=lambda i: (level(result[i].association_id), result[i].offer_id)
                )
                poor = min(
                    takers, key=lambda i: (level(result[i].association_id), result[i].offer_id)
                )
                giver, taker = result[rich].association_id, result[poor].association_id
                if giver == taker or not richer(giver, taker, value):
                    break
                units[rich] -= 1
                units[poor] += 1
                income[giver] = income.get(giver, 0) - value
                income[taker] = income.get(taker, 0) + value
                moved = True
    return [
        [
            Allocation(
                offer_id=a.offer_id,
                association_id=a.association_id,
                quantity=quantity_of(units[i], sku.step),
                pinned=a.pinned,
                minimum_waived=a.minimum_waived,
            )
            for i, a in enumerate(result)
        ]
        for sku, result, _, _, _, units in states
    ]
