"""The demo's summary: what the API answered, in rich tables."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from app.demo import data
from app.demo.network import JSON
from app.demo.runner import DemoResult

PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")


def money(cents: int) -> str:
    return f"${Decimal(cents) / 100:,.2f}"


def qty(value: str | Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


@dataclass(frozen=True)
class Shortfall:
    """What associations fell short of a SKU, what others' surplus covered, and what the
    buyers' lines were cut by."""

    sku: str
    short: tuple[tuple[str, Decimal], ...]  # association, missing
    covered: tuple[tuple[str, Decimal], ...]  # association, covered from its surplus
    cut: tuple[tuple[str, Decimal, Decimal], ...]  # buyer, ordered, confirmed

    @property
    def missing(self) -> Decimal:
        return sum((m for _, m in self.short), Decimal(0))

    @property
    def covered_total(self) -> Decimal:
        return sum((c for _, c in self.covered), Decimal(0))

    @property
    def shared(self) -> Decimal:
        return sum((o - c for _, o, c in self.cut), Decimal(0))


def shortfalls(result: DemoResult) -> list[Shortfall]:
    w, run = result.world, result.run
    by_sku: dict[str, list[tuple[str, JSON]]] = defaultdict(list)
    for order in run.delivery_orders:
        for line in order["lines"]:
            by_sku[line["sku_id"]].append((w.association_name(order["association_id"]), line))
    found = []
    for sku_id, lines in by_sku.items():
        short, covered = [], []
        for association, line in lines:
            allocated, accepted = Decimal(line["quantity"]), Decimal(line["accepted_quantity"])
            supplied = Decimal(line["supplied_quantity"] or 0)
            if accepted < allocated:
                short.append((association, allocated - accepted))
            if supplied > min(accepted, allocated):
                covered.append((association, supplied - min(accepted, allocated)))
        if not short:
            continue
        cut = [
            (w.buyer_name(o["buyer_id"]), Decimal(x["quantity"]), Decimal(x["confirmed_quantity"]))
            for o in run.final_orders
            for x in o["lines"]
            if x["sku_id"] == sku_id and Decimal(x["confirmed_quantity"]) < Decimal(x["quantity"])
        ]
        found.append(Shortfall(w.skus[w.sku_key(sku_id)]["name"], (*short,), (*covered,), (*cut,)))
    return found


def payouts_total(result: DemoResult) -> int:
    return sum(int(p["amount_cents"]) for p in result.run.payouts)


def campaign_savings(result: DemoResult) -> int:
    return sum(int(s["saved_cents"]) for s in result.run.campaign["shares"])


def table(title: str, *columns: str, right: Iterable[int] = ()) -> Table:
    t = Table(title=title, title_style="bold", title_justify="left")
    aligned = set(right)
    for i, column in enumerate(columns):
        t.add_column(column, justify="right" if i in aligned else "left")
    return t


def network_table(result: DemoResult) -> Table:
    net = data.NETWORK
    t = table(
        f"{net.name} · brand {net.brand_name} · {net.centre_name}",
        "association",
        "parish (canton)",
        "members",
        "women",
        "product sheets",
        right=(2, 3),
    )
    for a in data.ASSOCIATIONS:
        sheets = ", ".join(data.SHEETS[k].name for k in a.sheets)
        place = f"{a.place.parish} ({a.place.canton})"
        t.add_row(a.name, place, str(a.members_total), str(a.members_women), sheets)
    total = sum(a.members_total for a in data.ASSOCIATIONS)
    women = sum(a.members_women for a in data.ASSOCIATIONS)
    t.add_section()
    t.add_row(f"{len(data.ASSOCIATIONS)} associations", "", str(total), str(women), "")
    return t


def allocation_table(result: DemoResult) -> Table:
    w, run = result.world, result.run
    t = table(
        f"Joint sale: allocation by association ({data.ALLOCATION_POLICY}) and payouts",
        "association",
        "SKU",
        "allocated",
        "accepted",
        "paid for",
        "producer price",
        "payout",
        right=(2, 3, 4, 5, 6),
    )
    views = {o["association_id"]: o for o in run.delivery_orders}
    order = {a.name: i for i, a in enumerate(data.ASSOCIATIONS)}
    payouts = sorted(run.payouts, key=lambda p: order[w.association_name(p["association_id"])])
    for payout in payouts:
        lines = {x["sku_id"]: x for x in views[payout["association_id"]]["lines"]}
        name = w.association_name(payout["association_id"])
        for i, line in enumerate(payout["lines"]):
            view = lines[line["sku_id"]]
            t.add_row(
                name if i == 0 else "",
                w.skus[w.sku_key(line["sku_id"])]["name"],
                qty(view["quantity"]),
                qty(view["accepted_quantity"]),
                qty(line["quantity"]),
                money(line["producer_price_cents"]),
                money(line["amount_cents"]),
            )
        if len(payout["lines"]) > 1:
            t.add_row("", "", "", "", "", "total", f"[bold]{money(payout['amount_cents'])}[/]")
    t.add_section()
    t.add_row("", "", "", "", "", "paid out", f"[bold]{money(payouts_total(result))}[/]")
    return t


def price_table(result: DemoResult) -> Table:
    w, run = result.world, result.run
    t = table(
        "Final price of each SKU at the volume tier reached, and where each cent goes",
        "SKU",
        "demand",
        "base price",
        "final price",
        "producer",
        "logistics",
        "network",
        "fund",
        "producer %",
        right=range(1, 9),
    )
    units: dict[str, JSON] = {}
    for payout in run.payouts:
        for line in payout["lines"]:
            units.setdefault(line["sku_id"], line["price_breakdown"])
    for row in run.close["skus"]:
        sku = w.skus[w.sku_key(row["sku_id"])]
        parts = units[row["sku_id"]]
        final = int(row["final_unit_price_cents"])
        assert sum(int(parts[p]) for p in PARTS) == final
        t.add_row(
            sku["name"],
            qty(row["demand"]),
            money(sku["tiers"][0]["unit_price_cents"]),
            money(final),
            *(money(int(parts[p])) for p in PARTS),
            f"{Decimal(parts['producer_cents']) * 100 / final:.0f} %",
        )
    return t


def centre_table(result: DemoResult) -> Table:
    t = table("At the collection centre", "what happened", "detail")
    for s in shortfalls(result):
        for association, missing in s.short:
            t.add_row("shortfall", f"{association} delivered {qty(missing)} fewer {s.sku}")
        for association, covered in s.covered:
            t.add_row("covered", f"{qty(covered)} from the surplus of {association}")
        for buyer, ordered, confirmed in s.cut:
            t.add_row("shared", f"{buyer}: {qty(confirmed)} of {qty(ordered)} (pays only these)")
    lot = result.run.warm_lot
    buyers = ", ".join(f"{b['buyer_name']} ({qty(b['quantity'])})" for b in lot["buyers"])
    t.add_row(
        "cold chain",
        f"lot {lot['lot_code']} of {lot['product_name']} from {lot['parish']} arrived at "
        f"{lot['temperature_c']} °C: flagged; went to {buyers}",
    )
    for line in (x for r in result.run.receipts for x in r["lines"] if x["weight_kg"]):
        t.add_row(
            "weighed",
            f"lot {line['lot_code']}: {qty(line['accepted_quantity'])} kg nominal, "
            f"{qty(line['weight_kg'])} kg real (billed by real weight)",
        )
    buyer, sku_key, returned, reason = data.RETURN
    name = result.world.skus[sku_key]["name"]
    t.add_row("return", f"{buyer} sent back {returned} of {name}: {reason} (not billed)")
    return t


def routes_table(result: DemoResult) -> Table:
    w, plan = result.world, result.run.routes
    t = table(
        f"Delivery routes on {result.run.cycle['delivery_date']} ({plan['matrix_source']} "
        "distances)",
        "vehicle",
        "stops (ETA)",
        "load kg",
        "km",
        right=(2, 3),
    )
    for route in plan["routes"]:
        stops = " → ".join(
            f"{w.buyer_name(s['buyer_id'])} ({s['eta'][11:16]})" for s in route["stops"]
        )
        t.add_row(
            route["vehicle_name"], stops, qty(route["load_kg"]), f"{route['distance_km']:.1f}"
        )
    for u in plan["unassigned"]:
        t.add_row("[red]unassigned[/]", u["reason"], "", "")
    t.add_section()
    t.add_row("routes from the centre", "", "", f"{plan['routed_km']:.1f}")
    t.add_row(
        "associations' trips to the centre and back", "", "", f"{plan['legs_to_centre_km']:.1f}"
    )
    t.add_row(
        "[bold]total with the collection centre[/]", "", "", f"[bold]{plan['distance_km']:.1f}"
    )
    t.add_row("each association driving to its buyers", "", "", f"{plan['direct_delivery_km']:.1f}")
    t.add_row("[green]saved[/]", "", "", f"[green]{plan['saved_km']:.1f}")
    return t


def fairness_table(result: DemoResult) -> Table:
    run = result.run
    board, settled = run.dashboard, run.settlement
    t = table("Settlement and the network dashboard", "figure", "value", right=(1,))
    methods = ", ".join(sorted({i["payment_method"] for i in run.invoices}))
    t.add_row("invoices to buyers", f"{settled['invoices']} · {money(settled['invoiced_cents'])}")
    t.add_row("payment methods", methods)
    t.add_row(
        "payouts to associations", f"{settled['payouts']} · {money(settled['paid_out_cents'])}"
    )
    t.add_row("revenue", money(board["revenue_cents"]))
    t.add_row("producer share of revenue", f"{board['producer_share'] * 100:.1f} %")
    t.add_row("Gini of association income", f"{board['income_gini']:.3f}")
    what_if = {o["policy"]: o for o in board.get("what_if", [])}
    base = what_if.get("proportional")
    t.add_row(
        f"Gini of income per member ({data.ALLOCATION_POLICY})",
        f"{board['income_gini_per_member']:.3f}"
        + (f" · proportional would give {base['income_gini_per_member']:.3f}" if base else ""),
    )
    for policy, outcome in what_if.items():
        t.add_row(
            f"  what-if {policy}",
            f"per member {outcome['income_gini_per_member']:.3f}"
            f" · per association {outcome['income_gini']:.3f}",
        )
    t.add_row("associations paid", f"{board['associations_paid']} of {board['associations_total']}")
    t.add_row(
        "women members reached", f"{board['members_women_reached']} of {board['members_reached']}"
    )
    t.add_row(
        "km routed vs direct delivery", f"{board['routed_km']} vs {board['direct_delivery_km']}"
    )
    ledger = settled.get("ledger") or {}
    differences = ledger.get("differences", [])
    mark = "[green]✓[/]" if not differences else "[red]✗[/]"
    for check in ledger.get("checked", []):
        t.add_row(f"{mark} ledger: {check}", "to the cent" if not differences else "")
    for d in differences:
        t.add_row(f"[red]ledger difference: {d['check']}[/]", f"{d['expected']} ≠ {d['actual']}")
    return t


def campaign_table(result: DemoResult) -> Table:
    w, c = result.world, result.run.campaign
    asked = {r["association_id"]: r for r in c["requests"]}
    t = table(
        f"Joint purchase: {c['item_name']} from {c['supplier_name']} · {c['packs']} packs "
        f"({c['rounding']}) at {money(c['pack_price_cents'])} = {money(c['total_cost_cents'])}",
        "association",
        "asked kg (tolerance)",
        "gets kg",
        "cost",
        "cost alone",
        "saved",
        right=range(1, 6),
    )
    for share in c["shares"]:
        r = asked[share["association_id"]]
        t.add_row(
            w.association_name(share["association_id"]),
            f"{qty(r['quantity'])} (±{qty(r['tolerance'])})",
            qty(share["quantity"]),
            money(share["cost_cents"]),
            money(share["cost_alone_cents"]),
            f"[green]{money(share['saved_cents'])}[/]",
        )
    t.add_section()
    alone = sum(int(s["cost_alone_cents"]) for s in c["shares"])
    saving = campaign_savings(result)
    t.add_row(
        "together", "", "", money(c["total_cost_cents"]), money(alone), f"[green]{money(saving)}[/]"
    )
    return t


def local_time(moment: str) -> str:
    """An API timestamp as the demo network's wall-clock time."""
    local = datetime.fromisoformat(moment).astimezone(ZoneInfo(data.TIMEZONE))
    return f"{local:%Y-%m-%d %H:%M} ({data.TIMEZONE})"


def open_cycle_table(result: DemoResult) -> Table:
    """The next cycle, left open: what buyers can order in it right away."""
    w, run = result.world, result.run
    cycle = run.open_cycle
    t = table(
        f"Open for orders: cycle {cycle['id']} until {local_time(cycle['closes_at'])}, "
        f"delivery {cycle['delivery_date']} · a buyer login below orders with "
        "POST /api/v1/orders",
        "SKU",
        "offered",
        "suppliers",
        right=(1,),
    )
    offered: dict[str, Decimal] = defaultdict(Decimal)
    suppliers: dict[str, list[str]] = defaultdict(list)
    for offer in run.open_offers:
        offered[offer["sku_id"]] += Decimal(offer["quantity"])
        suppliers[offer["sku_id"]].append(w.association_name(offer["association_id"]))
    for sku in w.skus.values():
        if sku["id"] in offered:
            t.add_row(sku["name"], qty(offered[sku["id"]]), ", ".join(suppliers[sku["id"]]))
    return t


def logins_table(result: DemoResult) -> Table:
    t = table("Demo logins (POST /api/v1/auth/token)", "role", "organisation", "email", "password")
    for column in t.columns[2:]:
        column.no_wrap = True  # never cut a login short
    for login in [result.admin, *result.world.logins]:
        t.add_row(login.role, login.organization, login.email, login.password)
    return t


def render(console: Console, result: DemoResult) -> None:
    for part in (
        network_table,
        allocation_table,
        price_table,
        centre_table,
        routes_table,
        fairness_table,
        campaign_table,
        open_cycle_table,
        logins_table,
    ):
        console.print(part(result))
        console.print()
    failed = len(result.failed_steps)
    console.print(
        f"[bold]{len(result.steps)} API calls[/], {failed} failed; cycle "
        f"{result.run.cycle['status']}, next cycle {result.run.open_cycle['status']}; "
        f"loaded in {result.seconds:.1f} s"
    )
