"""The centre's documents read back as people read them: packing list, labels, the cycle's
pick list and the driver's route sheet, in Spanish and English, their text extracted with
pypdf, their pages rendered with pdftoppm and the labels' QR codes decoded with zbarimg."""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]

from app.core.config import Settings
from tests.brands.conftest import Network, net  # noqa: F401 - the fixture these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market
from tests.utils import pdf

LONG_NAME = (
    "Queso maduro andino de leche cruda de altura, rueda artesanal Sabores de Cotopaxi 500 g"
)
PUBLIC = "https://origen.minga.example.ec"
SHOTS = os.environ.get("MINGA_TEST_SHOTS")  # keep the rendered pages there, to look at


async def _day(
    network: Network, before_close: Callable[[Floor], Awaitable[None]] | None = None
) -> Floor:
    """A SKU with a long name from two associations: the first's sheet is chilled and its
    lot arrives warm; the second's is ambient, arrives warm too (which is fine for it) and
    short, so its buyer is packed less than ordered."""
    sku = await network.sku(name=LONG_NAME)
    chilled = await network.sheet(storage="chilled")
    assert (await network.approve(sku["id"], chilled["id"])).status_code == 201
    second, second_staff = await network.join(name="Asociación Nueva Esperanza", parish="Pujilí")
    await network.license_for(second["id"])
    ambient = await network.sheet(
        association_id=second["id"], headers=second_staff, storage="ambient"
    )
    assert (await network.approve(sku["id"], ambient["id"])).status_code == 201
    centre = await network.api.organization("collection_centre", name="Centro de acopio Latacunga")
    buyer = await network.api.organization(
        "buyer", name="Mama Miche Marisquería", parish="La Matriz", latitude=-0.93, longitude=-78.61
    )
    _, buyer_staff = await network.api.member(buyer["id"], role="staff")
    m = Market(network, sku, second, second_staff, centre, buyer, buyer_staff)
    m.cycle = await m.new_cycle()
    await m.offer(m.cycle["id"], network.association["id"], "30", network.association_staff)
    await m.offer(m.cycle["id"], second["id"], "20", second_staff)
    f = await Floor.start(m)
    await f.order("40")
    if before_close is not None:
        await before_close(f)
    await f.close()
    await f.received(f.first, f.allocated(f.first), temperature_c="9.5", lot_code="TAN-1205-01")
    await f.received(f.second, "10", temperature_c="14.0", lot_code="PUJ-1205-02")
    return f


async def _get(f: Floor, path: str, **params: str) -> bytes:
    r = await f.client.get(f"/api/v1{path}", params=params, headers=f.staff)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content


def _keep(pages: list[Path], name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        for page in pages:
            shutil.copy(page, Path(SHOTS) / f"{name}-{page.name}")


async def test_packing_list_shows_ordered_and_packed_and_flags_warm_lots(
    net: Network,  # noqa: F811
    tmp_path: Path,
) -> None:
    f = await _day(net)
    [shipment] = await f.build()
    assert shipment["lines"][0]["quantity"] == "34.000"

    spanish = pdf.text(await _get(f, f"/shipments/{shipment['id']}/packing-list.pdf"))
    for expected in (
        "Lista de empaque — Centro de acopio Latacunga",
        "Cliente: Mama Miche Marisquería",
        "Pedido",
        "Empacado",
        "40 u.",  # ordered
        "34 u.",  # packed
        "TAN-1205-01: 24 —",
        "PUJ-1205-02: 10 —",
        "RECIBIDO FUERA DE TEMPERATURA (9,5 °C)",
        "Las líneas en rojo tienen un lote recibido fuera de temperatura.",
        "Recibido por:",
    ):
        assert expected in spanish, (expected, spanish)
    # the ambient lot at 14 °C is not out of temperature: one flag, the chilled lot's
    assert spanish.count("FUERA DE TEMPERATURA (") == 1

    body = await _get(f, f"/shipments/{shipment['id']}/packing-list.pdf", lang="en")
    english = pdf.text(body)
    for expected in (
        "Packing list — Centro de acopio Latacunga",
        "Customer: Mama Miche Marisquería",
        "Ordered",
        "Packed",
        "40 pcs",
        "34 pcs",
        "RECEIVED OUT OF TEMPERATURE (9.5 °C)",
        "Received by:",
    ):
        assert expected in english, (expected, english)
    assert "Pedido" not in english
    _keep(pdf.render(body, tmp_path / "packing"), "packing")


async def test_labels_storage_wrapping_warm_mark_and_public_qr(
    net: Network,  # noqa: F811
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(settings, "public_base_url", PUBLIC + "/")
    f = await _day(net)
    [shipment] = await f.build()
    body = await _get(f, f"/shipments/{shipment['id']}/labels.pdf")
    pages = pdf.pages_text(body)
    assert len(pages) == 2  # a label per lot
    by_lot = {("TAN" if "TAN-1205-01" in p else "PUJ"): " ".join(p.split()) for p in pages}

    # storage from each lot's product sheet, and the warm lot marked
    assert "MANTENER REFRIGERADO (0-4 °C)" in by_lot["TAN"]
    assert "RECIBIDO FUERA DE TEMPERATURA (9,5 °C)" in by_lot["TAN"]
    assert "CONSERVAR EN LUGAR FRESCO Y SECO" in by_lot["PUJ"]
    assert "REFRIGERADO" not in by_lot["PUJ"]
    assert "TEMPERATURA" not in by_lot["PUJ"]
    for text in by_lot.values():  # the whole name, wrapped, never cut
        assert LONG_NAME in text, text
        assert "Para: Mama Miche Marisquería" in text

    # nothing runs under the QR code (top right, 32 mm) or off the label
    width, height = pdf.page_size(body)
    qr_left, qr_bottom = width - 5 * mm - 32 * mm, height - 5 * mm - 32 * mm
    for page in range(2):
        runs = pdf.runs(body, page)
        assert runs
        for run in runs:
            font = "Helvetica-Bold" if run.size >= 10 else "Helvetica"
            right = run.x + stringWidth(run.text, font, run.size) * 0.98
            assert run.x >= 0, run
            assert right <= width - 4 * mm, run
            assert 0 < run.y < height, run
            if run.y + run.size * 0.8 > qr_bottom:
                assert right <= qr_left, run

    # the QR codes, read from the rendered pages, are the lots' public pages
    images = pdf.render(body, tmp_path / "labels", dpi=200)
    assert len(images) == 2
    codes = sorted(code for image in images for code in pdf.qr_codes(image))
    assert codes == [f"{PUBLIC}/t/PUJ-1205-02", f"{PUBLIC}/t/TAN-1205-01"]
    _keep(images, "labels")

    english = pdf.text(await _get(f, f"/shipments/{shipment['id']}/labels.pdf", lang="en"))
    assert "KEEP REFRIGERATED (0-4 °C)" in english
    assert "STORE IN A COOL, DRY PLACE" in english
    assert "RECEIVED OUT OF TEMPERATURE (9.5 °C)" in english


async def test_cycle_pick_list_csv_and_pdf(net: Network, tmp_path: Path) -> None:  # noqa: F811
    f = await _day(net)
    await f.build()
    cycle_id = f.m.cycle["id"]
    r = await f.client.get(f"/api/v1/cycles/{cycle_id}/pick-list.csv", headers=f.staff)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert [(x["association"], x["lot_code"], x["pick_quantity"]) for x in rows] == [
        ("Asociación Nueva Esperanza", "PUJ-1205-02", "10.000"),
        ("Asociación Sabores de Mulaló", "TAN-1205-01", "24.000"),
    ]
    assert {x["temperature_alert"] for x in rows if x["lot_code"] == "TAN-1205-01"} == {"yes"}
    assert {x["buyer"] for x in rows} == {"Mama Miche Marisquería"}

    # one association's
    r = await f.client.get(
        f"/api/v1/cycles/{cycle_id}/pick-list.csv",
        params={"association_id": f.second},
        headers=f.staff,
    )
    assert [x["lot_code"] for x in csv.DictReader(io.StringIO(r.text.lstrip("\ufeff")))] == [
        "PUJ-1205-02"
    ]

    body = await _get(f, f"/cycles/{cycle_id}/pick-list.pdf")
    spanish = pdf.text(body)
    for expected in (
        "Lista de preparación — Centro de acopio Latacunga",
        "Asociación Nueva Esperanza",
        "Asociación Sabores de Mulaló",
        "TAN-1205-01 FUERA DE TEMPERATURA",
        "Preparado por:",
        f"Por producto Producto Pedido Aceptado Preparar {LONG_NAME} 40 u. 34 u. 34 u.",
    ):
        assert expected in spanish, (expected, spanish)
    # the associations in order, each with its own lots
    assert spanish.index("Nueva Esperanza") < spanish.index("PUJ-1205-02")
    assert spanish.index("PUJ-1205-02") < spanish.index("Sabores de Mulaló")
    assert spanish.index("Sabores de Mulaló") < spanish.index("TAN-1205-01")
    _keep(pdf.render(body, tmp_path / "pick"), "pick")
    english = pdf.text(await _get(f, f"/cycles/{cycle_id}/pick-list.pdf", lang="en"))
    assert "Pick list — Centro de acopio Latacunga" in english
    assert "OUT OF TEMPERATURE" in english

    # the other centre's staff and the buyer see none of it
    for headers in (f.other_centre_staff, f.m.buyer_staff):
        r = await f.client.get(f"/api/v1/cycles/{cycle_id}/pick-list.pdf", headers=headers)
        assert r.status_code == 403, r.text


async def _plan(f: Floor) -> dict[str, Any]:
    r = await f.client.post(
        f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles",
        json={"name": "Furgón frío", "capacity_kg": "500", "chilled": True},
        headers=f.admin,
    )
    assert r.status_code == 201, r.text
    r = await f.client.post(f"/api/v1/cycles/{f.m.cycle['id']}/routes", headers=f.staff)
    assert r.status_code == 200, r.text
    plan: dict[str, Any] = r.json()
    return plan


async def test_route_sheet(net: Network, tmp_path: Path) -> None:  # noqa: F811
    """Two stops: the restaurant on terms, and a second one paying cash in a morning
    window; the sheet lists both in the planned order with what to drop and collect."""
    second: dict[str, Any] = {}

    async def cash_buyer(f: Floor) -> None:
        buyer, staff = await f.buyer(
            "Restaurante Los Copihues", parish="San Miguel", latitude=-1.045, longitude=-78.59
        )
        _, admin = await f.api.member(buyer["id"], role="admin")
        r = await f.client.put(
            f"/api/v1/buyers/{buyer['id']}/delivery-window",
            json={"opens": "07:00", "closes": "11:00", "service_minutes": 15},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        r = await f.m.order(
            "6", headers=staff, buyer_id=buyer["id"], payment_method="cash_on_delivery"
        )
        assert r.status_code == 201, r.text
        second.update(buyer=buyer, order=r.json())

    f = await _day(net, cash_buyer)
    shipments = {s["buyer_id"]: s for s in await f.build()}
    plan = await _plan(f)
    [route] = plan["routes"]
    stops = route["stops"]
    assert {s["buyer_id"] for s in stops} == {f.m.buyer["id"], second["buyer"]["id"]}
    order = await f.get_order(second["order"]["id"])
    cash = order["final_total_cents"]
    assert cash > 0

    body = await _get(f, f"/routes/{route['id']}.pdf")
    spanish = pdf.text(body)
    names = {
        f.m.buyer["id"]: "Mama Miche Marisquería",
        second["buyer"]["id"]: "Restaurante Los Copihues",
    }
    for n, stop in enumerate(stops, start=1):
        assert f"{n}. {names[stop['buyer_id']]}" in spanish, spanish
    assert spanish.index(f"1. {names[stops[0]['buyer_id']]}") < spanish.index(
        f"2. {names[stops[1]['buyer_id']]}"
    )
    copihues = Decimal(shipments[second["buyer"]["id"]]["lines"][0]["quantity"])
    for expected in (
        "Hoja de ruta — Centro de acopio Latacunga",
        "Vehículo Furgón frío",
        "Llegada prevista",
        "(de 07:00 a 11:00)",
        "La Matriz, Latacunga, Cotopaxi",
        "San Miguel, Latacunga, Cotopaxi",
        "Teléfono:",
        LONG_NAME,
        f"{copihues:f}".rstrip("0").rstrip(".").replace(".", ",") + " u.",
        f"Cobrar en efectivo: {cash // 100},{cash % 100:02d} USD",
        "Nada que cobrar en efectivo",
        "Recibido por (nombre, firma):",
    ):
        assert expected in spanish, (expected, spanish)
    assert spanish.count("Recibido por (nombre, firma):") == 2  # a line to sign per stop
    _keep(pdf.render(body, tmp_path / "route"), "route")
    english = pdf.text(await _get(f, f"/routes/{route['id']}.pdf", lang="en"))
    assert "Route sheet — Centro de acopio Latacunga" in english
    assert f"Collect in cash: {cash // 100}.{cash % 100:02d} USD" in english
    assert "(window 07:00 to 11:00)" in english

    # others get 404, as for an unknown route
    for headers in (f.other_centre_staff, f.m.buyer_staff):
        r = await f.client.get(f"/api/v1/routes/{route['id']}.pdf", headers=headers)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "route_not_found"
    r = await f.client.get("/api/v1/routes/no-such-route.pdf", headers=f.staff)
    assert r.status_code == 404
