"""Plain data of the joint sale allocation, and the pack-step arithmetic the algorithms share.

Quantities are ``Decimal`` in the SKU's sale unit; the algorithms count in whole pack steps
(integers) and turn the result back into quantities only at the end, so that nothing is lost
to rounding on the way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Policy(StrEnum):
    """How a SKU's demand is shared among the associations that offered it."""

    proportional = "proportional"
    equal_share = "equal_share"
    income_equalizing = "income_equalizing"
    per_member_equalizing = "per_member_equalizing"


# The share of what ``proportional`` would give each association that ``per_member_equalizing``
# guarantees it (a network setting; the networks asked that no one be starved).
DEFAULT_FLOOR_SHARE = Decimal("0.5")


@dataclass(frozen=True)
class Offer:
    """What one association can supply of a SKU in a cycle.

    ``min_delivery``: below this quantity the association would rather deliver nothing (a
    trip to the collection centre is not worth it); 0 means any quantity is fine.
    """

    offer_id: str
    association_id: str
    capacity: Decimal
    min_delivery: Decimal = Decimal(0)


@dataclass(frozen=True)
class Pin:
    """A buyer line's preferred association and the quantity it asked for."""

    association_id: str
    quantity: Decimal


@dataclass(frozen=True)
class Allocation:
    """The quantity an offer must deliver.

    ``pinned`` is the part of ``quantity`` that serves buyers who asked for this association;
    ``minimum_waived`` is true when the offer delivers less than its ``min_delivery`` because
    the demand could not be served otherwise (see ``allocate``).
    """

    offer_id: str
    association_id: str
    quantity: Decimal
    pinned: Decimal = Decimal(0)
    minimum_waived: bool = False


def check_step(step: Decimal) -> None:
    """Refuse a pack step that is not a positive finite number."""
    if not step.is_finite() or step <= 0:
        raise ValueError(f"the pack step must be positive, not {step}")


def check_quantity(name: str, value: Decimal) -> None:
    """Refuse a quantity that is negative or not a finite number."""
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite quantity >= 0, not {value}")


def _ratio(quantity: Decimal, step: Decimal) -> tuple[int, int]:
    """``quantity / step`` as an integer numerator and a positive denominator (exact; plain
    integers, as fractions.Fraction would be slower on the allocation's hot path)."""
    qn, qd = quantity.as_integer_ratio()
    sn, sd = step.as_integer_ratio()
    return qn * sd, qd * sn


def steps_down(quantity: Decimal, step: Decimal) -> int:
    """Whole pack steps in ``quantity``, rounded down (what can really be delivered)."""
    numerator, denominator = _ratio(quantity, step)
    return numerator // denominator


def steps_up(quantity: Decimal, step: Decimal) -> int:
    """Whole pack steps that cover ``quantity``, rounded up."""
    numerator, denominator = _ratio(quantity, step)
    return -(-numerator // denominator)


def exact_steps(name: str, quantity: Decimal, step: Decimal) -> int:
    """Pack steps in ``quantity``, which must be a whole number of steps."""
    numerator, denominator = _ratio(quantity, step)
    if numerator % denominator:
        raise ValueError(f"{name} {quantity} is not a multiple of the pack step {step}")
    return numerator // denominator


def quantity_of(units: int, step: Decimal) -> Decimal:
    """The quantity of ``units`` pack steps (exact: a Decimal product of an int)."""
    return units * step
