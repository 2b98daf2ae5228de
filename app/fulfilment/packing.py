"""The packing plan of one SKU of a cycle, from plain data: what each association supplied,
what each buyer line keeps after a shortfall, which lots fill it, what they weigh and what
the buyer is billed for them.

Pure: no database. ``shipments.build_shipments`` loads the rows, plans every SKU and stores
the plan (the order lines through ``orders.lifecycle``); the properties are tested in
``tests/fulfilment/test_packing.py``.

Named rules: shortfalls are covered from other suppliers' surplus first
(``consolidation.cover_shortfalls``), then shared among the lines
(``aggregation.shortage.share_shortfall``); lots go first received, first out
(``consolidation.pick_lots``); a weighed lot's real weight is shared among its picks (and
what is left of it at the centre) in proportion to quantity, largest remainder to the gram,
and the buyer is billed that weight in the sale unit; any other lot weighs the SKU's unit
weight times the quantity and is billed by quantity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.aggregation.shortage import Line, share_shortfall
from app.core.money import split_largest_remainder
from app.core.quantity import quantize
from app.fulfilment.consolidation import (
    LotStock,
    Need,
    Supplier,
    cover_shortfalls,
    milli,
    of_milli,
    pick_lots,
)


@dataclass(frozen=True)
class SkuTerms:
    pack_size: Decimal
    unit_weight_kg: Decimal
    # kilograms in one sale unit when the SKU is sold by weight (kg, lb), else None
    kg_per_unit: Decimal | None


@dataclass(frozen=True)
class LineToPack:
    line_id: str
    confirmed: Decimal  # what the close confirmed


@dataclass(frozen=True)
class Allocated:
    association_id: str
    allocated: Decimal


@dataclass(frozen=True)
class LotIn:
    lot_id: str
    association_id: str
    accepted: Decimal
    weight_kg: Decimal | None  # the real weight, when the lot was weighed
    weighed: bool  # variable-weight goods with a real weight: billed by it


@dataclass(frozen=True)
class PackedLot:
    line_id: str
    lot_id: str
    quantity: Decimal
    weight_kg: Decimal
    real_weight_kg: Decimal | None
    billed: Decimal  # in the sale unit


@dataclass(frozen=True)
class SkuPacking:
    remaining: dict[str, Decimal]  # per line, after the shortfall cut
    supplied: dict[str, Decimal]  # per association: what went to buyers
    accepted: dict[str, Decimal]  # per association: what the centre accepted
    shortfall: Decimal
    packed: list[PackedLot]

    def billed(self, line_id: str) -> Decimal:
        return quantize(sum((p.billed for p in self.packed if p.line_id == line_id), Decimal(0)))


def in_sale_unit(kg: Decimal, kg_per_unit: Decimal | None) -> Decimal:
    """A real weight in the SKU's sale unit when it is sold by weight (else in kg)."""
    if kg_per_unit is not None:
        return quantize(kg / kg_per_unit)
    return kg


def plan_sku(
    sku: SkuTerms,
    lines: Sequence[LineToPack],
    suppliers: Sequence[Allocated],
    lots: Sequence[LotIn],
) -> SkuPacking:
    """``lots`` in the order they were received (first out first)."""
    accepted: dict[str, Decimal] = defaultdict(Decimal)
    for lot in lots:
        accepted[lot.association_id] += lot.accepted
    supply = cover_shortfalls(
        [Supplier(s.association_id, s.allocated, accepted[s.association_id]) for s in suppliers],
        demand=sum((line.confirmed for line in lines), Decimal(0)),
        step=sku.pack_size,
    )
    supplied = {s.association_id: s.supplied for s in supply.suppliers}
    remaining = {line.line_id: line.confirmed for line in lines}
    if supply.shortfall > 0:
        cuts = share_shortfall(
            supply.shortfall,
            [Line(line.line_id, line.confirmed) for line in lines],
            step=sku.pack_size,
        )
        remaining = {cut.line_id: cut.remaining for cut in cuts}
    picks = pick_lots(
        [LotStock(lot.lot_id, lot.association_id, lot.accepted, n) for n, lot in enumerate(lots)],
        supplied,
        [Need(line.line_id, remaining[line.line_id]) for line in lines if remaining[line.line_id]],
    )
    by_lot: dict[str, list[int]] = defaultdict(list)
    for n, pick in enumerate(picks):
        by_lot[pick.lot_id].append(n)
    of = {lot.lot_id: lot for lot in lots}
    packed: list[PackedLot | None] = [None] * len(picks)
    for lot_id, indices in by_lot.items():
        lot = of[lot_id]
        shares: list[int] = []
        if lot.weighed and lot.weight_kg is not None:
            used = [milli(picks[i].quantity) for i in indices]
            rest = milli(lot.accepted) - sum(used)
            shares = split_largest_remainder(milli(lot.weight_kg), [*used, rest])
        for k, i in enumerate(indices):
            pick = picks[i]
            if shares:
                real = of_milli(shares[k])
                packed[i] = PackedLot(
                    pick.item_id,
                    lot_id,
                    pick.quantity,
                    real,
                    real,
                    in_sale_unit(real, sku.kg_per_unit),
                )
            else:
                weight = quantize(sku.unit_weight_kg * pick.quantity)
                packed[i] = PackedLot(
                    pick.item_id, lot_id, pick.quantity, weight, None, pick.quantity
                )
    return SkuPacking(
        remaining=remaining,
        supplied=supplied,
        accepted=dict(accepted),
        shortfall=supply.shortfall,
        packed=[p for p in packed if p is not None],
    )
