"""The origin page behind every label's QR code (issue 12): anyone, no login, in the
visitor's language, as HTML or as JSON, with nothing personal on it."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.public.i18n import DOMAIN, LANGUAGES, LOCALES_DIR
from app.public.origin import OriginPage
from tests.public.conftest import MEMBERS_TOTAL, MEMBERS_WOMEN, Traced

SHEET = "Queso fresco de Mulaló"


def visible(html: str) -> str:
    """The page's text, roughly as a person reads it."""
    body = re.sub(r"(?s)<(style|script)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body))).strip()


async def test_the_page_is_spanish_by_default_and_says_where_it_comes_from(
    client: httpx.AsyncClient, traced: Traced
) -> None:
    r = await client.get(f"/t/{traced.cold}")  # no login, no Accept-Language
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-language"] == "es"
    assert r.headers["cache-control"] == "public, max-age=300"
    assert {"accept", "accept-language"} <= {
        v.strip().lower() for v in r.headers["vary"].split(",")
    }
    assert "<script" not in r.text.lower()
    text = visible(r.text)
    for expected in (
        SHEET,
        "Sabores de Cotopaxi",  # the brand
        "Lo mejor de las asociaciones de Cotopaxi.",  # its story
        "Veinte familias de la asociación ordeñan cada mañana.",  # the sheet's story
        "Asociación Sabores de Mulaló",
        "Parroquia Mulaló, cantón Latacunga, Cotopaxi",
        f"{MEMBERS_TOTAL} socios, {MEMBERS_WOMEN} son mujeres",
        "Agroecológico · PGS-17",
        "Registro sanitario ARCSA 12345-ALN-0323",
        "Recibido el",
        "Conservación: Refrigerado",
        "Controlado a la llegada: 4,0 °C, dentro del límite de 8,0 °C",
        f"Lote {traced.cold}",
    ):
        assert expected in text, (expected, text)


async def test_nothing_personal_is_on_the_page(client: httpx.AsyncClient, traced: Traced) -> None:
    m = traced.market
    for accept in ("text/html", "application/json"):
        r = await client.get(f"/t/{traced.cold}", headers={"Accept": accept})
        assert r.status_code == 200
        for secret in (m.buyer["name"], m.buyer["tax_id"], m.net.association["tax_id"], "@"):
            assert secret not in r.text, (accept, secret)
        assert str(m.net.association["latitude"]) not in r.text


async def test_the_page_in_english(client: httpx.AsyncClient, traced: Traced) -> None:
    r = await client.get(
        f"/t/{traced.cold}", headers={"Accept-Language": "en-GB,en;q=0.9,es;q=0.5"}
    )
    assert r.status_code == 200
    assert r.headers["content-language"] == "en"
    text = visible(r.text)
    for expected in (
        SHEET,
        "Who grew it",
        "Parish Mulaló, canton Latacunga, Cotopaxi",
        f"{MEMBERS_TOTAL} members, {MEMBERS_WOMEN} of them women",
        "Agroecological · PGS-17",
        "Sanitary registration ARCSA 12345-ALN-0323",
        "Storage: Chilled",
        "Checked on arrival: 4.0 °C, within the 8.0 °C limit",
    ):
        assert expected in text, (expected, text)
    # a language we have no texts for falls back to Spanish
    fr = await client.get(f"/t/{traced.cold}", headers={"Accept-Language": "fr-FR,fr"})
    assert fr.headers["content-language"] == "es"


async def test_a_lot_received_warm_is_marked(client: httpx.AsyncClient, traced: Traced) -> None:
    r = await client.get(f"/t/{traced.warm}")
    assert r.status_code == 200
    text = visible(r.text)
    assert "Llegó más caliente de lo debido (11,5 °C, sobre 8,0 °C)" in text, text
    assert 'class="alert"' in r.text
    data = (await client.get(f"/t/{traced.warm}", headers={"Accept": "application/json"})).json()
    assert data["temperature"]["alert"] is True
    assert data["temperature"]["temperature_c"] == 11.5


async def test_the_same_content_as_json(client: httpx.AsyncClient, traced: Traced) -> None:
    r = await client.get(
        f"/t/{traced.cold}", headers={"Accept": "application/json", "Accept-Language": "en"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "public, max-age=300"
    page = OriginPage.model_validate(r.json())
    assert page.language == "en"
    assert page.lot_code == traced.cold
    assert page.product_name == SHEET
    assert page.brand is not None
    assert page.brand.name == "Sabores de Cotopaxi"
    assert page.association.name == "Asociación Sabores de Mulaló"
    assert (page.association.members_total, page.association.members_women) == (
        MEMBERS_TOTAL,
        MEMBERS_WOMEN,
    )
    assert (page.origin.parish, page.origin.canton) == ("Mulaló", "Latacunga")
    assert [(c.kind, c.label, c.number) for c in page.certifications] == [
        ("agroecological", "Agroecological", "PGS-17")
    ]
    assert page.sanitary_registration is not None
    assert page.sanitary_registration.number == "12345-ALN-0323"
    assert page.temperature.temperature_c == 4.0
    assert page.temperature.alert is False
    assert page.temperature.storage == "chilled"
    html = visible((await client.get(f"/t/{traced.cold}", headers={"Accept-Language": "en"})).text)
    assert page.received_on_text in html
    assert page.temperature.verdict in html


@pytest.mark.parametrize(
    ("code", "status"),
    [("NO-SUCH-LOT", 404), ("no such lot", 404), ("L-1';--", 404), ("x" * 101, 422)],
)
async def test_an_unknown_code_is_a_friendly_page(
    client: httpx.AsyncClient, code: str, status: int
) -> None:
    r = await client.get(f"/t/{code}")
    assert r.status_code == status
    if status == 404:
        assert r.headers["content-type"].startswith("text/html")
        assert "No encontramos este lote" in visible(r.text)
        assert r.headers["cache-control"] == "public, max-age=60"
        english = await client.get(f"/t/{code}", headers={"Accept-Language": "en"})
        assert "We cannot find this lot" in visible(english.text)
    problem = await client.get(f"/t/{code}", headers={"Accept": "application/json"})
    assert problem.status_code == status
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["code"] == ("lot_not_found" if status == 404 else "validation_error")


async def test_markup_in_a_code_is_shown_as_text(client: httpx.AsyncClient) -> None:
    r = await client.get("/t/%3Cscript%3Ehola")
    assert r.status_code == 404
    assert "<script>" not in r.text
    assert "&lt;script&gt;hola" in r.text


async def test_the_page_is_documented_with_both_media_types(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/api/v1/openapi.json")).json()["paths"]["/t/{lot_code}"]["get"]
    assert "security" not in operation
    assert set(operation["responses"]["200"]["content"]) == {"text/html", "application/json"}
    assert set(operation["responses"]["404"]["content"]) == {
        "text/html",
        "application/problem+json",
    }


def test_every_text_of_the_pages_is_translated() -> None:
    """What the templates and app/public say, extracted as `make pages-messages` does, is in
    every catalogue, and Spanish has a translation for each (English may keep the source)."""
    root = Path(__file__).resolve().parents[2]
    method_map = [
        ("app/public/**.py", "python"),
        ("app/public/templates/**.html", "jinja2"),
    ]
    options = {"app/public/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    extracted = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(root, method_map, options_map=options)
    }
    assert len(extracted) > 20
    for language in LANGUAGES:
        with (LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
            catalog = read_po(po, locale=language)
        ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
        assert extracted - ids == set(), f"{language}: run make pages-messages"
        if language == "es":
            untranslated = [
                m.id
                for m in catalog
                if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string)
            ]
            assert untranslated == []
