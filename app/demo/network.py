"""Building the Cotopaxi network through the API, as its people would: the platform admin
creates the organisations and their first logins and joins the associations to the network,
the network admin runs the brand, associations publish their sheets, the centre registers its
vehicles and the buyers say when they take deliveries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.demo import data
from app.demo.client import DemoApi, Headers

JSON = dict[str, Any]


@dataclass(frozen=True)
class Login:
    role: str
    organization: str
    email: str
    password: str


@dataclass
class World:
    """Everything the demo made, by name, with each organisation's login headers."""

    network: JSON = field(default_factory=dict)
    network_admin: Headers = field(default_factory=dict)
    brand: JSON = field(default_factory=dict)
    centre: JSON = field(default_factory=dict)
    centre_admin: Headers = field(default_factory=dict)
    centre_staff: Headers = field(default_factory=dict)
    associations: dict[str, JSON] = field(default_factory=dict)
    association_staff: dict[str, Headers] = field(default_factory=dict)
    buyers: dict[str, JSON] = field(default_factory=dict)
    buyer_staff: dict[str, Headers] = field(default_factory=dict)
    products: dict[tuple[str, str], JSON] = field(default_factory=dict)  # (association, sheet)
    skus: dict[str, JSON] = field(default_factory=dict)  # by SKU key
    suppliers: dict[str, list[str]] = field(default_factory=dict)  # SKU key → associations
    vehicles: list[JSON] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)

    def association_name(self, association_id: str) -> str:
        return next(n for n, a in self.associations.items() if a["id"] == association_id)

    def buyer_name(self, buyer_id: str) -> str:
        return next(n for n, b in self.buyers.items() if b["id"] == buyer_id)

    def sku_key(self, sku_id: str) -> str:
        return next(k for k, s in self.skus.items() if s["id"] == sku_id)


class Builder:
    def __init__(self, api: DemoApi, admin: Headers) -> None:
        self.api = api
        self.admin = admin
        self.world = World()
        self.tax_ids = data.tax_ids()

    async def organization(self, kind: str, name: str, place: data.Place, **fields: Any) -> JSON:
        body = {
            "kind": kind,
            "name": name,
            "tax_id": next(self.tax_ids),
            "country": "EC",
            "province": place.province,
            "canton": place.canton,
            "parish": place.parish,
            "latitude": place.latitude,
            "longitude": place.longitude,
            **fields,
        }
        result: JSON = await self.api.post("/organizations", self.admin, body)
        return result

    async def member(self, org: JSON, key: str, full_name: str, role: str, label: str) -> Headers:
        email = data.email(key)
        await self.api.post(
            f"/organizations/{org['id']}/members",
            self.admin,
            {
                "email": email,
                "full_name": full_name,
                "password": data.DEMO_PASSWORD,
                "role": role,
            },
        )
        self.world.logins.append(Login(label, org["name"], email, data.DEMO_PASSWORD))
        return await self.api.login(email, data.DEMO_PASSWORD)

    async def build(self) -> World:
        await self.network_and_brand()
        await self.centre()
        for association in data.ASSOCIATIONS:
            await self.association(association)
        await self.skus()
        for buyer in data.BUYERS:
            await self.buyer(buyer)
        return self.world

    async def network_and_brand(self) -> None:
        w, net = self.world, data.NETWORK
        w.network = await self.organization(
            "network", net.name, net.place, currency="USD", timezone=data.TIMEZONE
        )
        w.network_admin = await self.member(
            w.network, "red", net.admin_contact, "admin", "network admin"
        )
        w.brand = await self.api.post(
            "/brands",
            w.network_admin,
            {
                "network_id": w.network["id"],
                "name": net.brand_name,
                "slug": net.brand_slug,
                "story": net.brand_story,
                "territory": {"provinces": ["Cotopaxi"], "cantons": []},
                "rules": {
                    "required_certifications": ["agroecological"],
                    "allowed_categories": list(data.BRAND_CATEGORIES),
                    "sanitary_registration_required_for": list(data.SANITARY_CATEGORIES),
                },
            },
        )
        # the network's shop window: its published catalogue readable without logging in
        await self.api.put(
            f"/networks/{w.network['id']}/public-catalogue",
            w.network_admin,
            {"public_catalogue": True},
        )

    async def centre(self) -> None:
        w, net = self.world, data.NETWORK
        w.centre = await self.organization("collection_centre", net.centre_name, net.centre_place)
        w.centre_admin = await self.member(
            w.centre, "acopio", net.centre_admin_contact, "admin", "centre admin"
        )
        w.centre_staff = await self.member(
            w.centre, "bodega", net.centre_staff_contact, "staff", "centre staff"
        )
        for vehicle in data.VEHICLES:
            w.vehicles.append(
                await self.api.post(
                    f"/collection-centres/{w.centre['id']}/vehicles",
                    w.centre_admin,
                    {
                        "name": vehicle.name,
                        "capacity_kg": vehicle.capacity_kg,
                        "chilled": vehicle.chilled,
                        "shift_start": vehicle.shift_start,
                    },
                )
            )

    async def association(self, a: data.Association) -> None:
        w = self.world
        org = await self.organization(
            "association",
            a.name,
            a.place,
            members_total=a.members_total,
            members_women=a.members_women,
        )
        w.associations[a.name] = org
        staff = await self.member(org, a.key, a.contact, "staff", "association staff")
        w.association_staff[a.name] = staff
        await self.api.post(  # the platform admin joins it; a network admin would invite it
            f"/networks/{w.network['id']}/associations",
            self.admin,
            {"association_id": org["id"]},
        )
        await self.api.post(
            f"/brands/{w.brand['id']}/licenses", w.network_admin, {"association_id": org["id"]}
        )
        for key in a.sheets:
            product = await self.api.post("/products", staff, self.sheet(org, a, data.SHEETS[key]))
            w.products[(a.name, key)] = await self.api.post(
                f"/products/{product['id']}/publish", staff, expect=200
            )

    def sheet(self, org: JSON, a: data.Association, s: data.Sheet) -> JSON:
        index = len(self.world.products) + 1
        body: JSON = {
            "association_id": org["id"],
            "name": f"{s.name} — {a.place.parish}",
            "category": s.category,
            "description": s.description,
            "story": a.story or f"Hecho por las socias de {a.name}, {a.place.parish}.",
            "unit": s.unit,
            "pack_size": s.pack_size,
            "variable_weight": s.variable_weight,
            "shelf_life_days": s.shelf_life_days,
            "storage": s.storage,
            "allergens": list(s.allergens),
            "certifications": [
                {"kind": kind, "number": f"SPG-COTOPAXI-{index:03d}", "expires_on": "2028-12-31"}
                for kind in s.certifications
            ],
            "origin": {
                "parish": a.place.parish,
                "canton": a.place.canton,
                "province": a.place.province,
                "latitude": a.place.latitude,
                "longitude": a.place.longitude,
            },
        }
        if s.sanitary:
            body["sanitary_registration"] = {
                "authority": "ARCSA",
                "number": data.sanitary_number(index),
                "expires_on": "2029-06-30",
            }
        return body

    async def skus(self) -> None:
        w = self.world
        for sku in data.SKUS:
            w.skus[sku.key] = created = await self.api.post(
                f"/brands/{w.brand['id']}/skus",
                w.network_admin,
                {
                    "name": sku.name,
                    "category": sku.category,
                    "unit": sku.unit,
                    "pack_size": sku.pack_size,
                    "unit_weight_kg": sku.unit_weight_kg,
                    "gtin": data.gtin(sku.gtin_item),
                    "producer_price_cents": sku.producer_price_cents,
                    "tiers": [{"min_quantity": q, "unit_price_cents": p} for q, p in sku.tiers],
                    "solidarity_fund_bps": sku.solidarity_fund_bps,
                },
            )
            w.suppliers[sku.key] = []
            for (association, sheet_key), product in w.products.items():
                if sheet_key != sku.key:
                    continue
                await self.api.post(
                    f"/skus/{created['id']}/suppliers",
                    w.network_admin,
                    {"product_id": product["id"]},
                )
                w.suppliers[sku.key].append(association)

    async def buyer(self, b: data.Buyer) -> None:
        w = self.world
        place = data.Place(b.parish, b.canton, b.latitude, b.longitude)
        address, phone, notes = data.BUYER_CONTACTS[b.key]
        org = await self.organization(
            "buyer",
            b.name,
            place,
            buyer_type=b.buyer_type,
            payment_terms_days=b.terms_days,
            address=address,
            phone=phone,
            delivery_notes=notes,
        )
        w.buyers[b.name] = org
        # a buyer's admin: orders, and sets when the buyer takes deliveries
        w.buyer_staff[b.name] = staff = await self.member(org, b.key, b.contact, "admin", "buyer")
        opens, closes = b.window
        await self.api.put(
            f"/buyers/{org['id']}/delivery-window",
            staff,
            {"opens": opens, "closes": closes, "service_minutes": 15},
        )
