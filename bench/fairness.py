"""Season simulator: how evenly each allocation policy spreads income, per association and
per member (the figures of docs/fairness.md).

A season is a network of associations of lognormal sizes (members grow with size, capacity a
little faster: bigger associations have more land and animals per member), each supplying one
to three of the demo's SKUs (their pack steps and producer prices) in every cycle, with
capacities that vary ±40 % from cycle to cycle, some minimum deliveries, and a demand per SKU
at a share of the supply. Every policy allocates the same cycles in order, calling
``aggregation.allocation.allocate`` directly and seeing the income earned so far, as a
network closing its cycles would.

For each setting (associations x demand share x cycles) it prints, over the seasons:

- the Gini index of each policy per association and per member (each member holding her
  association's income per member), and the per-member reduction against ``proportional``;
- the **bound**: the lowest per-member Gini any allocation could reach, from a relaxation
  that keeps only that each association sells at most what it offered over the season (and,
  in the "with floor" column, at least the floor ``per_member_equalizing`` guarantees it),
  and lets the season's income move freely between SKUs and cycles, ignoring pack steps and
  minimum deliveries. Its optimum is water-filling on income per member (every member's
  income clamped to the same level between the association's bounds): that allocation
  Lorenz-dominates every other one of the relaxation, so no allocation has a lower Gini;
- how much of the bound's reduction ``per_member_equalizing`` reaches, the seasons in which
  it did worse than ``proportional`` per member, and the allocations in which an
  association got less than its floor (``floor_share`` of what ``proportional`` gives it,
  rounded down to whole packs);
- the share of the season's sales of the largest association (lowest over the seasons);
- the volume check: every policy sold the same quantity of every SKU in every cycle (so the
  same income), and no supply was left unsold while demand was unmet.

    .venv/bin/python -m bench.fairness                 # a short run: 4 seasons a setting
    .venv/bin/python -m bench.fairness --seasons 100 --jobs 2 --docs --chart docs/fairness.png
    .venv/bin/python -m bench.fairness --associations 44 --demand 0.9 --start by-size
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from app.aggregation.allocation import SkuDemand, allocate_cycle
from app.aggregation.fairness import SeasonCycle, cycles_of, gini, gini_per_member
from app.aggregation.types import (
    DEFAULT_FLOOR_SHARE,
    Allocation,
    Offer,
    Policy,
    exact_steps,
    steps_down,
)
from app.core.money import cents_times
from app.demo.data import SKUS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "fairness.md"
POLICIES = (
    Policy.proportional,
    Policy.equal_share,
    Policy.income_equalizing,
    Policy.per_member_equalizing,
)
SHORT = {
    Policy.proportional: "prop",
    Policy.equal_share: "equal",
    Policy.income_equalizing: "income",
    Policy.per_member_equalizing: "member",
}


Slot = tuple[int, str]  # (cycle number, SKU)


@dataclass(frozen=True)
class Setting:
    associations: int
    demand: float  # demand as a share of the supply
    cycles: int
    start: str  # "zero": everyone starts the season at 0; "by-size": the big ones richer
    skus: int = len(SKUS)  # how many of the demo's SKUs the network sells

    def label(self) -> str:
        return f"{self.associations} · {self.demand:.0%} · {self.cycles}"


@dataclass
class Season:
    cycles: list[SeasonCycle]
    skus: list[str]  # the SKU of each entry of ``cycles``
    members: dict[str, int]
    women: dict[str, int]
    start: dict[str, int]
    largest: str  # the association of the largest size


def make_season(setting: Setting, seed: int) -> Season:
    """One random season of ``setting`` (the same seed gives the same season)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible simulation, not a secret
    names = [f"a{k:02d}" for k in range(setting.associations)]
    raw = [rng.lognormvariate(0, 0.9) for _ in names]
    mean = sum(raw) / len(raw)
    size = {a: s / mean for a, s in zip(names, raw, strict=True)}
    members = {a: max(5, round(22 * size[a] ** 0.75 * rng.lognormvariate(0, 0.3))) for a in names}
    women = {a: round(members[a] * rng.uniform(0.55, 0.95)) for a in names}
    skus = list(SKUS[: setting.skus])
    supplies = {a: rng.sample(skus, min(len(skus), rng.randint(1, 3))) for a in names}
    for sku in skus:  # every SKU has at least two suppliers
        while sum(sku in supplies[a] for a in names) < 2:
            supplies[rng.choice(names)].append(sku)
    minimum = {(a, s.key): rng.random() < 0.25 for a in names for s in supplies[a]}
    cycles: list[SeasonCycle] = []
    sku_of: list[str] = []
    for c in range(setting.cycles):
        for sku in skus:
            step = Decimal(sku.pack_size)
            offers = []
            for a in names:
                if sku not in supplies[a] or rng.random() < 0.08:  # a cycle missed
                    continue
                packs = int(size[a] * 24 * rng.uniform(0.6, 1.4))
                if packs <= 0:
                    continue
                floor = 2 * step if minimum[a, sku.key] else Decimal(0)
                offers.append(Offer(f"{c:02d}-{sku.key}-{a}", a, packs * step, floor))
            supply = sum(steps_down(o.capacity, step) for o in offers)
            packs = min(supply, round(supply * setting.demand * rng.uniform(0.9, 1.1)))
            if packs > 0:
                cycles.append(
                    SeasonCycle(
                        packs * step, tuple(offers), step, sku.producer_price_cents, cycle=c
                    )
                )
                sku_of.append(sku.key)
    start: dict[str, int] = {}
    if setting.start == "by-size":  # half a season of past income, by size
        value = sum(cents_times(c.unit_value_cents or 0, c.demand) for c in cycles)
        start = {
            a: round(value / 2 * size[a] / len(names) * rng.lognormvariate(0, 0.3)) for a in names
        }
    return Season(cycles, sku_of, members, women, start, max(names, key=lambda a: (size[a], a)))


@dataclass
class Outcome:
    """One season under every policy."""

    gini_association: dict[Policy, float]
    gini_member: dict[Policy, float]
    bound: float  # the relaxation's per-member Gini, floors ignored
    bound_floor: float  # the same with the floors
    largest_share: dict[Policy, float]
    below_floor: int  # allocations of per_member_equalizing under their floor
    lowest_floor_ratio: float  # lowest season sales / proportional's, per association
    volume_ok: bool
    seconds: dict[Policy, float] = field(default_factory=dict)


def run_season(setting: Setting, seed: int, floor_share: Decimal) -> Outcome:
    season = make_season(setting, seed)
    names = sorted(season.members)
    income = {p: {a: season.start.get(a, 0) for a in names} for p in POLICIES}
    sold: dict[Policy, list[list[Decimal]]] = {p: [] for p in POLICIES}
    # by association and slot (a SKU in a cycle)
    capacity_value: dict[tuple[str, Slot], int] = defaultdict(int)
    floor_value: dict[tuple[str, Slot], int] = defaultdict(int)
    sold_value: dict[Slot, int] = defaultdict(int)
    below = 0
    seconds = dict.fromkeys(POLICIES, 0.0)
    sku_of = {id(entry): sku for entry, sku in zip(season.cycles, season.skus, strict=True)}
    for number, group in enumerate(cycles_of(season.cycles)):
        skus = [
            SkuDemand(c.demand, c.offers, c.step or Decimal(1), c.unit_value_cents or 0)
            for c in group
        ]
        results: dict[Policy, list[list[Allocation]]] = {}
        for policy in POLICIES:
            began = time.process_time()
            results[policy] = allocate_cycle(
                skus,
                policy=policy,
                income=income[policy],
                members=season.members,
                floor_share=floor_share,
            )
            seconds[policy] += time.process_time() - began
            for sku, result in zip(skus, results[policy], strict=True):
                for allocation in result:
                    income[policy][allocation.association_id] += cents_times(
                        sku.unit_value_cents, allocation.quantity
                    )
                sold[policy].append([a.quantity for a in result])
        for k, (entry, sku) in enumerate(zip(group, skus, strict=True)):
            key = (number, sku_of[id(entry)])
            step, value = sku.step, sku.unit_value_cents
            for offer in entry.offers:
                capacity_value[offer.association_id, key] += cents_times(
                    value, steps_down(offer.capacity, step) * step
                )
            shares = {
                p: _by_association(results[p][k])
                for p in (Policy.proportional, Policy.per_member_equalizing)
            }
            for association, quantity in shares[Policy.proportional].items():
                exact = Fraction(floor_share) * exact_steps("allocation", quantity, step)
                floor = exact.numerator // exact.denominator
                floor_value[association, key] += cents_times(value, floor * step)
                sold_value[key] += cents_times(value, quantity)
                if shares[Policy.per_member_equalizing].get(association, Decimal(0)) < floor * step:
                    below += 1
    volume_ok = (
        all(
            [sum(q, Decimal(0)) for q in sold[p]] == [sum(q, Decimal(0)) for q in sold[POLICIES[0]]]
            for p in POLICIES
        )
        and len({sum(income[p].values()) for p in POLICIES}) == 1
    )
    volume_ok = volume_ok and all(
        sum(q, Decimal(0)) == min(c.demand, sum((o.capacity for o in c.offers), Decimal(0)))
        for c, q in zip(season.cycles, sold[POLICIES[0]], strict=True)
    )
    total = sum(income[Policy.proportional].values())
    start = {a: season.start.get(a, 0) for a in names}
    assert total == sum(start.values()) + sum(sold_value.values())
    bound = relaxation(start, capacity_value, {}, sold_value, season.members)
    bound_floor = relaxation(start, capacity_value, floor_value, sold_value, season.members)
    earned = {p: {a: income[p][a] - start[a] for a in names} for p in POLICIES}
    season_total = sum(earned[Policy.proportional].values()) or 1
    ratios = [
        earned[Policy.per_member_equalizing][a] / earned[Policy.proportional][a]
        for a in names
        if earned[Policy.proportional][a] > 0
    ]
    return Outcome(
        gini_association={p: float(gini(list(income[p].values()))) for p in POLICIES},
        gini_member={p: float(gini_per_member(income[p], season.members)) for p in POLICIES},
        bound=bound,
        bound_floor=bound_floor,
        largest_share={p: earned[p][season.largest] / season_total for p in POLICIES},
        below_floor=below,
        lowest_floor_ratio=min(ratios, default=1.0),
        volume_ok=volume_ok,
        seconds=seconds,
    )


def _by_association(result: Sequence[Allocation]) -> dict[str, Decimal]:
    per: dict[str, Decimal] = defaultdict(Decimal)
    for allocation in result:
        per[allocation.association_id] += allocation.quantity
    return per


def relaxation(
    start: dict[str, int],
    capacity: dict[tuple[str, Slot], int],
    floor: dict[tuple[str, Slot], int],
    sold: dict[Slot, int],
    members: dict[str, int],
) -> float:
    """The lowest per-member Gini of the relaxation, by linear programming (HiGHS).

    Variables: the sales ``x[a, s]`` (in cents) of each association ``a`` in each slot ``s``
    (a SKU in a cycle) it offered in, between its floor and what it offered; each slot sells
    what it sold (``sold[s]``, the same for every policy); the income per member is
    ``y[a] = (start[a] + sum_s x[a, s]) / members[a]``. The Gini across members is
    ``sum_{a<b} m_a m_b |y_a - y_b| / (N * total)``, linear once ``t_ab >= ±(y_a - y_b)``.
    It knows the whole season in advance, and leaves out pack steps and minimum deliveries,
    so no allocation of the season can reach a lower Gini.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    names = sorted(start)
    pairs = sorted(capacity)
    n_x, n_y = len(pairs), len(names)
    couples = [(i, k) for i in range(n_y) for k in range(i + 1, n_y)]
    n = n_x + n_y + len(couples)  # x, then y, then t
    # y_a - y_b - t_ab <= 0 and y_b - y_a - t_ab <= 0
    rows, cols, vals = [], [], []
    for r, (i, k) in enumerate(couples):
        for sign, row in ((1.0, 2 * r), (-1.0, 2 * r + 1)):
            rows += [row, row, row]
            cols += [n_x + i, n_x + k, n_x + n_y + r]
            vals += [sign, -sign, -1.0]
    a_ub = coo_matrix((vals, (rows, cols)), shape=(2 * len(couples), n))
    # each slot sells what it sold; m_a * y_a - sum_s x[a, s] = start[a]
    slots = sorted(sold)
    slot_row = {slot: k for k, slot in enumerate(slots)}
    position = {a: k for k, a in enumerate(names)}
    rows, cols, vals = [], [], []
    for k, (a, slot) in enumerate(pairs):
        rows += [slot_row[slot], len(slots) + position[a]]
        cols += [k, k]
        vals += [1.0, -1.0]
    for a, k in position.items():
        rows.append(len(slots) + k), cols.append(n_x + k), vals.append(float(members[a]))
    a_eq = coo_matrix((vals, (rows, cols)), shape=(len(slots) + n_y, n))
    b_eq = [float(sold[s]) for s in slots] + [float(start[a]) for a in names]
    cost = [0.0] * (n_x + n_y) + [float(members[names[i]] * members[names[k]]) for i, k in couples]
    bounds = [(min(floor.get(p, 0), capacity[p]), capacity[p]) for p in pairs]
    bounds += [(0, None)] * (n_y + len(couples))
    result = linprog(
        cost, A_ub=a_ub.tocsr(), b_ub=[0.0] * (2 * len(couples)), A_eq=a_eq.tocsr(),
        b_eq=b_eq, bounds=bounds, method="highs",
    )  # fmt: skip
    if not result.success:
        raise RuntimeError(f"the relaxation failed: {result.message}")
    income = {a: members[a] * result.x[n_x + k] for k, a in enumerate(names)}
    values = {a: Fraction(max(0.0, v)) for a, v in income.items()}
    return float(gini_per_member(values, members))


@dataclass
class Row:
    setting: Setting
    outcomes: list[Outcome]

    def mean(self, values: Iterable[float]) -> float:
        values = list(values)
        return sum(values) / len(values)

    def gini_association(self, policy: Policy) -> float:
        return self.mean(o.gini_association[policy] for o in self.outcomes)

    def gini_member(self, policy: Policy) -> float:
        return self.mean(o.gini_member[policy] for o in self.outcomes)

    def reduction(self, policy: Policy) -> float:
        """Per-member Gini reduction against proportional (of the means)."""
        base = self.gini_member(Policy.proportional)
        return 1 - self.gini_member(policy) / base if base else 0.0

    def bound_reduction(self, with_floor: bool) -> float:
        base = self.gini_member(Policy.proportional)
        bound = self.mean(o.bound_floor if with_floor else o.bound for o in self.outcomes)
        return 1 - bound / base if base else 0.0

    def reached(self, with_floor: bool) -> float:
        """The share of the bound's reduction that per_member_equalizing reaches."""
        bound = self.bound_reduction(with_floor)
        return self.reduction(Policy.per_member_equalizing) / bound if bound > 0 else 1.0

    def worse(self, policy: Policy, by: str = "member") -> int:
        """Seasons in which ``policy`` did worse than proportional (beyond rounding)."""
        attr = "gini_member" if by == "member" else "gini_association"
        return sum(
            getattr(o, attr)[policy] > getattr(o, attr)[Policy.proportional] + 1e-6
            for o in self.outcomes
        )

    def largest(self, policy: Policy) -> float:
        return min(o.largest_share[policy] for o in self.outcomes)


def table(rows: Sequence[Row], floor_share: Decimal) -> str:
    """The markdown tables of ``rows``."""
    out = []
    head = "| setting (associations · demand · cycles) | seasons | "
    out.append(
        "Gini per member (mean), per policy, and the bound of the relaxation "
        "(`member` = `per_member_equalizing`):\n"
    )
    out.append(head + " | ".join(SHORT[p] for p in POLICIES) + " | bound | bound with floor |")
    out.append("|" + "---|" * (4 + len(POLICIES)))
    for r in rows:
        cells = [f"{r.gini_member(p):.3f}" for p in POLICIES]
        bound = r.mean(o.bound for o in r.outcomes)
        bound_floor = r.mean(o.bound_floor for o in r.outcomes)
        out.append(
            f"| {r.setting.label()} | {len(r.outcomes)} | "
            + " | ".join(cells)
            + f" | {bound:.3f} | {bound_floor:.3f} |"
        )
    out.append("\nGini per association (mean), per policy:\n")
    out.append(head + " | ".join(SHORT[p] for p in POLICIES) + " |")
    out.append("|" + "---|" * (2 + len(POLICIES)))
    for r in rows:
        cells = [f"{r.gini_association(p):.3f}" for p in POLICIES]
        out.append(f"| {r.setting.label()} | {len(r.outcomes)} | " + " | ".join(cells) + " |")
    out.append(
        "\nPer-member Gini reduction against proportional, what the bound allows, the share "
        "of it `per_member_equalizing` reaches, and its checks (seasons worse than "
        f"proportional per member, allocations under the floor of {floor_share:.0%}, lowest "
        "season sales of an association against proportional's), the lowest share of the "
        "largest association's sales, and the volume check:\n"
    )
    out.append(
        "| setting | income | member | bound | bound with floor | reached (with floor) "
        "| reached (no floor) | worse: income / member | under floor | lowest vs prop "
        "| largest: prop / income / member | volume |"
    )
    out.append("|" + "---|" * 12)
    for r in rows:
        volume = sum(o.volume_ok for o in r.outcomes)
        out.append(
            f"| {r.setting.label()} "
            f"| {r.reduction(Policy.income_equalizing):.1%} "
            f"| {r.reduction(Policy.per_member_equalizing):.1%} "
            f"| {r.bound_reduction(False):.1%} | {r.bound_reduction(True):.1%} "
            f"| {r.reached(True):.0%} | {r.reached(False):.0%} "
            f"| {r.worse(Policy.income_equalizing)} / {r.worse(Policy.per_member_equalizing)} "
            f"| {sum(o.below_floor for o in r.outcomes)} "
            f"| {min(o.lowest_floor_ratio for o in r.outcomes):.0%} "
            f"| {r.largest(Policy.proportional):.1%} / {r.largest(Policy.income_equalizing):.1%}"
            f" / {r.largest(Policy.per_member_equalizing):.1%} "
            f"| {volume}/{len(r.outcomes)} |"
        )
    return "\n".join(out)


def chart(rows: Sequence[Row], path: Path) -> None:
    """Per-member Gini reduction of each policy per setting, with the bounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r.setting.label() for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.7), 4.8))
    width = 0.8 / (len(POLICIES) - 1)
    for k, policy in enumerate(POLICIES[1:]):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(rows))]
        ax.bar(xs, [100 * r.reduction(policy) for r in rows], width, label=policy.value)
    ax.scatter(
        range(len(rows)),
        [100 * r.bound_reduction(True) for r in rows],
        marker="_",
        s=300,
        color="black",
        label="bound (with floor)",
        zorder=3,
    )
    ax.scatter(
        range(len(rows)),
        [100 * r.bound_reduction(False) for r in rows],
        marker="x",
        color="grey",
        label="bound (no floor)",
        zorder=3,
    )
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("per-member Gini reduction vs proportional (%)")
    ax.set_xlabel("associations · demand share · cycles")
    ax.legend(fontsize=8)
    ax.set_title("Income per member: how much each policy evens it out")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _season_job(job: tuple[Setting, int, Decimal]) -> tuple[Setting, Outcome]:
    setting, seed, floor_share = job
    return setting, run_season(setting, seed, floor_share)


def write_docs(text: str, path: Path = DOCS) -> None:
    """Put ``text`` between the markers of docs/fairness.md."""
    doc = path.read_text()
    block = f"<!-- bench:fairness -->\n{text}\n<!-- /bench:fairness -->"
    path.write_text(
        re.sub(
            r"<!-- bench:fairness -->.*?<!-- /bench:fairness -->", lambda _: block, doc, flags=re.S
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--associations", type=int, nargs="+", default=[8, 16, 44])
    parser.add_argument("--demand", type=float, nargs="+", default=[0.5, 0.75, 0.9])
    parser.add_argument("--cycles", type=int, nargs="+", default=[20, 52])
    parser.add_argument("--start", choices=["zero", "by-size"], nargs="+", default=["zero"])
    parser.add_argument("--skus", type=int, default=len(SKUS), help="of the demo's SKUs")
    parser.add_argument("--seasons", type=int, default=4, help="seasons per setting")
    parser.add_argument("--floor", type=Decimal, default=DEFAULT_FLOOR_SHARE)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chart", type=Path, help="write the PNG chart here (matplotlib)")
    parser.add_argument("--progress", type=Path, help="rewrite this file as settings finish")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/fairness.md")
    args = parser.parse_args()

    settings = [
        Setting(n, d, c, s, args.skus)
        for s in args.start
        for n in args.associations
        for d in args.demand
        for c in args.cycles
    ]
    jobs = [
        (setting, args.seed * 1_000_003 + k * 7919 + hash_setting(setting), args.floor)
        for setting in settings
        for k in range(args.seasons)
    ]
    began, cpu = time.time(), os.times()
    results: dict[Setting, list[Outcome]] = {s: [] for s in settings}

    def done(setting: Setting, outcome: Outcome) -> None:
        results[setting].append(outcome)
        if args.progress and len(results[setting]) == args.seasons:  # a setting is complete
            finished = [Row(s, results[s]) for s in settings if len(results[s]) == args.seasons]
            args.progress.write_text(
                table(finished, args.floor) + f"\n\n{time.time() - began:.0f} s so far\n"
            )

    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            for setting, outcome in pool.map(_season_job, jobs, chunksize=2):
                done(setting, outcome)
    else:
        for setting, outcome in map(_season_job, jobs):
            done(setting, outcome)
    wall, used = time.time() - began, os.times()
    cpu_s = used.user + used.children_user - cpu.user - cpu.children_user
    load = os.getloadavg()[0]
    text = []
    for start in args.start:
        rows = [Row(s, results[s]) for s in settings if s.start == start]
        text.append(
            f"**Start of the season: {start}** ({len(rows)} settings x {args.seasons} seasons)\n"
        )
        text.append(table(rows, args.floor))
        text.append("")
        if args.chart and start == args.start[0]:
            chart(rows, args.chart)
    allocations = sum(sum(o.seconds.values()) for outcomes in results.values() for o in outcomes)
    per_policy = {
        p: sum(o.seconds[p] for outcomes in results.values() for o in outcomes) for p in POLICIES
    }
    text.append(
        f"{len(jobs)} seasons in {wall:.0f} s wall, {cpu_s:.0f} s CPU ({args.jobs} processes, "
        f"load average {load:.1f} on {os.cpu_count()} cores, other work running); CPU in "
        "`allocate` by policy: "
        + ", ".join(f"{SHORT[p]} {per_policy[p]:.0f} s" for p in POLICIES)
        + f" (of {allocations:.0f} s)."
    )
    output = "\n".join(text)
    print(output)
    if args.docs:
        write_docs(output)
    return 0


def hash_setting(setting: Setting) -> int:
    """A stable number per setting (``hash`` of a str changes from run to run)."""
    return (
        setting.associations * 10_007
        + round(setting.demand * 100) * 101
        + setting.cycles
        + (500_009 if setting.start == "by-size" else 0)
    )


if __name__ == "__main__":
    raise SystemExit(main())
