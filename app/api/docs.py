"""The API's documentation for people: Swagger UI and ReDoc served from the app's own files
(no CDN, so ``/docs`` works on a site with no internet), a "Start here" guide, summaries
that say what an operation does, and operation ids that a generated client reads well
(``placeOrder``, not ``place_order_api_v1_orders_post``).

The vendored assets, their versions and licences are listed in ``app/static/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_URL = "/static"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"

START_HERE = """
Minga pools the orders of restaurants and supermarkets into joint sales of Andean producer
associations under regional brands, and their input needs into joint purchases.

## Start here

Every path below is under `/api/v1`. A buyer's integration makes these calls, in this order:

1. **Log in**: `POST /auth/token` with the form fields `username` (your e-mail) and
   `password` answers an `access_token`; send it as `Authorization: Bearer …` on every other
   call (a machine may use an `X-API-Key` made by `POST /organizations/{id}/api-keys`).
2. **Who am I**: `GET /me` lists your organisations (`memberships[].organization_id`): the
   buyer you order for is one of them.
3. **Find the open cycle**: `GET /cycles?status=open` — a cycle is one joint sale of a
   network, with a cut-off (`closes_at`) and a delivery date.
4. **Browse the catalogue**: `GET /skus?cycle_id=…` lists what the cycle sells, with today's
   unit price, how it is shared (producer, logistics, network, solidarity fund), the
   associations that supply it and how much is still available.
5. **Place an order**: `POST /orders` with `buyer_id`, `cycle_id`, `lines` (`sku_id`,
   `quantity`) and a `payment_method`. Send an `Idempotency-Key` header, so that a retry
   after a lost answer does not order twice.
6. **Until the cut-off**: change it (`PATCH /orders/{id}`) or cancel it
   (`POST /orders/{id}/cancel`); `GET /orders/{id}/events` tells who did what.
7. **After the cut-off**: `GET /orders/{id}` shows the confirmed quantities and the final
   unit price (the more the whole cycle bought, the lower); then the shipment
   (`GET /cycles/{id}/shipments`), its delivery, and at settlement your invoice
   (`GET /invoices`).

Associations offer in a cycle (`POST /cycles/{id}/offers`) from published product sheets
(`POST /products`, then `…/publish`); networks run brands, cycles, closing and settlement;
collection centres receive goods, pack shipments, plan routes and deliver. Every lot's
label carries a QR code to its public origin page, `GET /t/{lot_code}` (no login).

Lists answer `{"items": […], "next_cursor": …}`: pass `?cursor=` to get the next page.
Money is in integer cents of the network's currency; quantities are decimal strings.
Errors are RFC 9457 problem details (`application/problem+json`) with a stable `code`.
"""

# What each operation does, for the operations whose route does not say it itself; keyed by
# operation id. Routes may also pass ``summary=`` (theirs wins; a test keeps this list
# free of entries that no route needs).
SUMMARIES: dict[str, str] = {
    # accounts
    "readMe": "Who you are and the organisations you belong to",
    "createOrganization": "Register an organisation (association, buyer, centre or network)",
    "listOrganizations": "List the organisations you can see",
    "getOrganization": "Read an organisation",
    "listMembers": "List an organisation's members",
    "changeMemberRole": "Make a member an admin, or staff",
    "removeMember": "Remove a person from an organisation",
    "listAssociations": "List the network's associations",
    "createApiKey": "Make an API key for a machine (shown once)",
    "listApiKeys": "List an organisation's API keys",
    "revokeApiKey": "Revoke an API key",
    # catalogue
    "listCategories": "List the product categories",
    "readProduct": "Read a product sheet",
    "listVersions": "List a sheet's published versions",
    "readVersion": "Read one published version of a sheet",
    "removeImage": "Remove a photo from a sheet",
    # brands
    "createBrand": "Create a regional brand with its territory and rules",
    "listBrands": "List the brands",
    "getBrand": "Read a brand",
    "updateBrand": "Change a brand's story, territory or rules",
    "grantLicense": "License an association to sell under the brand",
    "listLicenses": "List the brand's licences",
    "suspendLicense": "Suspend an association's licence",
    "reinstateLicense": "Reinstate a suspended licence",
    "createSku": "Add a product to the brand, with its price tiers",
    "getSku": "Read a brand SKU",
    "updateSku": "Change a brand SKU's prices or details",
    "approveSupplier": "Approve a product sheet to supply the SKU (every brand rule checked)",
    "withdrawSupplier": "Stop a sheet supplying the SKU",
    # payments
    "stripeWebhook": "Receive Stripe's payment events (signed by Stripe)",
    # cycles and orders
    "createCycle": "Open a cycle: a joint sale with its cut-off and delivery date",
    "setAllocationFloor": "Set the network's floor for per-member equalising",
    "seasonReport": "The season's income per association and per member; each policy's what-if",
    "listCycles": "List the cycles",
    "getCycle": "Read a cycle",
    "cycleAvailability": "How much of each SKU is offered, reserved and still available",
    "createOffer": "Offer a quantity of a SKU in the cycle",
    "listOffers": "List the cycle's offers",
    "updateOffer": "Change an offer",
    "placeOrder": "Place an order",
    "listOrders": "List orders",
    "getOrder": "Read an order",
    "changeOrder": "Change an order before the cut-off",
    "cancelOrder": "Cancel an order before the cut-off",
    "createStandingOrder": "Order the same lines in every cycle the network opens",
    "listStandingOrders": "List standing orders",
    "getStandingOrder": "Read a standing order",
    "stopStandingOrder": "Stop a standing order",
    "listAllocations": "Who supplies what: the cycle's allocation to associations",
    "listDeliveryOrders": "What each association brings to the collection centre",
    # joint purchase
    "createCampaign": "Start a joint purchase of an input (seed, fertiliser…)",
    "listCampaigns": "List joint purchases",
    "getCampaign": "Read a joint purchase",
    "addRequest": "Ask for a quantity in a joint purchase",
    # collection centre
    "getDeliveryOrder": "Read a delivery order",
    "getShipment": "Read a shipment",
    "createVehicle": "Add a vehicle to the collection centre",
    "listVehicles": "List the centre's vehicles",
    "getDeliveryWindow": "When the buyer takes deliveries",
    "getRoutes": "Read the cycle's delivery routes",
    # settlement
    "listCreditNotes": "List an invoice's credit notes",
    "listPayouts": "What each association is paid for the cycle",
    "exportPayouts": "The cycle's payouts as CSV",
    "listInvoices": "List invoices",
    "getInvoice": "Read an invoice",
    "networkDashboard": "The network's figures: sales, producers paid, women, fund",
}


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    """``place_order`` → ``placeOrder``: the route function's name in camelCase. Unique
    because the function names are (a test checks)."""
    return camel_case(route.name)


def default_summary(operation_id: str) -> str:
    """What FastAPI shows for a route that names no summary: its function's name in title
    case ("Place Order" for ``placeOrder``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", operation_id).title()


def apply_summaries(schema: dict[str, Any]) -> dict[str, Any]:
    """Give the operations whose route names no summary theirs from ``SUMMARIES``."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            summary = SUMMARIES.get(operation["operationId"])
            if summary and operation.get("summary") == default_summary(operation["operationId"]):
                operation["summary"] = summary
    return schema


OPERATION_ID_SHAPE = re.compile(r"^[a-z][A-Za-z0-9]*$")


def install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI), ``/redoc`` and their files under ``/static``; the app must be
    made with ``docs_url=None, redoc_url=None``."""
    openapi_url = app.openapi_url or "/api/v1/openapi.json"
    title = f"{app.title} API"
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="static")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{STATIC_URL}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC_URL}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{STATIC_URL}/swagger-ui/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            # no call to swagger.io's validator: the page stays offline
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{STATIC_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{STATIC_URL}/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        )

    app.add_api_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_api_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)
    app.add_api_route(REDOC_URL, redoc, include_in_schema=False)
