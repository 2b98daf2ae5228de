"""Joint purchase: associations pool their requests for an input and buy whole supplier packs.

Pure: plain dataclasses in and out. Quantities are counted in thousandths of the unit (the
quantity scale, ``app.core.quantity.SCALE``) and money in cents, so that every split is an
exact split of integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from app.aggregation.types import check_quantity, check_step, exact_steps, quantity_of, steps_up
from app.core.money import split_largest_remainder
from app.core.quantity import SCALE


@dataclass(frozen=True)
class PurchaseRequest:
    """What an association asks for, and how much MORE it accepts (``tolerance``)."""

    association_id: str
    quantity: Decimal
    tolerance: Decimal = Decimal(0)


@dataclass(frozen=True)
class PackTier:
    """The supplier's price of a pack when at least ``min_packs`` packs are bought."""

    min_packs: int
    pack_price_cents: int


class Rounding(StrEnum):
    """How the pooled need was turned into whole packs."""

    exact = "exact"  # the requests add up to whole packs
    up = "up"  # one more pack; the tolerances absorb the excess
    down = "down"  # the whole packs below; the requests share the shortfall


@dataclass(frozen=True)
class PurchaseShare:
    """One association's part: what it gets, what it pays, and what it would pay alone."""

    association_id: str
    requested: Decimal
    quantity: Decimal
    cost_cents: int
    cost_alone_cents: int

    @property
    def saved_cents(self) -> int:
        """What buying together saved against buying alone (negative if it cost more)."""
        return self.cost_alone_cents - self.cost_cents


@dataclass(frozen=True)
class PurchasePlan:
    """The packs to order, their price, and every association's share (by association_id)."""

    packs: int
    pack_price_cents: int
    total_cost_cents: int
    rounding: Rounding
    shares: tuple[PurchaseShare, ...]


def pack_tier(tiers: Sequence[PackTier], packs: int) -> PackTier:
    """The tier that ``packs`` packs reach: the largest ``min_packs`` <= ``packs``.

    Zero packs (nothing is bought) is priced at the lowest tier, so the price stays
    informative; ``plan_purchase`` checks that the lowest tier starts at 0 or 1 pack, so that
    every positive pack count reaches a tier.
    """
    _check_tiers(tiers)
    reached = [t for t in tiers if t.min_packs <= packs]
    if not reached:
        return min(tiers, key=lambda t: t.min_packs)
    return max(reached, key=lambda t: t.min_packs)


def plan_purchase(
    requests: Sequence[PurchaseRequest], *, pack_size: Decimal, tiers: Sequence[PackTier]
) -> PurchasePlan:
    """Round the pooled requests to whole packs, allocate them, price them, share the cost.

    Named rules:

    * **Pack count.** The exact need is ``sum(quantity) / pack_size``. When it is whole,
      that many packs (``exact``). Otherwise one more pack when the excess
      ``packs * pack_size - sum(quantity)`` fits within the sum of the tolerances (``up``),
      else the whole packs below (``down``).
    * **Allocation** at the quantity scale 0.001, Hamilton's largest remainder, ties to the
      smaller association_id: on ``up`` the excess is shared in proportion to the
      tolerances (nobody gets more than its tolerance above its request); on ``down`` the
      shortfall is shared in proportion to the requested quantities (nobody goes below 0).
      So each association gets between ``quantity - its shortfall share`` and
      ``quantity + tolerance``, and the allocations add up to ``packs * pack_size``.
    * **Price.** The pooled pack count reaches a tier (``pack_tier``); the total cost is
      ``packs * pack_price_cents``, shared in proportion to the allocated quantities to the
      exact cent (largest remainder, ties to the smaller association_id).
    * **Alone.** ``cost_alone_cents`` is what the association would pay by itself for the
      packs it needs, ``ceil(quantity / pack_size)``, at the tier that count reaches.
    * **Zero packs.** When the requests add up to less than one pack and the tolerances
      cannot absorb topping them up (or nothing was requested), nothing is bought: 0 packs,
      every allocation and cost 0, and ``pack_price_cents`` is the lowest tier's price.

    Quantities must be at the quantity scale (0.001) and ``pack_size`` positive; tiers need
    distinct ``min_packs`` >= 0, the lowest at 0 or 1, and prices >= 0; one request per
    association. ``ValueError`` otherwise. Shares are sorted by association_id.
    """
    check_step(pack_size)
    _check_tiers(tiers)
    ordered = sorted(requests, key=lambda r: r.association_id)
    names = [r.association_id for r in ordered]
    if len(set(names)) != len(names):
        raise ValueError("one request per association: merge them first")
    for r in ordered:
        check_quantity(f"quantity of {r.association_id}", r.quantity)
        check_quantity(f"tolerance of {r.association_id}", r.tolerance)
    pack = exact_steps("pack_size", pack_size, SCALE)
    wanted = [exact_steps(f"quantity of {r.association_id}", r.quantity, SCALE) for r in ordered]
    slack = [exact_steps(f"tolerance of {r.association_id}", r.tolerance, SCALE) for r in ordered]

    total = sum(wanted)
    packs, rest = divmod(total, pack)
    if rest == 0:
        rounding, allocated = Rounding.exact, list(wanted)
    elif pack - rest <= sum(slack):
        packs += 1
        more = split_largest_remainder(pack - rest, slack)
        rounding = Rounding.up
        allocated = [w + m for w, m in zip(wanted, more, strict=True)]
    else:
        less = split_largest_remainder(rest, wanted)
        rounding = Rounding.down
        allocated = [w - s for w, s in zip(wanted, less, strict=True)]

    price = pack_tier(tiers, packs).pack_price_cents
    total_cost = packs * price
    costs = split_largest_remainder(total_cost, allocated)
    shares = tuple(
        PurchaseShare(
            association_id=r.association_id,
            requested=r.quantity,
            quantity=quantity_of(units, SCALE),
            cost_cents=cost,
            cost_alone_cents=_cost_alone(r.quantity, pack_size, tiers),
        )
        for r, units, cost in zip(ordered, allocated, costs, strict=True)
    )
    return PurchasePlan(
        packs=packs,
        pack_price_cents=price,
        total_cost_cents=total_cost,
        rounding=rounding,
        shares=shares,
    )


def _cost_alone(quantity: Decimal, pack_size: Decimal, tiers: Sequence[PackTier]) -> int:
    """Price of ``ceil(quantity / pack_size)`` packs at the tier that count reaches."""
    packs = steps_up(quantity, pack_size)
    return packs * pack_tier(tiers, packs).pack_price_cents if packs else 0


def _check_tiers(tiers: Sequence[PackTier]) -> None:
    if not tiers:
        raise ValueError("at least one price tier is needed")
    starts = [t.min_packs for t in tiers]
    if len(set(starts)) != len(starts):
        raise ValueError("two tiers start at the same pack count")
    if min(starts) < 0 or min(starts) > 1:
        raise ValueError("the lowest tier must start at 0 or 1 pack")
    if any(t.pack_price_cents < 0 for t in tiers):
        raise ValueError("a pack price cannot be negative")
