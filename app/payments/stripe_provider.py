"""Card payments through Stripe: one manual-capture PaymentIntent holds an order's money.

Every call carries the idempotency key the service derives from the order and the step, so a
retried step never moves money twice at Stripe. Raising the amount of an authorised intent is
not something Stripe offers for ordinary cards (only lowering it, or capturing less), so a
raise places a new hold for the new amount first and then releases the old one: the buyer is
never left without a valid hold, and a declined raise leaves the old hold in place.

The client pins ``STRIPE_API_VERSION``: from 2026-09-30.endive (the SDK's default) Stripe
refuses ``payment_method_types`` in favour of ``allowed_payment_method_types``, which the
Stripe-compatible test server (localstripe) does not know. The last Dahlia version accepts
``payment_method_types`` on both, so one request works against Stripe and the test server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

import stripe

from app.core.config import Settings
from app.core.i18n import _l
from app.core.problems import Problem
from app.orders.models import PaymentMethod
from app.payments.exceptions import (
    CardPaymentsUnavailable,
    PaymentDeclined,
    PaymentMethodRequired,
    PaymentNotChangeable,
    PaymentProviderError,
    PaymentProviderUnavailable,
)
from app.payments.models import AuthorizationStatus
from app.payments.providers import Authorization, Capture, Refund

log = logging.getLogger(__name__)

T = TypeVar("T")

STRIPE_API_VERSION = "2026-07-29.dahlia"
NETWORK_RETRIES = 2
HELD = "requires_capture"
CANCELLABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", HELD}
)


_clients: WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str | None], stripe.StripeClient]
] = WeakKeyDictionary()


def stripe_client(api_key: str, api_base: str | None = None) -> stripe.StripeClient:
    """One client (one pool of connections) per key, API base and running event loop.

    The pool of an httpx async client must not outlive its event loop (the CLI runs several).
    """
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get((api_key, api_base))
    if client is None:
        client = clients[(api_key, api_base)] = stripe.StripeClient(
            api_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses={"api": api_base} if api_base else None,
            http_client=stripe.HTTPXClient(),  # async requests over httpx
            max_network_retries=NETWORK_RETRIES,
        )
    return client


def _problem(error: stripe.StripeError) -> Problem:
    if isinstance(error, stripe.CardError):
        return PaymentDeclined(error.user_message or "The card was declined")
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderUnavailable()
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        log.error("Stripe refused our credentials: %s", error)
        return PaymentProviderError("The payment provider refused this deployment's key")
    return PaymentProviderError(f"Stripe: {error.user_message or error.code or 'error'}")


async def _call(request: Awaitable[T]) -> T:
    try:
        return await request
    except stripe.StripeError as error:
        raise _problem(error) from error


def _plain(obj: stripe.StripeObject) -> dict[str, Any]:
    # Read fields from a plain dict: a Stripe-compatible server may leave some out.
    return obj.to_dict()


def _ref(value: Any) -> str | None:
    """The id of an expandable field, whether Stripe sent the id or the object."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found is not None else None
    return str(value.id)


class StripeProvider:
    method = PaymentMethod.card

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider:
        key = settings.stripe_api_key.get_secret_value() if settings.stripe_api_key else ""
        if not key:
            raise CardPaymentsUnavailable()
        return cls(stripe_client(key, settings.stripe_api_base))

    async def authorize(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method_id: str | None,
        customer_ref: str | None,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Authorization:
        if not payment_method_id:
            raise PaymentMethodRequired()
        intent = await self._hold(
            amount_cents=amount_cents,
            currency=currency,
            payment_method_id=payment_method_id,
            customer_ref=customer_ref,
            idempotency_key=idempotency_key,
            metadata=metadata,
        )
        return Authorization(
            provider=self.method,
            status=AuthorizationStatus.authorized,
            amount_cents=amount_cents,
            currency=currency,
            external_ref=intent.id,
        )

    async def update_amount(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        """Hold ``amount_cents`` instead: a lower amount updates the PaymentIntent, a higher
        one places a replacement and releases the old hold."""
        ref = self._require_ref(authorization_ref)
        fields = await self._held(ref)
        current = int(fields["amount"])
        if amount_cents == current:
            return ref
        if amount_cents < current:
            await _call(
                self.client.v1.payment_intents.update_async(
                    ref, {"amount": amount_cents}, {"idempotency_key": idempotency_key}
                )
            )
            return ref
        replacement = await self.replace_hold(ref, amount_cents, idempotency_key=idempotency_key)
        await self._release(ref, idempotency_key=f"{idempotency_key}:release")
        return replacement

    async def replace_hold(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        """Place a hold of ``amount_cents`` on the card of the held PaymentIntent, leaving
        the old hold as it is: the caller records the new one, then releases the old."""
        ref = self._require_ref(authorization_ref)
        fields = await self._held(ref)
        replacement = await self._hold(
            amount_cents=amount_cents,
            currency=str(fields["currency"]),
            payment_method_id=self._require_ref(_ref(fields.get("payment_method"))),
            customer_ref=_ref(fields.get("customer")),
            idempotency_key=idempotency_key,
            metadata={str(k): str(v) for k, v in (fields.get("metadata") or {}).items()},
        )
        return replacement.id

    async def _held(self, ref: str) -> dict[str, Any]:
        intent = await _call(self.client.v1.payment_intents.retrieve_async(ref))
        fields = _plain(intent)
        if fields.get("status") != HELD:
            raise PaymentNotChangeable(
                _l(
                    "The card payment is {status}; its amount can no longer change",
                    status=fields.get("status"),
                )
            )
        return fields

    async def cancel(self, authorization_ref: str | None, *, idempotency_key: str) -> None:
        ref = self._require_ref(authorization_ref)
        try:
            await self.client.v1.payment_intents.cancel_async(
                ref, options={"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as error:
            # Cancelled before (a retry whose first answer was lost): that is the goal reached.
            if await self._status(ref) != "canceled":
                raise _problem(error) from error
        except stripe.StripeError as error:
            raise _problem(error) from error

    async def capture(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Capture:
        ref = self._require_ref(authorization_ref)
        try:
            intent = await self.client.v1.payment_intents.capture_async(
                ref, {"amount_to_capture": amount_cents}, {"idempotency_key": idempotency_key}
            )
        except stripe.InvalidRequestError as error:
            # Captured before (the first answer was lost, or Stripe's key memory expired).
            intent = await _call(self.client.v1.payment_intents.retrieve_async(ref))
            if _plain(intent).get("status") != "succeeded":
                raise _problem(error) from error
        except stripe.StripeError as error:
            raise _problem(error) from error
        fields = _plain(intent)
        received = fields.get("amount_received")
        return Capture(
            amount_cents=int(received) if received is not None else amount_cents,
            external_ref=_ref(fields.get("latest_charge")),
        )

    async def refund(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Refund:
        ref = self._require_ref(authorization_ref)
        refund = await _call(
            self.client.v1.refunds.create_async(
                {"payment_intent": ref, "amount": amount_cents},
                {"idempotency_key": idempotency_key},
            )
        )
        return Refund(amount_cents=int(_plain(refund)["amount"]), external_ref=refund.id)

    async def _hold(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method_id: str,
        customer_ref: str | None,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> stripe.PaymentIntent:
        """Create and confirm a manual-capture intent; anything but a hold is a decline."""
        params: dict[str, Any] = {
            "amount": amount_cents,
            "currency": currency.lower(),
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": dict(metadata),
        }
        if customer_ref:
            params["customer"] = customer_ref
        intent = await _call(
            self.client.v1.payment_intents.create_async(
                # The SDK's types follow its own (newer) API version; see STRIPE_API_VERSION.
                cast("stripe.params.PaymentIntentCreateParams", params),
                {"idempotency_key": idempotency_key},
            )
        )
        status = _plain(intent).get("status")
        if status == HELD:
            return intent
        await self._release(intent.id, idempotency_key=f"{idempotency_key}:release")
        if status == "requires_action":
            raise PaymentDeclined(
                "The card asks for the buyer's authentication (3-D Secure); use another card"
            )
        raise PaymentDeclined(
            _l("The card was not authorised (Stripe status {status})", status=status)
        )

    async def _release(self, ref: str, *, idempotency_key: str) -> None:
        """Best effort: an unreleased hold lapses at Stripe by itself after seven days."""
        try:
            intent = await self.client.v1.payment_intents.retrieve_async(ref)
            if _plain(intent).get("status") in CANCELLABLE:
                await self.client.v1.payment_intents.cancel_async(
                    ref, options={"idempotency_key": idempotency_key}
                )
        except stripe.StripeError:
            log.warning("could not release Stripe PaymentIntent %s", ref, exc_info=True)

    async def open_holds(self, *, created_before: int) -> list[tuple[str, str | None, int]]:
        """Uncaptured holds placed up to ``created_before`` (a Unix time): (PaymentIntent
        id, the order id in its metadata, the amount held), every page of them."""
        found: list[tuple[str, str | None, int]] = []
        params: dict[str, Any] = {"limit": 100}
        while True:
            page = await _call(self.client.v1.payment_intents.list_async(cast("Any", params)))
            for intent in page.data:
                plain = _plain(intent)
                if plain.get("status") != "requires_capture":
                    continue
                if int(plain.get("created") or 0) > created_before:
                    continue
                metadata = plain.get("metadata") or {}
                found.append(
                    (str(plain["id"]), metadata.get("order_id"), int(plain.get("amount") or 0))
                )
            if not page.has_more or not page.data:
                return found
            params = {"limit": 100, "starting_after": page.data[-1].id}

    async def _status(self, ref: str) -> str | None:
        intent = await _call(self.client.v1.payment_intents.retrieve_async(ref))
        status = _plain(intent).get("status")
        return str(status) if status is not None else None

    @staticmethod
    def _require_ref(ref: str | None) -> str:
        if not ref:
            raise PaymentNotChangeable("The card payment has no Stripe PaymentIntent")
        return ref
