"""The Cotopaxi demo network, after the Redes en Acción experience (Fundación Impulsa with
DGRV): associations of mostly women producers around Latacunga, Saquisilí, Pujilí and
Salcedo, a collection centre in Latacunga, solidarity seafood restaurants and a supermarket.

Coordinates are the parishes' approximate centres. Tax ids are generated valid (RUC of a
natural person: a valid cédula of Cotopaxi + 001) from a fixed seed, so the demo is the same
every time; GTINs carry Ecuador's GS1 prefix 786 and a computed check digit.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from stdnum import ean
from stdnum.ec import ci

DEMO_PASSWORD = "minga-demo-2026"  # noqa: S105 - every demo login; printed on purpose
EMAIL_DOMAIN = "demo.minga.ec"
TIMEZONE = "America/Guayaquil"
TAX_ID_SEED = 2026


@dataclass(frozen=True)
class Place:
    parish: str
    canton: str
    latitude: float
    longitude: float
    province: str = "Cotopaxi"


@dataclass(frozen=True)
class Sheet:
    key: str
    name: str
    category: str
    unit: str
    pack_size: str
    storage: str
    shelf_life_days: int
    sanitary: bool  # an ARCSA sanitary registration (processed food and feed)
    variable_weight: bool
    description: str
    allergens: tuple[str, ...] = ()
    certifications: tuple[str, ...] = ("agroecological",)


@dataclass(frozen=True)
class Association:
    key: str  # the login's local part
    name: str
    place: Place
    members_total: int
    members_women: int
    sheets: tuple[str, ...]
    contact: str  # the staff member who logs in
    story: str = ""


@dataclass(frozen=True)
class Buyer:
    key: str
    name: str
    buyer_type: str
    latitude: float
    longitude: float
    contact: str
    parish: str = "La Matriz"
    canton: str = "Latacunga"
    payment_method: str = "invoice"
    window: tuple[str, str] = ("07:00", "12:00")
    terms_days: int = 30
    purchase_order_number: str | None = None


@dataclass(frozen=True)
class Sku:
    key: str  # also the sheet key of its suppliers
    name: str
    category: str
    unit: str
    pack_size: str
    unit_weight_kg: str | None
    producer_price_cents: int
    tiers: tuple[tuple[str, int], ...]
    gtin_item: int
    solidarity_fund_bps: int = 100


@dataclass(frozen=True)
class Vehicle:
    name: str
    capacity_kg: str
    chilled: bool
    shift_start: str = "06:00"


@dataclass(frozen=True)
class Network:
    name: str = "Red de Economía Solidaria de Cotopaxi"
    place: Place = field(default_factory=lambda: Place("La Matriz", "Latacunga", -0.9335, -78.6158))
    brand_name: str = "Sabores de Cotopaxi"
    brand_slug: str = "sabores-de-cotopaxi"
    brand_story: str = (
        "Productos de asociaciones campesinas de Cotopaxi, hechos por mujeres productoras, "
        "con precio justo y trazabilidad hasta la parroquia."
    )
    centre_name: str = "Centro de Acopio Solidario Latacunga"
    centre_place: Place = field(
        default_factory=lambda: Place("Eloy Alfaro", "Latacunga", -0.9352, -78.6155)
    )
    admin_contact: str = "Gabriela Tapia"
    centre_admin_contact: str = "Rosa Guanoluisa"
    centre_staff_contact: str = "Luis Chicaiza"


NETWORK = Network()

# Brand rules: agro-ecological certification (PGS) for every supplier sheet, ARCSA sanitary
# registration for processed food and feed, and origin inside the province.
BRAND_CATEGORIES = (
    "dairy",
    "eggs",
    "poultry",
    "small_livestock",
    "produce",
    "andean_grains",
    "fruit_pulps",
    "flours",
    "jams",
    "seasonings",
)
SANITARY_CATEGORIES = ("dairy", "flours", "fruit_pulps", "jams", "seasonings", "feed")

P = Place
PLACES = {
    "mulalo": P("Mulaló", "Latacunga", -0.7686, -78.5786),
    "guaytacama": P("Guaytacama", "Latacunga", -0.8206, -78.6369),
    "tanicuchi": P("Tanicuchí", "Latacunga", -0.7803, -78.6381),
    "juan_montalvo": P("Juan Montalvo", "Latacunga", -0.9167, -78.5833),
    "toacaso": P("Toacaso", "Latacunga", -0.7500, -78.6833),
    "pastocalle": P("San Juan de Pastocalle", "Latacunga", -0.7244, -78.6289),
    "joseguango": P("Joseguango Bajo", "Latacunga", -0.8286, -78.6206),
    "san_buenaventura": P("San Buenaventura", "Latacunga", -0.9011, -78.6003),
    "belisario": P("Belisario Quevedo", "Latacunga", -0.9711, -78.5783),
    "alaquez": P("Alaquez", "Latacunga", -0.8653, -78.5847),
    "cuicuno": P("Cuicuno", "Saquisilí", -0.8397, -78.6681),
    "la_victoria": P("La Victoria", "Pujilí", -0.9156, -78.6717),
    "guangaje": P("Guangaje", "Pujilí", -0.8722, -78.8825),
    "pujili": P("Pujilí", "Pujilí", -0.9575, -78.6961),
    "panzaleo": P("Panzaleo", "Salcedo", -1.0306, -78.5900),
    "mulalillo": P("Mulalillo", "Salcedo", -1.0819, -78.6175),
}

S = Sheet
SHEETS = {
    s.key: s
    for s in (
        # key, name, category, unit, pack, storage, shelf life, sanitary, variable weight
        S("queso_andino", "Queso andino maduro", "dairy", "kg", "0.500", "chilled", 45, True, True,
          "Queso semimaduro de leche de páramo, rueda de 500 g aprox.", ("leche",)),
        S("mozzarella", "Queso mozzarella", "dairy", "unit", "1", "chilled", 20, True, False,
          "Mozzarella fresca de hilado artesanal, 500 g.", ("leche",)),
        S("queso_fresco", "Queso fresco", "dairy", "unit", "1", "chilled", 12, True, False,
          "Queso fresco de mesa, 500 g.", ("leche",)),
        S("huevos", "Huevos de gallinas felices", "eggs", "dozen", "1", "ambient", 25, False,
          False, "Huevos de gallinas criadas en pastoreo, cubeta de 12.", ("huevo",)),
        S("pollo", "Pollo pelado de campo", "poultry", "kg", "1", "chilled", 5, False, False,
          "Pollo criollo faenado el día anterior."),
        S("cuy", "Cuy faenado", "small_livestock", "unit", "1", "chilled", 4, False, False,
          "Cuy criado con alfalfa y hierba, faenado."),
        S("conejo", "Conejo faenado", "small_livestock", "unit", "1", "chilled", 4, False, False,
          "Conejo criado en jaulas amplias."),
        S("hortalizas", "Canasta de hortalizas agroecológicas", "produce", "kg", "1", "ambient",
          6, False, False, "Lechuga, col, zanahoria, brócoli de temporada."),
        S("habas", "Habas tiernas", "produce", "kg", "1", "ambient", 7, False, False,
          "Habas en vaina de los páramos de Toacaso."),
        S("quinua", "Quinua lavada", "andean_grains", "kg", "1", "ambient", 365, False, False,
          "Quinua desaponificada, lista para cocinar."),
        S("mora", "Pulpa de mora", "fruit_pulps", "kg", "1", "frozen", 180, True, False,
          "Pulpa de mora de castilla sin azúcar."),
        S("harina_maiz", "Harina de maíz tostado", "flours", "kg", "1", "ambient", 180, True,
          False, "Harina de maíz amarillo tostado en tiesto.", ("gluten (trazas)",)),
        S("mermelada", "Mermelada de uvilla", "jams", "unit", "1", "ambient", 365, True, False,
          "Mermelada de uvilla, frasco de 250 g."),
        S("alinos", "Aliño de la abuela", "seasonings", "unit", "1", "ambient", 120, True, False,
          "Aliño de ajo, comino y achiote, frasco de 200 g."),
        # Feed is not sold under the brand (no agro-ecological certification): a sheet only.
        S("balanceado", "Balanceado para cuyes", "feed", "kg", "40", "ambient", 90, True, False,
          "Balanceado artesanal para cuyes, saco de 40 kg.", (), ()),
    )
}  # fmt: skip

A = Association
ASSOCIATIONS = (
    A("lacteos.mulalo", "Asociación de Productoras Lácteas Mulaló", PLACES["mulalo"], 38, 33,
      ("queso_andino", "queso_fresco", "mozzarella"), "María Toapanta",
      "Treinta y tres mujeres ordeñan al pie del Cotopaxi cada madrugada."),
    A("guaytacama", "Asociación Mujeres Emprendedoras de Guaytacama", PLACES["guaytacama"], 24,
      22, ("queso_fresco", "mozzarella"), "Blanca Chiluisa",
      "Queseras que empezaron con una olla y hoy abastecen a Latacunga."),
    A("tanicuchi", "Asociación Agroecológica Tanicuchí", PLACES["tanicuchi"], 30, 25,
      ("hortalizas", "habas"), "Carmen Pilatasig"),
    A("juan.montalvo", "Asociación Avícola Juan Montalvo", PLACES["juan_montalvo"], 18, 15,
      ("huevos", "pollo"), "Luz Tipán"),
    A("toacaso", "Asociación de Páramo Toacaso", PLACES["toacaso"], 41, 29,
      ("habas", "quinua", "queso_andino"), "Rosa Quishpe",
      "Familias del páramo que cuidan el agua y siembran quinua a 3.500 m."),
    A("pastocalle", "Asociación Sumak Kawsay Pastocalle", PLACES["pastocalle"], 27, 24,
      ("cuy", "conejo"), "Mercedes Llumiquinga"),
    A("joseguango", "Asociación Flor de Joseguango", PLACES["joseguango"], 16, 16,
      ("hortalizas", "alinos"), "Gloria Cando"),
    A("san.buenaventura", "Asociación Gallinas Felices San Buenaventura",
      PLACES["san_buenaventura"], 22, 19, ("huevos",), "Teresa Ante"),
    A("belisario", "Asociación Frutales Belisario Quevedo", PLACES["belisario"], 26, 21,
      ("mora", "mermelada"), "Inés Iza"),
    A("alaquez", "Asociación Cuyeras de Alaquez", PLACES["alaquez"], 19, 18, ("cuy",),
      "Martha Pallo"),
    A("cuicuno", "Asociación Cuicuno Saquisilí", PLACES["cuicuno"], 33, 27,
      ("harina_maiz", "quinua"), "Dolores Casa"),
    A("la.victoria", "Asociación Artesanas La Victoria", PLACES["la_victoria"], 20, 17,
      ("mermelada", "alinos"), "Fabiola Toaquiza"),
    A("guangaje", "Asociación Runa Kawsay Guangaje", PLACES["guangaje"], 45, 31,
      ("quinua", "habas", "cuy"), "Transito Chaluisa",
      "Comunidad kichwa de altura: quinua, habas y cuyes para la ciudad."),
    A("pujili", "Asociación Mujeres de Pujilí", PLACES["pujili"], 28, 26,
      ("harina_maiz", "pollo"), "Zoila Umajinga"),
    A("panzaleo", "Asociación Lechera Panzaleo", PLACES["panzaleo"], 35, 28,
      ("queso_fresco", "queso_andino"), "Lorena Jácome"),
    A("mulalillo", "Asociación Balanceados Mulalillo", PLACES["mulalillo"], 21, 14,
      ("balanceado", "huevos"), "Nelly Pacheco"),
)  # fmt: skip

BUYERS = (
    Buyer("mama.miche", "Mama Miche Marisquería", "restaurant", -0.9310, -78.6140,
          "Michelle Vaca", window=("07:00", "10:30")),
    Buyer("charlie", "Charlie comida rápida de mar", "restaurant", -0.9275, -78.6100,
          "Carlos Molina", payment_method="cash_on_delivery", window=("08:00", "11:00")),
    Buyer("el.anzuelo", "El Anzuelo Marisquería", "restaurant", -0.9390, -78.6190,
          "Patricia Salazar", window=("07:30", "11:30")),
    Buyer("jimmy", "Marisquería Jimmy", "restaurant", -0.9420, -78.6080, "Jimmy Herrera",
          window=("09:00", "12:00")),
    Buyer("santa.maria", "Supermercado Santa María Latacunga", "supermarket", -0.9465,
          -78.6175, "Andrea Cevallos", window=("06:00", "09:00"), terms_days=45,
          purchase_order_number="OC-LTG-2026-0147"),
)  # fmt: skip

# How a driver finds each buyer (by buyer key): street address, phone, delivery notes.
BUYER_CONTACTS = {
    "mama.miche": ("Av. Amazonas 12-40 y Quito", "+593 3 281 0101",
                   "Entrada por la cocina, calle Quito; preguntar por Michelle"),
    "charlie": ("Calle Sánchez de Orellana 5-21", "+593 3 281 0202",
                "Pago en efectivo al entregar; timbre lateral"),
    "el.anzuelo": ("Av. Unidad Nacional 3-58", "+593 3 281 0303",
                   "Descargar por el parqueadero posterior"),
    "jimmy": ("Calle Guayaquil 7-19 y Belisario Quevedo", "+593 3 281 0404",
              "No antes de las 9:00; cámara de frío al fondo"),
    "santa.maria": ("Av. Eloy Alfaro km 1, bodega 4", "+593 3 281 0505",
                    "Andén 2; presentar la orden de compra OC-LTG-2026-0147"),
}  # fmt: skip

K = Sku
SKUS = (
    # key, name, category, unit, pack, kg per unit, producer price, tiers (volume, price), GTIN
    K("queso_fresco", "Queso fresco Sabores de Cotopaxi 500 g", "dairy", "unit", "1", "0.5",
      250, (("0", 390), ("60", 360), ("150", 340)), 101),
    K("mozzarella", "Mozzarella Sabores de Cotopaxi 500 g", "dairy", "unit", "1", "0.5", 330,
      (("0", 480), ("50", 450)), 102),
    K("queso_andino", "Queso andino maduro (por kg)", "dairy", "kg", "0.5", None, 700,
      (("0", 980), ("40", 920)), 103),
    K("huevos", "Huevos de gallinas felices, cubeta 12", "eggs", "dozen", "1", "0.75", 210,
      (("0", 300), ("80", 280)), 201),
    K("pollo", "Pollo pelado de campo (por kg)", "poultry", "kg", "1", None, 380,
      (("0", 520), ("60", 490)), 301),
    K("cuy", "Cuy faenado", "small_livestock", "unit", "1", "0.9", 900,
      (("0", 1250), ("30", 1180)), 401),
    K("hortalizas", "Canasta de hortalizas agroecológicas (por kg)", "produce", "kg", "1", None,
      90, (("0", 150), ("100", 135)), 501),
    K("habas", "Habas tiernas (por kg)", "produce", "kg", "1", None, 110, (("0", 170),), 502),
    K("quinua", "Quinua lavada (por kg)", "andean_grains", "kg", "1", None, 260,
      (("0", 380), ("50", 350)), 601),
    K("mora", "Pulpa de mora (por kg)", "fruit_pulps", "kg", "1", None, 300, (("0", 440),), 701),
    K("harina_maiz", "Harina de maíz tostado (por kg)", "flours", "kg", "1", None, 160,
      (("0", 240),), 801),
    K("mermelada", "Mermelada de uvilla 250 g", "jams", "unit", "1", "0.3", 220, (("0", 330),),
      901),
    K("alinos", "Aliño de la abuela 200 g", "seasonings", "unit", "1", "0.25", 150,
      (("0", 230),), 902),
)  # fmt: skip

VEHICLES = (
    Vehicle("Furgón refrigerado NKR", "1500", True, shift_start="05:30"),
    Vehicle("Camioneta D-Max", "900", False),
    Vehicle("Furgoneta refrigerada Hiace", "700", True),
)

# The allocation policy of the demo cycle: income evened out per member (the networks exist
# for their members, mostly women), no association under half of its proportional share.
ALLOCATION_POLICY = "per_member_equalizing"
# Each supplier offers its share (by members) of this multiple of the cycle's demand.
OFFER_HEADROOM = "1.6"
NEXT_CYCLE_OPEN_DAYS = 3  # the demo leaves its next cycle open for orders this long

# What each buyer orders in the demo cycle (SKU key → quantity); the supermarket orders big.
ORDERS = {
    "Mama Miche Marisquería": {
        "queso_fresco": "30",
        "huevos": "20",
        "hortalizas": "25",
        "alinos": "10",
    },
    "Charlie comida rápida de mar": {"mozzarella": "25", "pollo": "30", "huevos": "15"},
    "El Anzuelo Marisquería": {"queso_fresco": "20", "habas": "15", "mora": "12", "cuy": "10"},
    "Marisquería Jimmy": {"queso_andino": "12", "hortalizas": "30", "quinua": "20"},
    "Supermercado Santa María Latacunga": {
        "queso_fresco": "100",
        "mozzarella": "40",
        "huevos": "60",
        "quinua": "40",
        "harina_maiz": "50",
        "mermelada": "40",
        "queso_andino": "30",
    },
}

# At the collection centre: one association comes short, another brings a surplus of the
# same SKU (which covers part of the shortfall; the rest is shared among the buyers), one
# chilled lot arrives too warm and is flagged, and the cheese wheels are weighed.
SHORTFALL = ("Asociación Lechera Panzaleo", "queso_fresco", "6")
SURPLUS = ("Asociación de Productoras Lácteas Mulaló", "queso_fresco", "4")
WARM_LOT = ("Asociación Mujeres Emprendedoras de Guaytacama", "mozzarella", "9.0")
CHILLED_C, FROZEN_C = "4.0", "-18.0"
# Real weight of the queso andino wheels against their nominal weight, per association.
REAL_WEIGHT = {
    "Asociación de Productoras Lácteas Mulaló": "1.024",
    "Asociación de Páramo Toacaso": "0.987",
    "Asociación Lechera Panzaleo": "1.011",
}
# At delivery: one buyer sends a little back.
RETURN = ("Marisquería Jimmy", "hortalizas", "2", "lechuga quemada por la helada")

FEED_CAMPAIGN = {
    "supplier_name": "Asociación Balanceados Mulalillo",
    "item_name": "Balanceado para cuyes, saco de 40 kg",
    "unit": "kg",
    "pack_size": "40",
    "tiers": [
        {"min_packs": 1, "pack_price_cents": 3400},
        {"min_packs": 10, "pack_price_cents": 3000},
        {"min_packs": 20, "pack_price_cents": 2800},
    ],
    # (association name, kg asked, tolerance kg)
    "requests": [
        ("Asociación Sumak Kawsay Pastocalle", "320", "30"),
        ("Asociación Cuyeras de Alaquez", "150", "20"),
        ("Asociación Runa Kawsay Guangaje", "260", "0"),
        ("Asociación Mujeres de Pujilí", "60", "15"),
    ],
}


def email(key: str) -> str:
    return f"{key}@{EMAIL_DOMAIN}"


def tax_ids(seed: int = TAX_ID_SEED) -> Iterator[str]:
    """Valid, distinct RUCs of natural persons registered in Cotopaxi (province 05)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not a secret
    seen: set[str] = set()
    while True:
        body = f"05{rng.randint(0, 5)}{rng.randint(0, 999999):06d}"
        cedula = next(body + str(d) for d in range(10) if ci.is_valid(body + str(d)))
        if cedula not in seen:
            seen.add(cedula)
            yield f"{cedula}001"


def gtin(item: int) -> str:
    """A GTIN-13 of the brand: GS1 Ecuador (786), the network's company number, the item."""
    body = f"7861234{item:05d}"
    return body + ean.calc_check_digit(body)


def sanitary_number(index: int) -> str:
    """An ARCSA notification number in its usual shape (sequence-ALN-month year)."""
    return f"{4210 + index * 37:05d}-ALN-{(index % 12) + 1:02d}24"
