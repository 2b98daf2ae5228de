"""What each association really supplied of a SKU, and which lots go to which buyer line.

Pure: plain dataclasses in and out, no database. Quantities are counted in thousandths of
the sale unit (the scale of every quantity) so that each split is exact.

Named rules, per SKU of a cycle:

* **Own allocation first.** An association supplies its own allocation from what the centre
  accepted of it: ``own = min(accepted, allocated)``.
* **Shortfalls covered from surplus.** What the associations together fell short of their
  allocations is covered from the accepted surplus (accepted above allocation) of the
  others, shared in proportion to each one's surplus (largest remainder in thousandths,
  ties to the smaller association id), never above a surplus.
* **Whole packs to buyers.** Buyers get whole pack steps: the quantity handed to buyers is
  ``min(demand, accepted total rounded down to whole steps)``; in the rare case where the
  associations' own supply is above that (accepted goods that are not a whole step), the
  excess is trimmed in proportion to their own supply.
* **What is still missing** (a whole number of steps) is shared among the buyers' lines by
  ``aggregation.shortage.share_shortfall``.
* **Lots, first in first out.** Each association's supply is taken from its lots in the
  order they were received; the pieces of every association, again in the order received,
  fill the buyer lines in line order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.aggregation.types import steps_down
from app.core.money import split_largest_remainder

MILLI = Decimal("1000")


def milli(quantity: Decimal) -> int:
    return int(quantity * MILLI)


def of_milli(units: int) -> Decimal:
    return Decimal(units) / MILLI


@dataclass(frozen=True)
class Supplier:
    association_id: str
    allocated: Decimal
    accepted: Decimal


@dataclass(frozen=True)
class Supplied:
    association_id: str
    allocated: Decimal
    accepted: Decimal
    own: Decimal  # of its own allocation
    covered: Decimal  # of the others' shortfall, from its surplus
    supplied: Decimal  # own + covered: what went to buyers


@dataclass(frozen=True)
class SkuSupply:
    suppliers: tuple[Supplied, ...]
    deliverable: Decimal  # handed to buyers, a whole number of steps
    shortfall: Decimal  # demand - deliverable, shared among the buyer lines


def cover_shortfalls(suppliers: Sequence[Supplier], *, demand: Decimal, step: Decimal) -> SkuSupply:
    """Apply the module's rules to one SKU (``demand`` a whole number of ``step``s)."""
    ordered = sorted(suppliers, key=lambda s: s.association_id)
    accepted_total = sum((s.accepted for s in ordered), Decimal(0))
    deliverable = min(demand, steps_down(accepted_total, step) * step)
    own = [milli(min(s.accepted, s.allocated)) for s in ordered]
    target = milli(deliverable)
    covered = [0] * len(ordered)
    if sum(own) > target:
        trim = split_largest_remainder(sum(own) - target, own)
        own = [o - t for o, t in zip(own, trim, strict=True)]
    elif sum(own) < target:
        surplus = [milli(s.accepted) - o for s, o in zip(ordered, own, strict=True)]
        covered = split_largest_remainder(target - sum(own), surplus)
    return SkuSupply(
        suppliers=tuple(
            Supplied(
                association_id=s.association_id,
                allocated=s.allocated,
                accepted=s.accepted,
                own=of_milli(o),
                covered=of_milli(c),
                supplied=of_milli(o + c),
            )
            for s, o, c in zip(ordered, own, covered, strict=True)
        ),
        deliverable=deliverable,
        shortfall=demand - deliverable,
    )


@dataclass(frozen=True)
class LotStock:
    """A received lot: ``rank`` orders lots by arrival (first received, first out)."""

    lot_id: str
    association_id: str
    quantity: Decimal
    rank: int


@dataclass(frozen=True)
class Need:
    item_id: str
    quantity: Decimal


@dataclass(frozen=True)
class Pick:
    item_id: str
    lot_id: str
    quantity: Decimal


def pick_lots(
    lots: Sequence[LotStock], supplied: Mapping[str, Decimal], needs: Sequence[Need]
) -> list[Pick]:
    """Fill ``needs`` (in order) from the associations' ``supplied`` quantities, taken from
    their lots first received first. The needs must add up to the supply."""
    pieces: list[tuple[int, str, int]] = []  # (rank, lot_id, milli)
    left = {a: milli(q) for a, q in supplied.items()}
    for lot in sorted(lots, key=lambda lot: (lot.rank, lot.lot_id)):
        take = min(milli(lot.quantity), left.get(lot.association_id, 0))
        if take > 0:
            pieces.append((lot.rank, lot.lot_id, take))
            left[lot.association_id] -= take
    if any(left.values()) or sum(p[2] for p in pieces) != sum(milli(n.quantity) for n in needs):
        raise ValueError("the needs do not add up to what the lots supply")
    picks: list[Pick] = []
    position = 0
    for need in needs:
        wanted = milli(need.quantity)
        while wanted > 0:
            rank, lot_id, available = pieces[position]
            take = min(available, wanted)
            picks.append(Pick(need.item_id, lot_id, of_milli(take)))
            wanted -= take
            if take == available:
                position += 1
            else:
                pieces[position] = (rank, lot_id, available - take)
    return picks
