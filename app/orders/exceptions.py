"""Errors of the orders domain, each with one status and a stable code."""

from __future__ import annotations

from app.core.i18n import Message
from app.core.problems import Conflict, InvalidInput, NotFound, Problem


class CycleNotFound(NotFound):
    code = "cycle_not_found"
    title = "Order cycle not found"


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "Order not found"


class OfferNotFound(NotFound):
    code = "offer_not_found"
    title = "Offer not found"


class StandingOrderNotFound(NotFound):
    code = "standing_order_not_found"
    title = "Standing order not found"


class CycleNotOpen(Conflict):
    code = "cycle_not_open"
    title = "The cycle is not open for orders"


class CycleNotEditable(Conflict):
    code = "cycle_closed"
    title = "The cycle no longer takes offers"


class InsufficientSupply(Conflict):
    code = "insufficient_supply"
    title = "Not enough supply for every line"


class OfferBelowReserved(Conflict):
    code = "offer_below_reserved"
    title = "Buyers have already reserved more than the lowered offer"


class OfferExists(Conflict):
    code = "offer_exists"
    title = "The association already offers this SKU in the cycle; change that offer"


class OrderNotChangeable(Conflict):
    code = "order_not_changeable"
    title = "The order can no longer be changed"


class OrderChangedMeanwhile(Conflict):
    """Another change of the order (or of its payment, or of the prices its lines get) landed
    between pricing this change and storing it; the flow retries a few times first."""

    code = "order_changed_meanwhile"
    title = "The order changed while this change was being made; read it again and retry"

    def __init__(self, detail: str | Message | None = None, **kwargs: object) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]


class InvalidCycle(InvalidInput):
    code = "invalid_cycle"
    title = "The cycle's dates or places are not valid"


class InvalidOrder(InvalidInput):
    code = "invalid_order"
    title = "The order is not valid"


class NotAnApprovedSupplier(InvalidInput):
    code = "not_an_approved_supplier"
    title = "The association is not an approved supplier of this SKU today"


class NotPackMultiple(InvalidInput):
    code = "not_pack_multiple"
    title = "Quantities go in whole packs of the SKU"


# The payment problems an order can meet. Orders declares them (they are part of placing an
# order); the payments domain, which provides the payment port, raises them.


class PaymentDeclined(Problem):
    status = 402
    code = "payment_declined"
    title = "The payment was declined"


class CardPaymentsUnavailable(InvalidInput):
    """422: the request asks for a method this deployment does not offer (no Stripe key).

    The client can fix it by choosing another payment method, like any other invalid choice;
    nothing about the order's state is in conflict.
    """

    code = "card_payments_unavailable"
    title = "Card payments are not available; pay by invoice or cash on delivery"


class PaymentMethodRequired(InvalidInput):
    code = "payment_method_required"
    title = "Card payments need a payment_method_id"
