"""Every operation of the OpenAPI schema, fuzzed by schemathesis with every check it has
(`--checks all`), then its stateful phase: no 5xx, no status, header or body the operation
does not document, no schema-invalid request taken, no schema-valid one refused but for a rule
that JSON Schema cannot state (each listed with its reason), whoever asks.

Each generated request goes out as the platform admin and as a buyer's staff; where its path
or its (schema-valid) body names objects that exist (a small market, built once), it goes out
again with their real ids, so the fuzzed bodies and queries reach the services and the
database, not only the 404 of an unknown id. The state machine follows the links that
schemathesis infers from the schema, as each of them. Generation is derandomised and seeded:
CI runs the same cases every time. With ``MINGA_SCHEMATHESIS_TALLY`` set, each request is
written down; ``bench/robustness.py`` counts them (docs/robustness.md).

No operation is left out. The Stripe webhook gets a signing secret, so unsigned events must
be refused as 400 problems (without one the deployment answers 503 on purpose); the image
upload and the CSV import are fuzzed as multipart like the rest.

The schema is read at import from an app that touches no database (schemathesis' lazy
``from_fixture`` loader does not run on pytest 9.2); the app under test is a second instance
on the test database, served on schemathesis' own event-loop thread (its ASGI transport is
synchronous, so these tests are too); the market is built through the async client of the
other tests, on the session's app and loop.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from pydantic import SecretStr
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import CheckContext, CheckFunction, load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    object_level_authorization,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from app.core.config import Environment, Settings
from app.core.timeutil import utcnow
from app.main import bootstrap, create_app
from tests.brands.conftest import build_network
from tests.catalog.helpers import PNG
from tests.conftest import empty_tables
from tests.fulfilment.helpers import Floor, lot_code
from tests.orders.conftest import Market, build_market
from tests.utils import Api

Case = schemathesis.Case[Any]

pytestmark = pytest.mark.slow  # every operation fuzzed: minutes in all, seconds per operation

MAX_EXAMPLES = 10
# The stateful phase: scenarios of up to STEPS calls, each following a link that schemathesis
# infers from the schema (a list's ids → the object's operations, a POST's answer → …).
SCENARIOS = 80
STEPS = 8
# A file to append one JSON line per request sent (see bench/robustness.py); unset: nothing kept.
TALLY = os.environ.get("MINGA_SCHEMATHESIS_TALLY")

# Answers to schema-valid requests that positive_data_acceptance would call wrong, and why each
# is right: a rule that JSON Schema cannot state, or that depends on what the database holds.
# Any other rejection of a schema-valid request fails the test (a 422 `validation_error`: the
# published schema is looser than the validation, and must be fixed).
RULES_BEYOND_THE_SCHEMA: dict[str, str] = {
    # arithmetic, lists and comparisons that no JSON Schema keyword states
    "invalid_tax_id": "a RUC's or NIT's check digit is arithmetic on its other digits",
    "weak_password": "a password must not be a common one nor use fewer than 4 characters",
    "invalid_delivery_window": "a delivery window must close after it opens",
    "invalid_signature": "a webhook must be signed (HMAC of its body) with the shared secret",
    "invalid_cursor": "a cursor is opaque: only one that the service gave out can be read",
    "unsupported_image": "an upload must decode as a JPEG, PNG or WebP image, not only say so",
    "import_invalid": "an import must be a CSV of the template's columns with valid sheets",
    "invalid_gtin": "a GTIN's last digit is a check digit (GS1 mod 10)",
    "invalid_order": "one line per SKU (a key unique across items); the SKU offered in the cycle",
    "invalid_tiers": "price tiers start at quantity 0 and rise, each cheaper than the one before",
    "tier_below_producer_price": "no tier may cost less than the producer price beside it",
    "invalid_vehicle": "a vehicle's shift must end after it starts",
    "invalid_cycle": "a cycle closes after it opens and delivers after it closes",
    "invalid_receipt": "one line per lot code; SKUs and quantities of the delivery order",
    "invalid_returns": "one return per SKU, of the shipment, at most what was shipped",
    # what the database holds
    "not_an_association": "the organisation named exists but is not an association",
    "not_in_network": "the association named is not one of the network's",
    "not_pack_multiple": "a quantity must be a whole number of the SKU's packs",
    "invalid_campaign": "a campaign closes in the future, with distinct tiers from 0 or 1 pack; "
    "its requests come from the network's associations",
    "invalid_credit_note": "a credit note names lines and quantities of its invoice",
    "supplier_rules_failed": "the sheet named must meet the brand's rules (published, licensed…)",
    "not_an_approved_supplier": "the association named must be an approved supplier of the SKU",
    "card_payments_unavailable": "card payments need a Stripe key, which the deployment lacks",
    "idempotency_key_reused": "the same generated Idempotency-Key came with another body",
    "current_password_wrong": "a password change must give the account's current password",
    "account_token_invalid": "a reset or confirmation token is one that was mailed, unused",
    "notification_kind_unknown": "the keys of a notification choice are the kinds Minga sends",
    "notification_required": "account messages (reset links, invitations) cannot be turned off",
    "webhook_url_not_allowed": "a webhook URL must be http(s) on a host that resolves only to "
    "public addresses (no loopback, private, link-local… network)",
}
# Schema-valid requests refused as `validation_error` where the fix belongs to app/accounts,
# which another change is rewriting: (operation, field) → what the schema does not say.
PENDING_IN_ACCOUNTS: dict[tuple[str, str], str] = {
    ("POST /api/v1/organizations/{organization_id}/members", "email"): (
        "special-use domains (.test, .local, .invalid…) are refused; `format: email` takes them"
    ),
    ("POST /api/v1/auth/password-reset", "email"): "the same e-mail rule as the members'",
    ("POST /api/v1/me/email", "new_email"): "the same e-mail rule as the members'",
}


def _problem(response: Response) -> dict[str, Any]:
    """The problem+json body of an error answer ({} for any other answer)."""
    if (
        response.status_code < 400
        or "json" not in (response.headers.get("content-type") or [""])[0]
    ):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _problem_code(response: Response) -> str | None:
    code = _problem(response).get("code")
    return code if isinstance(code, str) else None


def accepts_positive_data(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """schemathesis' positive_data_acceptance, but for the rules listed above."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if _problem_code(response) in RULES_BEYOND_THE_SCHEMA or _pending(response, case):
            return None
        raise


def _pending(response: Response, case: Case) -> bool:
    if response.status_code != 422 or _problem_code(response) != "validation_error":
        return False
    fields = {error.get("field") for error in _problem(response).get("errors", [])}
    return bool(fields) and all((case.operation.label, f) in PENDING_IN_ACCOUNTS for f in fields)


CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    accepts_positive_data,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
    use_after_free,
    ensure_resource_availability,
    ignored_auth,
    object_level_authorization,
]
CONFIG = schemathesis.Config.from_dict(
    {"seed": 2026, "generation": {"database": "none", "deterministic": True}}
)


def _published_schema() -> schemathesis.BaseSchema:
    """The OpenAPI document the app publishes; no database is touched to get it."""
    app = create_app(
        Settings(
            environment=Environment.test,
            database_url="sqlite+aiosqlite://",
            log_level="WARNING",
            scheduler_enabled=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            argon2_parallelism=1,
            _env_file=None,
        )
    )
    return schemathesis.openapi.from_dict(app.openapi(), config=CONFIG)


schema = _published_schema()


@dataclass
class World:
    app: FastAPI
    identities: dict[str, dict[str, str]]  # who → the headers that say so
    ids: dict[str, str]  # path parameter (or body field) name → an object that exists


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    media = tmp_path_factory.mktemp("fuzzed-media")
    secret = SecretStr("whsec_fuzzing-only-secret")
    app = create_app(
        settings.model_copy(update={"media_dir": str(media), "stripe_webhook_secret": secret})
    )
    yield app
    asgi.shutdown_lifespans()  # its engine is disposed on the loop that used it


@pytest.fixture(scope="module")
async def emptied_afterwards(app: FastAPI) -> AsyncIterator[None]:
    """The module's rows go at its end even if building the world failed halfway: under xdist
    other tests run on the same database after these."""
    yield
    await empty_tables(app)


@pytest.fixture(scope="module")
async def world(
    app: FastAPI, fuzzed_app: FastAPI, emptied_afterwards: None
) -> AsyncIterator[World]:
    await bootstrap(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        api = Api(client)
        m = await build_market(await build_network(api))
        _, spare = await api.member(m.buyer["id"], role="staff")
        me = (await client.get("/api/v1/me", headers=spare)).json()
        product = await m.net.sheet()
        order = await m.order("2")
        assert order.status_code == 201, order.text
        standing = await client.post(
            "/api/v1/standing-orders",
            json={
                "buyer_id": m.buyer["id"],
                "network_id": m.net.network["id"],
                "lines": [{"sku_id": m.sku["id"], "quantity": "1"}],
                "payment_method": "invoice",
            },
            headers=m.buyer_staff,
        )
        assert standing.status_code == 201, standing.text
        campaign = await client.post(
            "/api/v1/purchase-campaigns",
            json={
                "network_id": m.net.network["id"],
                "supplier_name": "Agroinsumos del Centro",
                "item_name": "Abono orgánico",
                "unit": "kg",
                "pack_size": "25",
                "tiers": [{"min_packs": 1, "pack_price_cents": 1800}],
                "closes_at": (utcnow() + timedelta(days=3)).isoformat(),
            },
            headers=m.net.admin,
        )
        assert campaign.status_code == 201, campaign.text
        key = await client.post(
            f"/api/v1/organizations/{m.buyer['id']}/api-keys",
            json={"name": "Caja"},
            headers=await api.admin(),
        )
        hook = await client.post(
            "/api/v1/webhook-endpoints",
            json={
                "organization_id": m.buyer["id"],
                "url": "https://93.184.216.34/hook",  # a public literal address: no DNS
                "events": ["order.placed"],
            },
            headers=await api.admin(),
        )
        assert hook.status_code == 201, hook.text
        image = await client.post(
            f"/api/v1/products/{product['id']}/images",
            files={"file": ("queso.png", PNG, "image/png")},
            headers=m.net.association_staff,
        )
        suppliers = await client.get(f"/api/v1/skus/{m.sku['id']}/suppliers", headers=m.net.admin)
        ids = {
            "key_id": key.json()["id"],
            "endpoint_id": hook.json()["id"],
            "image_id": image.json()["id"],
            "supplier_id": suppliers.json()[0]["id"],
            **await _delivered_cycle(m),
            "organization_id": m.buyer["id"],
            "user_id": me["id"],
            "network_id": m.net.network["id"],
            "product_id": product["id"],
            "brand_id": m.net.brand["id"],
            "license_id": m.net.license["id"],
            "sku_id": m.sku["id"],
            "cycle_id": m.cycle["id"],
            "offer_id": m.offers["first"]["id"],
            "order_id": order.json()["id"],
            "standing_order_id": standing.json()["id"],
            "campaign_id": campaign.json()["id"],
            "buyer_id": m.buyer["id"],
            "centre_id": m.centre["id"],
            "association_id": m.net.association["id"],
            "invitation_id": (
                await client.post(
                    f"/api/v1/organizations/{m.buyer['id']}/members",
                    json={"email": "invitada@minga.ec", "full_name": "Invitada", "role": "staff"},
                    headers=await api.admin(),
                )
            ).json()["invitation_id"],
            "network_invitation_id": (
                await client.post(
                    f"/api/v1/networks/{m.net.network['id']}/associations",
                    json={"association_id": (await api.organization())["id"]},
                    headers=m.net.admin,
                )
            ).json()["invitation_id"],
        }
        yield World(fuzzed_app, {"admin": await api.admin(), "buyer": m.buyer_staff}, ids)


async def _delivered_cycle(m: Market) -> dict[str, str]:
    """A second cycle of the market, closed, received, packed, delivered and settled: the ids of its
    delivery order, lot, shipment and invoice."""
    closed = replace(m, cycle=await m.new_cycle(), offers={})
    await closed.offer(closed.cycle["id"], m.net.association["id"], "30", m.net.association_staff)
    floor = await Floor.start(closed)
    await floor.order("4")
    await floor.close()
    code = lot_code("FUZZ")
    await floor.received(floor.first, floor.allocated(floor.first), lot_code=code)
    [shipment] = await floor.build()
    await floor.deliver_all([shipment])
    settled = await m.client.post(
        f"/api/v1/cycles/{closed.cycle['id']}/settle", headers=m.net.admin
    )
    assert settled.status_code == 200, settled.text
    invoices = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": closed.cycle["id"]}, headers=m.net.admin
    )
    return {
        "delivery_order_id": floor.delivery_orders[floor.first]["id"],
        "lot_code": code,
        "shipment_id": shipment["id"],
        "invoice_id": invoices.json()["items"][0]["id"],
    }


def _call(case: Case, world: World, who: str, ids: str) -> None:
    headers = world.identities[who]
    response = case.call(headers=headers, app=world.app)
    _tally(case, response, who, ids)
    # with the app, ignored_auth can send its probes (no credentials, bad credentials) to it
    case.validate_response(
        response, checks=CHECKS, headers=headers, transport_kwargs={"app": world.app}
    )


def _tally(case: Case, response: Response, who: str, ids: str) -> None:
    if TALLY is None:
        return
    meta = case.meta
    problem = _problem(response)
    errors = problem.get("errors") or []
    record = {
        "operation": case.operation.label,
        "phase": meta.phase.name.value if meta else None,
        "mode": meta.generation.mode.value if meta else None,
        "as": who,
        "ids": ids,
        "status": response.status_code,
        "code": problem.get("code"),
        "fields": sorted({str(e.get("field") or e.get("rule")) for e in errors}),
        "detail": (errors[0].get("detail") if errors else problem.get("detail")),
    }
    with open(TALLY, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def test_every_check_of_schemathesis_runs() -> None:
    """`--checks all`: a check that a new schemathesis adds is added here too."""
    load_all_checks()
    registered = {check.__name__ for check in REGISTERED_CHECKS.get_all()}
    ours = {check.__name__ for check in CHECKS} - {"accepts_positive_data"}
    assert ours | {"positive_data_acceptance"} == registered


@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@schema.parametrize()
def test_operation(case: Case, world: World) -> None:
    for who in world.identities:
        _call(case, world, who, "generated")
    generated, body = dict(case.path_parameters or {}), case.body
    # a path made schema-invalid on purpose stays as it was made: a real id in its place
    # would make the request valid, and its acceptance no failure
    mutated_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    real = {} if mutated_path else {n: world.ids[n] for n in generated if n in world.ids}
    # a schema-valid body names real objects too; a schema-invalid one is left as it was made
    # (an id put in its place could make it valid)
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    real_body = _with_real_ids(body, world.ids) if positive else body
    if real or real_body != body:
        headers = case.headers
        case.path_parameters, case.body = {**generated, **real}, real_body
        if real_body != body and headers and "Idempotency-Key" in headers:
            # another body under the same key would be refused (422 idempotency_key_reused)
            case.headers = headers.copy()
            case.headers["Idempotency-Key"] = f"{headers['Idempotency-Key'][:250]}-real"
        try:
            for who in world.identities:
                _call(case, world, who, "real")
        finally:
            case.path_parameters, case.body, case.headers = generated, body, headers


# body fields whose objects have another name in the world's ids
BODY_IDS = {"collection_centre_id": "centre_id", "preferred_association_id": "association_id"}


def _with_real_ids(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every ``…_id`` text inside it that names a kind of object the world has
    replaced by that object's id."""
    if isinstance(value, list):
        return [_with_real_ids(item, ids) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        name = str(BODY_IDS.get(key, key))
        real = key.endswith("_id") and isinstance(item, str) and name in ids
        out[key] = ids[name] if real else _with_real_ids(item, ids)
    return out


def _workflow(world: World, who: str, failures: list[FailureGroup]) -> type[APIStateMachine]:
    """schemathesis' state machine of the schema, calling the app as ``who``; what its checks
    find goes to ``failures`` too."""
    headers = world.identities[who]

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        rule_order_seed = CONFIG.seed

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers, "app": world.app}

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            _tally(case, response, who, "linked")

        def validate_response(
            self,
            response: Response,
            case: Case,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            try:
                case.validate_response(
                    response,
                    checks=CHECKS,
                    headers=headers,
                    transport_kwargs={"app": world.app},
                    recorder=self.recorder,
                )
            except FailureGroup as failure:
                failures.append(failure)
                raise

    return Workflow


# The buyer first: what an admin does in the shared market (closing the cycle, suspending a
# licence) would leave the buyer less to reach.
@pytest.mark.parametrize("who", ["buyer", "admin"])
def test_stateful(world: World, who: str) -> None:
    failures: list[FailureGroup] = []
    workflow = _workflow(world, who, failures)
    try:
        workflow.run(
            settings=settings(
                max_examples=SCENARIOS,
                stateful_step_count=STEPS,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
        )
    except Flaky:
        # The market is one database that every step changes, so a scenario that Hypothesis
        # draws again from the same choices can find other answers, and other links to follow;
        # schemathesis' own stateful phase ends there too, with what it checked before. A
        # failure on the way is not lost: it is raised.
        if failures:
            raise failures[0] from None
