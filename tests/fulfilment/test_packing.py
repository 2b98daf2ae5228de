"""The packing plan of a SKU (load → plan → store): properties over random receipts."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.fulfilment.packing import (
    Allocated,
    LineToPack,
    LotIn,
    SkuPacking,
    SkuTerms,
    in_sale_unit,
    plan_sku,
)

D = Decimal
PROPERTY = settings(max_examples=400, deadline=None)


@st.composite
def skus_to_pack(
    draw: st.DrawFn,
) -> tuple[SkuTerms, list[LineToPack], list[Allocated], list[LotIn]]:
    step = D(draw(st.sampled_from(["1", "0.5", "12"])))
    by_weight = draw(st.booleans())
    sku = SkuTerms(step, D("1") if by_weight else D("0.5"), D("1") if by_weight else None)
    suppliers = [
        Allocated(f"a{n}", draw(st.integers(0, 10)) * step) for n in range(draw(st.integers(1, 4)))
    ]
    demand = sum((s.allocated for s in suppliers), D(0))
    lines: list[LineToPack] = []
    left = demand
    n = 0
    while left > 0:
        take = min(left, draw(st.integers(1, 5)) * step)
        lines.append(LineToPack(f"l{n}", take))
        left -= take
        n += 1
    weighed = draw(st.booleans())
    lots: list[LotIn] = []
    for s in suppliers:
        for k in range(draw(st.integers(0, 2))):
            accepted = draw(st.integers(0, 12)) * step
            weight = (
                (accepted * D(draw(st.integers(900, 1100))) / 1000).quantize(D("0.001"))
                if weighed
                else None
            )
            lots.append(
                LotIn(f"{s.association_id}-lot{k}", s.association_id, accepted, weight, weighed)
            )
    order = draw(st.permutations(lots))
    return sku, lines, suppliers, list(order)


def _check(
    sku: SkuTerms,
    lines: list[LineToPack],
    suppliers: list[Allocated],
    lots: list[LotIn],
    plan: SkuPacking,
) -> None:
    confirmed = {line.line_id: line.confirmed for line in lines}
    for line_id, kept in plan.remaining.items():
        assert 0 <= kept <= confirmed[line_id]
        assert kept % sku.pack_size == 0
    accepted = sum((lot.accepted for lot in lots), D(0))
    demand = sum(confirmed.values(), D(0))
    kept_total = sum(plan.remaining.values(), D(0))
    assert kept_total + plan.shortfall == demand
    assert kept_total <= accepted
    packed_per_line: dict[str, D] = defaultdict(D)
    packed_per_lot: dict[str, D] = defaultdict(D)
    packed_per_association: dict[str, D] = defaultdict(D)
    real_per_lot: dict[str, D] = defaultdict(D)
    of = {lot.lot_id: lot for lot in lots}
    for p in plan.packed:
        packed_per_line[p.line_id] += p.quantity
        packed_per_lot[p.lot_id] += p.quantity
        packed_per_association[of[p.lot_id].association_id] += p.quantity
        if of[p.lot_id].weighed:
            assert p.real_weight_kg is not None
            real_per_lot[p.lot_id] += p.real_weight_kg
            assert p.billed == in_sale_unit(p.real_weight_kg, sku.kg_per_unit)
        else:
            assert (p.real_weight_kg, p.billed) == (None, p.quantity)
    for line_id, kept in plan.remaining.items():
        assert packed_per_line[line_id] == kept
        assert plan.billed(line_id) == sum(
            (p.billed for p in plan.packed if p.line_id == line_id), D(0)
        )
    for lot_id, quantity in packed_per_lot.items():
        assert quantity <= of[lot_id].accepted
        weight = of[lot_id].weight_kg
        if of[lot_id].weighed and weight is not None:
            assert real_per_lot[lot_id] <= weight
    for association_id, supplied in plan.supplied.items():
        assert packed_per_association[association_id] == supplied


@PROPERTY
@given(skus_to_pack())
def test_packing_keeps_goods_and_bills_what_is_packed(
    case: tuple[SkuTerms, list[LineToPack], list[Allocated], list[LotIn]],
) -> None:
    sku, lines, suppliers, lots = case
    plan = plan_sku(sku, lines, suppliers, lots)
    _check(sku, lines, suppliers, lots, plan)
    assert plan_sku(sku, lines, suppliers, lots) == plan  # deterministic


def test_a_weighed_lot_bills_its_real_weight_shared_by_quantity() -> None:
    sku = SkuTerms(D(1), D(1), D(1))
    lines = [LineToPack("mine", D(6)), LineToPack("theirs", D(4))]
    lots = [LotIn("HOJA-1", "a", D(10), D("10.400"), weighed=True)]
    plan = plan_sku(sku, lines, [Allocated("a", D(10))], lots)
    assert (plan.billed("mine"), plan.billed("theirs")) == (D("6.240"), D("4.160"))
    assert plan.shortfall == 0
