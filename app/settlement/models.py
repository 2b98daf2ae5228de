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
    total_cents: int
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class InvoiceLine(SQLModel, table=True):
    __tablename__ = "invoice_lines"

    id: str = id_field()
    invoice_id: str = foreign_key("invoices.id", ondelete="CASCADE")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    unit_price_cents: int
    amount_cents: int
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class Payout(SQLModel, table=True):
    """What one association is paid for a cycle: accepted quantity x producer price."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("cycle_id", "association_id"),)

    id: str = id_field()
    cycle_id: str = foreign_key("order_cycles.id")
    network_id: str = foreign_key("organizations.id")
    association_id: str = foreign_key("organizations.id")
    currency: str = Field(sa_type=String(3))
    amount_cents: int
    created_at: datetime = timestamp()


class PayoutLine(SQLModel, table=True):
    __tablename__ = "payout_lines"

    id: str = id_field()
    payout_id: str = foreign_key("payouts.id", ondelete="CASCADE")
    sku_id: str = Field(max_length=36, foreign_key="brand_skus.id")
    product_id: str = Field(max_length=36)
    product_version: int
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    producer_price_cents: int
    amount_cents: int
    # the final unit price of the SKU in the cycle and how it splits, for transparency
    price_breakdown: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
