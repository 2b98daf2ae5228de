"""The demo's documents, read back as their readers would: an invoice to its restaurant, the
drivers' route sheets, the cycle's pick list, and the packing list and labels of the shipment
holding the lot that arrived warm (its QR codes decoded from the rendered page)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from app.demo.runner import run_demo
from app.main import create_app
from tests.test_demo import demo_settings  # noqa: F401 - the fixture these tests build on
from tests.utils import pdf


def _usd(cents: int) -> str:
    whole, minor = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{minor:02d} USD"


@pytest.mark.slow
async def test_the_demo_documents(demo_settings: Settings, tmp_path: Path) -> None:  # noqa: F811
    result = await run_demo(demo_settings)
    run, world = result.run, result.world
    app = create_app(demo_settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://minga.demo") as client:

            async def document(path: str, headers: dict[str, str]) -> bytes:
                r = await client.get(f"/api/v1{path}", headers=headers)
                assert r.status_code == 200, (path, r.text)
                assert r.headers["content-type"] == "application/pdf"
                return r.content

            # every invoice, to its buyer, in Spanish, with its total
            for invoice in run.invoices:
                name = world.buyer_name(invoice["buyer_id"])
                body = await document(f"/invoices/{invoice['id']}.pdf", world.buyer_staff[name])
                text = pdf.text(body)
                assert f"Factura {invoice['number']}" in text
                assert name in text
                assert "RUC " in text
                assert f"Total {_usd(invoice['total_cents'])}" in text, text

            # each route's sheet: its stops in order, a line to sign at each
            staff = world.centre_staff
            for route in run.routes["routes"]:
                text = pdf.text(await document(f"/routes/{route['id']}.pdf", staff))
                names = [world.buyer_name(s["buyer_id"]) for s in route["stops"]]
                where = [text.index(f"{n}. {name}") for n, name in enumerate(names, start=1)]
                assert where == sorted(where), text
                assert text.count("Recibido por (nombre, firma):") == len(names)

            # the cycle's pick list: every association, the warm lot flagged
            cycle_id = run.cycle["id"]
            r = await client.get(f"/api/v1/cycles/{cycle_id}/pick-list.csv", headers=staff)
            assert r.status_code == 200, r.text
            rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
            warm = run.warm_lot["lot_code"]
            assert {x["temperature_alert"] for x in rows if x["lot_code"] == warm} == {"yes"}
            text = pdf.text(await document(f"/cycles/{cycle_id}/pick-list.pdf", staff))
            for association in {x["association"] for x in rows}:
                assert association in text
            assert f"{warm} FUERA DE TEMPERATURA" in text

            # the warm lot's shipment: flagged on its packing list and its label
            shipment_id = run.warm_lot["buyers"][0]["shipment_id"]
            text = pdf.text(await document(f"/shipments/{shipment_id}/packing-list.pdf", staff))
            assert "RECIBIDO FUERA DE TEMPERATURA" in text
            assert run.warm_lot["buyers"][0]["buyer_name"] in text
            labels = await document(f"/shipments/{shipment_id}/labels.pdf", staff)
            pages = pdf.pages_text(labels)
            [page] = [n for n, p in enumerate(pages) if warm in p]
            assert "RECIBIDO FUERA DE TEMPERATURA" in " ".join(pages[page].split())
            images = pdf.render(labels, tmp_path / "labels")
            expected = f"{demo_settings.public_base_url.rstrip('/')}/t/{warm}"
            assert pdf.qr_codes(images[page]) == [expected]
    finally:
        await app.state.engine.dispose()
