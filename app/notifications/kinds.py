"""The messages Minga sends, by kind: who can turn each off (``GET/PATCH /me/notifications``).

Account messages (a reset link, an invitation, an address to confirm) are always sent: they
answer something the person, or an admin for them, just asked for.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str
    description: str
    optional: bool = True


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("order_placed", "your organisation placed an order"),
        Kind("order_changed", "an order of your organisation changed"),
        Kind("order_cancelled", "an order of your organisation was cancelled"),
        Kind("order_confirmed", "an order was confirmed at the close, with every cut and why"),
        Kind("standing_order_placed", "a standing order placed this cycle's order"),
        Kind("standing_order_failed", "a standing order could not place this cycle's order"),
        Kind("cycle_opened", "a cycle of your network opened for orders"),
        Kind("cycle_closing", "a cycle closes in a few hours"),
        Kind("delivery_order", "what your association brings to the centre, and its pick list"),
        Kind("shipment_dispatched", "your goods are on their way, with the arrival time"),
        Kind("shipment_delivered", "your goods were delivered, with what was returned"),
        Kind("invoice_issued", "an invoice was issued (PDF attached)"),
        Kind("credit_note_issued", "a credit note was issued: what was taken back (PDF)"),
        Kind("payout_statement", "your association's payout statement"),
        Kind("joint_purchase_share", "your association's share of a joint purchase"),
        Kind("password_reset", "a link to choose a new password", optional=False),
        Kind("email_change", "a link to confirm a new e-mail address", optional=False),
        Kind("invitation", "an invitation to join an organisation", optional=False),
    )
}
