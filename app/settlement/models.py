"""Tables of settlement: buyer invoices numbered per network, association payout statements."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import foreign_key, id_field, timestamp


class InvoiceCounter(SQLModel, table=True):
    """The last invoice number of a network. Taken under the row's lock inside the settling
    transaction, so numbers never skip (a rollback gives the number back) nor repeat."""

    __tablename__ = "invoice_counters"

    network_id: str = Field(max_length=36, foreign_key="organizations.id", primary_key=True)
    last_number: int = 0
    # credit notes are numbered apart, gapless too
    last_credit_number: int = 0


class Invoice(SQLModel, table=True):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("network_id", "sequence"), UniqueConstraint("order_id"))

    id: str = id_field()
    network_id: str = foreign_key("organizations.id")
    cycle_id: str = foreign_key("order_cycles.id")
    buyer_id: str = foreign_key("organizations.id")
    order_id: str = Field(max_length=36, foreign_key="orders.id")
    sequence: int
    number: str = Field(max_length=40)
    issued_at: datetime = timestamp()
    due_on: date
    currency: str = Field(sa_type=String(3))
    payment_method: str = Field(sa_type=String(24))
    purchase_order_number: str | None = Field(default=None, max_length=64)
    # the lines' amounts plus their taxes
    total_cents: int
    tax_cents: int = 0
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_lines"

    id: str = id_field()
    invoice_id: str = foreign_key("invoices.id", ondelete="CASCADE")
    order_line_id: str | None = Field(default=None, max_length=36, foreign_key="order_lines.id")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    # billed: the weighed quantity for variable-weight goods
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    # what was delivered, by the piece or the nominal weight
    nominal_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    weighed: bool = False
    unit_price_cents: int
    amount_cents: int
    # the network's rate for the SKU's category at settlement, and the tax on the amount
    tax_rate_bps: int = 0
    tax_cents: int = 0
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class InvoiceLineShare(SQLModel, table=True):
    """The part of an invoice line that one association supplied, and its producer share.

    The line's producer share is split once among its suppliers (largest remainder, by the
    billed quantity of their lots); payouts add these up, so what invoices say producers get
    is what payouts pay, to the cent.
    """

    __tablename__ = "invoice_line_shares"
    __table_args__ = (UniqueConstraint("invoice_line_id", "association_id"),)

    id: str = id_field()
    invoice_line_id: str = foreign_key("invoice_lines.id", ondelete="CASCADE")
    invoice_id: str = foreign_key("invoices.id", ondelete="CASCADE")
    cycle_id: str = foreign_key("order_cycles.id")
    association_id: str = foreign_key("organizations.id")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    nominal_quantity: Decimal = Field(max_digits=14, decimal_places=3)
    producer_cents: int


class CreditNote(SQLModel, table=True):
    """What an invoice takes back after settlement (a return found later), numbered apart."""

    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("network_id", "sequence"),)

    id: str = id_field()
    network_id: str = foreign_key("organizations.id")
    cycle_id: str = foreign_key("order_cycles.id")
    invoice_id: str = foreign_key("invoices.id")
    order_id: str = Field(max_length=36, foreign_key="orders.id")
    buyer_id: str = foreign_key("organizations.id")
    sequence: int
    number: str = Field(max_length=40)
    issued_at: datetime = timestamp()
    issued_by_user_id: str | None = Field(default=None, max_length=36)
    currency: str = Field(sa_type=String(3))
    payment_method: str = Field(sa_type=String(24))
    total_cents: int
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    # card orders: the refund at the provider, made after the note is stored
    refund_status: str = Field(default="not_required", sa_type=String(16))


class CreditNoteLine(SQLModel, table=True):
    __tablename__ = "credit_note_lines"

    id: str = id_field()
    credit_note_id: str = foreign_key("credit_notes.id", ondelete="CASCADE")
    invoice_line_id: str = foreign_key("invoice_lines.id")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    unit_price_cents: int
    amount_cents: int
    tax_cents: int = 0  # the invoice line's tax that goes back with it
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=500)


class PayoutAdjustment(SQLModel, table=True):
    """A correction of an association's pay after its cycle was settled (its share of a
    credit note, negative), deducted from its next payout; ``payout_id`` says which."""

    __tablename__ = "payout_adjustments"

    id: str = id_field()
    network_id: str = foreign_key("organizations.id")
    association_id: str = foreign_key("organizations.id")
    origin_cycle_id: str = foreign_key("order_cycles.id")
    credit_note_id: str | None = Field(default=None, max_length=36, foreign_key="credit_notes.id")
    amount_cents: int
    reason: str = Field(max_length=500)
    payout_id: str | None = Field(default=None, max_length=36, foreign_key="payouts.id")
    created_at: datetime = timestamp()


class Payout(SQLModel, table=True):
    """What one association is paid for a cycle: the producer shares of what its lots were
    billed for (``gross_cents``), plus earlier cycles' adjustments deducted here."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("cycle_id", "association_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id")
    network_id: str = foreign_key("organizations.id")
    association_id: str = foreign_key("organizations.id")
    currency: str = Field(sa_type=String(3))
    amount_cents: int
    gross_cents: int = 0
    adjustments_cents: int = 0
    created_at: datetime = timestamp()


class PayoutLine(SQLModel, table=True):
    __tablename__ = "payout_lines"

    id: str = id_field()
    payout_id: str = foreign_key("payouts.id", ondelete="CASCADE")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    product_id: str = Field(max_length=36)
    product_version: int
    # billed (weighed for variable-weight goods), and the nominal figure beside it
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    nominal_quantity: Decimal | None = Field(default=None, max_digits=14, decimal_places=3)
    producer_price_cents: int
    amount_cents: int
    # the final unit price of the SKU in the cycle and how it splits, for transparency
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
