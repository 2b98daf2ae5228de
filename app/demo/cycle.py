"""One whole order cycle of the demo network through the API: offers, orders, close,
receipts (with a shortfall, a surplus, a warm lot and weighed cheese), shipments, routes,
delivery (with a return) and settlement; then the joint purchase of feed; and last the next
cycle, left open with every association's offers, so that a buyer who logs in can order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.core.config import Settings
from app.demo import data
from app.demo.client import DemoApi
from app.demo.network import JSON, World

THOUSANDTH = Decimal("0.001")


@dataclass
class CycleRun:
    cycle: JSON = field(default_factory=dict)
    offers: list[JSON] = field(default_factory=list)
    orders: list[JSON] = field(default_factory=list)  # as placed
    close: JSON = field(default_factory=dict)
    allocations: list[JSON] = field(default_factory=list)
    receipts: list[JSON] = field(default_factory=list)
    shipments: list[JSON] = field(default_factory=list)
    routes: JSON = field(default_factory=dict)
    deliveries: list[JSON] = field(default_factory=list)
    settlement: JSON = field(default_factory=dict)
    delivery_orders: list[JSON] = field(default_factory=list)  # views, after shipments
    final_orders: list[JSON] = field(default_factory=list)
    payouts: list[JSON] = field(default_factory=list)
    invoices: list[JSON] = field(default_factory=list)
    dashboard: JSON = field(default_factory=dict)
    warm_lot: JSON = field(default_factory=dict)  # its traceability record
    campaign: JSON = field(default_factory=dict)
    open_cycle: JSON = field(default_factory=dict)  # the next cycle, open for orders
    open_offers: list[JSON] = field(default_factory=list)


def demand() -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for lines in data.ORDERS.values():
        for key, quantity in lines.items():
            totals[key] = totals.get(key, Decimal(0)) + Decimal(quantity)
    return totals


def offer_quantities(world: World) -> dict[tuple[str, str], Decimal]:
    """Each supplier's offer: its share, by members, of the demand times the headroom, in
    whole packs (at least one)."""
    members = {a.name: a.members_total for a in data.ASSOCIATIONS}
    packs = {s.key: Decimal(s.pack_size) for s in data.SKUS}
    offers: dict[tuple[str, str], Decimal] = {}
    for key, total in demand().items():
        suppliers = world.suppliers[key]
        weight = sum(members[a] for a in suppliers)
        for association in suppliers:
            share = total * Decimal(data.OFFER_HEADROOM) * members[association] / weight
            steps = (share / packs[key]).to_integral_value(rounding=ROUND_CEILING)
            offers[(association, key)] = max(steps, Decimal(1)) * packs[key]
    return offers


def quantity(value: Decimal) -> str:
    return str(value.quantize(THOUSANDTH))


class CycleRunner:
    def __init__(self, api: DemoApi, world: World, settings: Settings, now: datetime) -> None:
        self.api, self.w, self.settings, self.now = api, world, settings, now
        self.run = CycleRun()

    @property
    def cycle_id(self) -> str:
        return str(self.run.cycle["id"])

    async def everything(self) -> CycleRun:
        await self.open_and_offer()
        await self.place_orders()
        await self.close()
        await self.receive()
        await self.ship_route_deliver()
        await self.settle()
        await self.feed_campaign()
        await self.open_next_cycle()
        return self.run

    async def new_cycle(self, closes_at: datetime, delivery: date) -> tuple[JSON, list[JSON]]:
        """A cycle open from now until ``closes_at``, and every supplier's offer in it."""
        w = self.w
        cycle = await self.api.post(
            "/cycles",
            w.network_admin,
            {
                "network_id": w.network["id"],
                "collection_centre_id": w.centre["id"],
                "opens_at": (self.now - timedelta(minutes=5)).isoformat(),
                "closes_at": closes_at.isoformat(),
                "delivery_date": delivery.isoformat(),
                "allocation_policy": data.ALLOCATION_POLICY,
            },
        )
        offers = []
        for (association, key), offered in offer_quantities(w).items():
            offers.append(
                await self.api.post(
                    f"/cycles/{cycle['id']}/offers",
                    w.association_staff[association],
                    {
                        "sku_id": w.skus[key]["id"],
                        "association_id": w.associations[association]["id"],
                        "quantity": quantity(offered),
                    },
                )
            )
        return cycle, offers

    async def open_and_offer(self) -> None:
        zone = ZoneInfo(data.TIMEZONE)
        closes_at = self.now + timedelta(hours=2)
        tomorrow = (self.now.astimezone(zone) + timedelta(days=1)).date()
        delivery = max(tomorrow, closes_at.astimezone(zone).date())
        self.run.cycle, self.run.offers = await self.new_cycle(closes_at, delivery)

    async def open_next_cycle(self) -> None:
        """The next cycle, open for orders for a few days (the scheduler closes it at its
        cut-off while the demo server runs)."""
        zone = ZoneInfo(data.TIMEZONE)
        closes_at = self.now + timedelta(days=data.NEXT_CYCLE_OPEN_DAYS)
        delivery = closes_at.astimezone(zone).date() + timedelta(days=1)
        self.run.open_cycle, self.run.open_offers = await self.new_cycle(closes_at, delivery)

    async def place_orders(self) -> None:
        w = self.w
        cards = self.settings.stripe_api_key is not None
        for buyer in data.BUYERS:
            method = buyer.payment_method
            if method == "card" and not cards:  # no Stripe here: the buyer pays on terms
                method = "invoice"
            body: JSON = {
                "buyer_id": w.buyers[buyer.name]["id"],
                "cycle_id": self.cycle_id,
                "lines": [
                    {"sku_id": w.skus[key]["id"], "quantity": q}
                    for key, q in data.ORDERS[buyer.name].items()
                ],
                "payment_method": method,
            }
            if buyer.purchase_order_number:
                body["purchase_order_number"] = buyer.purchase_order_number
            self.run.orders.append(
                await self.api.post(
                    "/orders",
                    w.buyer_staff[buyer.name],
                    body,
                    extra_headers={"Idempotency-Key": f"demo-order-{buyer.key}"},
                )
            )

    async def close(self) -> None:
        w = self.w
        self.run.close = await self.api.post(
            f"/cycles/{self.cycle_id}/close",
            w.network_admin,
            expect=200,
            extra_headers={"Idempotency-Key": "demo-close"},
        )
        self.run.allocations = await self.api.get(
            f"/cycles/{self.cycle_id}/allocations", w.network_admin
        )

    def receipt_line(self, association: str, index: int, line: JSON) -> JSON:
        key = self.w.sku_key(line["sku_id"])
        sheet = data.SHEETS[key]
        sku = next(s for s in data.SKUS if s.key == key)
        accepted = Decimal(line["quantity"])
        if (association, key) == data.SHORTFALL[:2]:
            accepted -= Decimal(data.SHORTFALL[2])
        if (association, key) == data.SURPLUS[:2]:
            accepted += Decimal(data.SURPLUS[2])
        day = self.run.cycle["delivery_date"].replace("-", "")[2:]
        body: JSON = {
            "sku_id": line["sku_id"],
            "accepted_quantity": quantity(accepted),
            "rejected_quantity": "0",
            "lot_code": f"L{day}-{index:02d}-{sku.gtin_item}",
        }
        if sheet.variable_weight:
            nominal = accepted  # the SKU is sold by kg: the nominal weight of the wheels
            body["weight_kg"] = quantity(nominal * Decimal(data.REAL_WEIGHT[association]))
        if (association, key) == data.WARM_LOT[:2]:
            body["temperature_c"] = data.WARM_LOT[2]
        elif sheet.storage == "chilled":
            body["temperature_c"] = data.CHILLED_C
        elif sheet.storage == "frozen":
            body["temperature_c"] = data.FROZEN_C
        return body

    async def receive(self) -> None:
        w = self.w
        orders = await self.api.get(f"/cycles/{self.cycle_id}/delivery-orders", w.centre_staff)
        index = {a.name: i for i, a in enumerate(data.ASSOCIATIONS, start=1)}
        for order in sorted(orders, key=lambda o: index[w.association_name(o["association_id"])]):
            association = w.association_name(order["association_id"])
            lines = [self.receipt_line(association, index[association], x) for x in order["lines"]]
            self.run.receipts.append(
                await self.api.post(
                    f"/delivery-orders/{order['id']}/receipts", w.centre_staff, {"lines": lines}
                )
            )

    async def ship_route_deliver(self) -> None:
        w, run = self.w, self.run
        run.shipments = await self.api.post(
            f"/cycles/{self.cycle_id}/shipments", w.centre_staff, expect=200
        )
        run.routes = await self.api.post(
            f"/cycles/{self.cycle_id}/routes", w.centre_staff, expect=200
        )
        contacts = {b.name: b.contact for b in data.BUYERS}
        buyer_name, sku_key, returned, reason = data.RETURN
        for shipment in run.shipments:
            name = w.buyer_name(shipment["buyer_id"])
            body: JSON = {"received_by": contacts[name]}
            if name == buyer_name:
                body["returns"] = [
                    {"sku_id": w.skus[sku_key]["id"], "quantity": returned, "reason": reason}
                ]
            run.deliveries.append(
                await self.api.post(
                    f"/shipments/{shipment['id']}/deliver", w.centre_staff, body, expect=200
                )
            )

    async def settle(self) -> None:
        w, run = self.w, self.run
        admin = w.network_admin
        run.settlement = await self.api.post(
            f"/cycles/{self.cycle_id}/settle",
            admin,
            expect=200,
            extra_headers={"Idempotency-Key": "demo-settle"},
        )
        run.cycle = await self.api.get(f"/cycles/{self.cycle_id}", admin)
        for order in await self.api.get(f"/cycles/{self.cycle_id}/delivery-orders", admin):
            run.delivery_orders.append(
                await self.api.get(f"/delivery-orders/{order['id']}", w.centre_staff)
            )
        run.final_orders = await self.api.all_pages("/orders", admin, cycle_id=self.cycle_id)
        run.payouts = await self.api.get(f"/cycles/{self.cycle_id}/payouts", admin)
        run.invoices = await self.api.all_pages("/invoices", admin, cycle_id=self.cycle_id)
        run.dashboard = await self.api.get(f"/networks/{w.network['id']}/dashboard", admin)
        warm = next(
            lot for receipt in run.receipts for lot in receipt["lines"] if lot["temperature_alert"]
        )
        run.warm_lot = await self.api.get(f"/lots/{warm['lot_code']}", admin)

    async def feed_campaign(self) -> None:
        w = self.w
        spec: dict[str, Any] = data.FEED_CAMPAIGN
        campaign = await self.api.post(
            "/purchase-campaigns",
            w.network_admin,
            {
                "network_id": w.network["id"],
                "supplier_name": spec["supplier_name"],
                "item_name": spec["item_name"],
                "unit": spec["unit"],
                "pack_size": spec["pack_size"],
                "tiers": spec["tiers"],
                "closes_at": (self.now + timedelta(days=7)).isoformat(),
            },
        )
        for association, asked, tolerance in spec["requests"]:
            await self.api.post(
                f"/purchase-campaigns/{campaign['id']}/requests",
                w.association_staff[association],
                {
                    "association_id": w.associations[association]["id"],
                    "quantity": asked,
                    "tolerance": tolerance,
                },
            )
        self.run.campaign = await self.api.post(
            f"/purchase-campaigns/{campaign['id']}/close", w.network_admin, expect=200
        )
