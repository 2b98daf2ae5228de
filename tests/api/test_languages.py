"""Answers in the reader's language: Accept-Language, else the user's, else the network's.

Problems (title, detail, the items of a 422) and category labels are translated; the stable
``code`` never is. The catalogue tests fail when a message of app/ (or of any domain under
app/locales) has no Spanish translation, so a new problem without one fails CI.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import httpx
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import app
from app.api import health
from app.catalog.categories import LABELS, TAXONOMY
from app.core import i18n
from app.core.problems import Problem
from tests.brands.conftest import net  # noqa: F401 - the fixture market builds on
from tests.orders.conftest import Market, market  # noqa: F401 - the fixture
from tests.utils import Api, assert_problem

ES = {"Accept-Language": "es"}
EN = {"Accept-Language": "en"}
LOCALES = Path(i18n.LOCALES_DIR)
ROOT = Path(__file__).resolve().parents[2]


# --- negotiation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "user", "network", "expected"),
    [
        ("es-EC;q=0.9, en;q=0.8", None, None, "es"),
        ("en;q=0.8, es-EC;q=0.9", None, None, "es"),
        ("es-419", "en", None, "es"),
        ("en-US,en;q=0.9", None, "es", "en"),
        ("fr-FR, de;q=0.9", "en", "es", "en"),  # none spoken: the user's
        ("*", None, "es", "es"),  # says nothing: the network's
        ("en;q=0, es;q=0.1", None, None, "es"),  # q=0 is "not English"
        ("en;q=bogus, es;q=0.5", None, None, "es"),  # a malformed weight is not trusted
        ("", None, None, "es"),
        (None, "en", "es", "en"),
        (None, None, "es", "es"),
        (None, "xx", None, i18n.DEFAULT_LANGUAGE),
    ],
)
def test_negotiate(
    header: str | None, user: str | None, network: str | None, expected: str
) -> None:
    assert i18n.negotiate(header, user, network) == expected


def test_networks_of_ecuador_and_colombia_speak_spanish() -> None:
    assert i18n.country_language("EC") == "es"
    assert i18n.country_language("CO") == "es"
    assert i18n.country_language(None) is None


# --- problems ----------------------------------------------------------------------------------


async def test_unknown_path_in_spanish_and_english(client: httpx.AsyncClient) -> None:
    es = assert_problem(await client.get("/api/v1/no-such-path", headers=ES), 404, "not_found")
    en = assert_problem(await client.get("/api/v1/no-such-path", headers=EN), 404, "not_found")
    assert es["title"] == "No encontrado"
    assert es["detail"].startswith("No hay nada en esta dirección")
    assert en["title"] == "Not Found"
    assert en["detail"].startswith("Nothing is found at this address")
    assert es["code"] == en["code"] == "not_found"
    assert es["type"] == en["type"]


async def test_regional_spanish_is_spanish(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/api/v1/no-such-path", headers={"Accept-Language": "es-EC;q=0.9, en;q=0.8"}
    )
    assert assert_problem(r, 404, "not_found")["title"] == "No encontrado"
    assert r.headers["content-language"] == "es"
    r = await client.get("/api/v1/no-such-path", headers={"Accept-Language": "en-GB, es;q=0.5"})
    assert assert_problem(r, 404, "not_found")["title"] == "Not Found"
    assert r.headers["content-language"] == "en"


async def test_an_anonymous_request_without_language_is_spanish(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/me"), 401, "unauthenticated")
    assert body["title"] == "Se requiere autenticación"
    assert body["detail"] == "Inicie sesión con POST /api/v1/auth/token o envíe una X-API-Key"
    english = assert_problem(await client.get("/api/v1/me", headers=EN), 401, "unauthenticated")
    assert english["title"] == "Authentication required"


async def test_method_not_allowed_in_spanish(client: httpx.AsyncClient) -> None:
    r = await client.delete("/api/v1/categories", headers=ES)
    body = assert_problem(r, 405, "method_not_allowed")
    assert body["title"] == "Método no permitido"
    assert body["detail"] == (
        "Esta dirección no responde a DELETE; la cabecera Allow indica a qué métodos responde"
    )
    assert "GET" in r.headers["allow"]


async def test_an_unexpected_error_in_the_readers_language(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 500 is rendered by Starlette's outermost middleware, after the request's own: it
    still finds the request's language."""

    def broken(**_: object) -> None:
        raise RuntimeError("an unexpected failure")

    monkeypatch.setattr(health, "Health", broken)
    es = assert_problem(await client.get("/healthz", headers=ES), 500, "internal_error")
    en = assert_problem(await client.get("/healthz", headers=EN), 500, "internal_error")
    assert es["title"] == "Error interno del servidor"
    assert es["detail"].startswith("Algo falló de nuestro lado")
    assert en["title"] == "Internal server error"
    assert "an unexpected failure" not in es["detail"] + en["detail"]


async def test_validation_problem_in_spanish(api: Api) -> None:
    admin = await api.admin()
    body = {
        "kind": "association",
        "name": "x" * 201,
        "tax_id": "0501234567001",
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "latitude": "north",
    }
    r = await api.client.post("/api/v1/organizations", json=body, headers={**admin, **ES})
    problem = assert_problem(r, 422, "validation_error")
    assert problem["title"] == "Datos no válidos"
    by_field = {e["field"]: e["detail"] for e in problem["errors"]}
    assert by_field["parish"] == "Campo obligatorio"
    assert by_field["name"] == "El texto debe tener como máximo 200 caracteres"
    # a JSON number is asked for (request bodies take JSON types only)
    assert by_field["latitude"] == "Debe ser un número válido"
    assert "parish: Campo obligatorio" in problem["detail"]

    r = await api.client.post("/api/v1/organizations", json=body, headers={**admin, **EN})
    english = {
        e["field"]: e["detail"] for e in assert_problem(r, 422, "validation_error")["errors"]
    }
    assert english["parish"] == "Field required"
    assert english["name"] == "String should have at most 200 characters"


async def test_pattern_and_custom_messages_in_spanish(market: Market) -> None:  # noqa: F811
    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/offers",
        json={
            "sku_id": market.sku["id"],
            "association_id": market.net.association["id"],
            "quantity": "1e3",
        },
        headers={**market.net.association_staff, **ES},
    )
    [error] = assert_problem(r, 422, "validation_error")["errors"]
    assert error["field"] == "quantity"
    assert error["detail"].startswith('debe ser un número decimal como "12.5"')

    r = await market.client.get("/api/v1/orders?status=lost", headers={**market.buyer_staff, **ES})
    [error] = assert_problem(r, 422, "validation_error")["errors"]
    assert error["detail"].startswith("Debe ser ")


async def test_domain_problems_in_spanish(market: Market) -> None:  # noqa: F811
    headers = {**market.buyer_staff, **ES}
    r = await market.client.get(
        "/api/v1/orders/00000000-0000-4000-8000-000000000000", headers=headers
    )
    assert assert_problem(r, 404, "order_not_found")["title"] == "Pedido no encontrado"

    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/close", headers=market.net.admin
    )
    assert r.status_code == 200, r.text
    problem = assert_problem(await market.order("1", headers=headers), 409, "cycle_not_open")
    assert problem["title"] == "El ciclo no está abierto para pedidos"
    assert problem["detail"] == "El ciclo está en estado closed"
    english = assert_problem(
        await market.order("1", headers={**market.buyer_staff, **EN}), 409, "cycle_not_open"
    )
    assert english["title"] == "The cycle is not open for orders"
    assert english["detail"] == "The cycle is closed"


async def test_the_network_language_and_the_users_own(market: Market) -> None:  # noqa: F811
    client, staff = market.client, market.buyer_staff
    me = (await client.get("/api/v1/me", headers=staff)).json()
    assert me["language"] is None
    # no header and no language of their own: the network's (an Ecuadorian one: Spanish)
    r = await client.get("/api/v1/orders/00000000-0000-4000-8000-000000000000", headers=staff)
    assert assert_problem(r, 404, "order_not_found")["title"] == "Pedido no encontrado"

    r = await client.patch("/api/v1/me", json={"language": "en"}, headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "en"
    assert r.json()["full_name"] == me["full_name"]
    assert (await client.get("/api/v1/me", headers=staff)).json()["language"] == "en"
    r = await client.get("/api/v1/orders/00000000-0000-4000-8000-000000000000", headers=staff)
    assert assert_problem(r, 404, "order_not_found")["title"] == "Order not found"
    assert r.headers["content-language"] == "en"
    # the request's header still wins over the user's language
    r = await client.get(
        "/api/v1/orders/00000000-0000-4000-8000-000000000000", headers={**staff, **ES}
    )
    assert assert_problem(r, 404, "order_not_found")["title"] == "Pedido no encontrado"

    r = await client.patch("/api/v1/me", json={"full_name": "Ana María Toapanta"}, headers=staff)
    assert r.json()["full_name"] == "Ana María Toapanta"
    assert r.json()["language"] == "en"  # left out: unchanged
    r = await client.patch("/api/v1/me", json={"language": None}, headers=staff)
    assert r.json()["language"] is None
    r = await client.get("/api/v1/orders/00000000-0000-4000-8000-000000000000", headers=staff)
    assert assert_problem(r, 404, "order_not_found")["title"] == "Pedido no encontrado"


async def test_patch_me_refuses_what_it_cannot_store(api: Api) -> None:
    org = await api.organization("buyer")
    _, staff = await api.member(org["id"], role="staff")
    for body in ({"language": "fr"}, {"full_name": None}, {"full_name": ""}, {"email": "x@y.ec"}):
        r = await api.client.patch("/api/v1/me", json=body, headers={**staff, **ES})
        assert_problem(r, 422, "validation_error")
    r = await api.client.patch("/api/v1/me", json={"full_name": None}, headers={**staff, **ES})
    [error] = r.json()["errors"]
    assert error == {
        "field": "full_name",
        "detail": "Valor no válido: puede omitirse, pero no ser null",
    }
    assert_problem(await api.client.patch("/api/v1/me", json={}), 401, "unauthenticated")


# --- categories --------------------------------------------------------------------------------


async def test_category_labels_follow_the_language(api: Api) -> None:
    org = await api.organization("association")
    _, staff = await api.member(org["id"], role="staff")
    es = (await api.client.get("/api/v1/categories", headers={**staff, **ES})).json()
    en = (await api.client.get("/api/v1/categories", headers={**staff, **EN})).json()
    assert [c["slug"] for c in es] == [c["slug"] for c in en]
    spanish = {c["slug"]: c["name"] for c in es}
    english = {c["slug"]: c["name"] for c in en}
    assert spanish["dairy"] == "Lácteos"
    assert english["dairy"] == "Dairy"
    assert english["small_livestock"] == "Small livestock (guinea pig, rabbit)"
    assert {c["slug"]: c["processed"] for c in es} == {c["slug"]: c["processed"] for c in en}
    # the user's network speaks Spanish: no header is Spanish
    default = (await api.client.get("/api/v1/categories", headers=staff)).json()
    assert {c["slug"]: c["name"] for c in default} == spanish


def test_every_category_has_a_label_whose_spanish_is_its_seeded_name() -> None:
    assert set(LABELS) == {seed.slug for seed in TAXONOMY}
    for seed in TAXONOMY:
        assert i18n.gettext(LABELS[seed.slug], language="es") == seed.name


# --- the catalogues ----------------------------------------------------------------------------


def _catalogues() -> list[Path]:
    found = sorted(LOCALES.glob("*/LC_MESSAGES/*.po"))
    assert found, f"no catalogues under {LOCALES}"
    return found


@pytest.mark.parametrize("path", _catalogues(), ids=lambda p: str(p.relative_to(LOCALES)))
def test_every_message_has_a_spanish_translation(path: Path) -> None:
    language = path.parents[1].name
    assert language in i18n.LANGUAGES, f"{path}: Minga does not speak {language}"
    with path.open("rb") as fileobj:
        catalog = read_po(fileobj, locale=language)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if language != i18n.SOURCE_LANGUAGE and not all(strings):
            problems.append(f"untranslated: {message.id!r}")
        wanted = set().union(*(i18n.placeholders(i) for i in ids))
        for text in strings:
            if text and i18n.placeholders(text) != wanted:
                problems.append(f"placeholders differ: {message.id!r} → {text!r}")
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_every_domain_has_a_spanish_catalogue() -> None:
    domains = {p.stem for p in _catalogues()}
    assert "messages" in domains
    for domain in domains:
        assert i18n.catalogue_path("es", domain).exists(), f"{domain} has no Spanish catalogue"


def _spanish(domain: str = "messages") -> dict[object, object]:
    with i18n.catalogue_path("es", domain).open("rb") as fileobj:
        return {m.id: m.string for m in read_po(fileobj, locale="es") if m.id}


OTHER_DOMAINS = (
    "public/**.py",
    "core/printing.py",
    "fulfilment/printouts.py",
    "fulfilment/route_sheet.py",
    "settlement/invoice_pdf.py",
)


def test_every_message_of_the_code_is_in_the_catalogue() -> None:
    """What `make messages` would extract now is all in the Spanish catalogue: a message added
    to the code without `make messages` and a translation fails here."""
    # as babel.cfg: the public pages' and the documents' texts are their own domains'
    # (tests/public and tests/test_document_messages.py check them)
    method_map = [
        *((pattern, "ignore") for pattern in OTHER_DOMAINS),
        ("**.py", "app.core.i18n_extract:extract"),
    ]
    extracted = {message for _, _, message, _, _ in extract_from_dir(str(ROOT / "app"), method_map)}
    known = set(_spanish())
    missing = sorted(str(m) for m in extracted if m not in known)
    assert not missing, "run `make messages` and translate:\n" + "\n".join(missing)


def _problem_classes() -> set[type[Problem]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if module.name != "app.asgi":  # builds an app from the environment's settings
            importlib.import_module(module.name)
    found: set[type[Problem]] = set()
    todo = [Problem]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return found


def test_every_problem_title_is_translated() -> None:
    spanish = _spanish()
    classes = {c for c in _problem_classes() if c.__name__ != "HTTPProblem"}
    assert len(classes) > 50  # the walk found the domains' problems
    untranslated = sorted(
        f"{c.__module__}.{c.__qualname__}: {c.title!r}"
        for c in {Problem, *classes}
        if not spanish.get(c.title)
    )
    assert not untranslated, "titles without a Spanish translation:\n" + "\n".join(untranslated)


def test_a_po_catalogue_is_used_without_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout or wheel without .mo files still answers translated (the .po is compiled
    in memory), a stale .mo never shadows an edited .po, and a fresh one is used."""
    target = tmp_path / "es" / "LC_MESSAGES"
    target.mkdir(parents=True)
    po = target / "messages.po"
    po.write_bytes(i18n.catalogue_path("es").read_bytes())
    with po.open("rb") as fileobj:
        catalog = read_po(fileobj, locale="es")
    catalog["Order not found"].string = "Pedido compilado"
    mo = target / "messages.mo"
    with mo.open("wb") as fileobj:
        write_mo(fileobj, catalog)
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    try:
        for mo_mtime, expected in [
            (None, "Pedido no encontrado"),  # no .mo
            (po.stat().st_mtime - 60, "Pedido no encontrado"),  # older than the .po
            (po.stat().st_mtime + 60, "Pedido compilado"),  # compiled since
        ]:
            if mo_mtime is None:
                content = mo.read_bytes()
                mo.unlink()
            else:
                if not mo.exists():
                    mo.write_bytes(content)
                os.utime(mo, (mo_mtime, mo_mtime))
            i18n.translations.cache_clear()
            assert i18n.gettext("Order not found", language="es") == expected
    finally:
        monkeypatch.undo()
        i18n.translations.cache_clear()


async def test_a_shortage_is_explained_in_spanish(market: Market) -> None:  # noqa: F811
    r = await market.order("99999", headers={**market.buyer_staff, **ES})
    problem = assert_problem(r, 409, "insufficient_supply")
    [line] = problem["errors"]
    assert line["detail"].startswith("pedido 99999"), line
    assert problem["detail"] == line["detail"]
    r = await market.order("99999", headers={**market.buyer_staff, **EN})
    assert assert_problem(r, 409, "insufficient_supply")["detail"].startswith("asked 99999")
