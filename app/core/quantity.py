"""Quantities are Decimals in the sale unit with a fixed scale of three places."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.core.i18n import N_

SCALE = Decimal("0.001")
MAX_QUANTITY = Decimal("1000000")

# The one spelling of a quantity as text: ASCII digits, at most one point and three places.
# Python's Decimal (and so pydantic's) would also take " 5 ", "+5", "5e2", "1_000" and the
# digits of any script (Arabic-Indic, full-width); a client that sends those has a bug.
PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,3})?$"
MAX_TEXT_LENGTH = 11
_TEXT = re.compile(PATTERN)


def _nonzero(digits: int) -> str:
    """1 to ``digits`` digits, not all of them 0 (a regular expression cannot count, so each
    number of leading zeros is spelled out)."""
    return (
        "(?:" + "|".join(f"{'0' * k}[1-9][0-9]{{0,{digits - k - 1}}}" for k in range(digits)) + ")"
    )


# The text spellings that the validation takes, as regular expressions for the OpenAPI
# document: ``PATTERN`` within the bounds (at most 1 000 000; above 0 for a positive one).
_FRACTION = r"(?:\.[0-9]{1,3})?"
_MILLION = r"1000000(?:\.0{1,3})?"
TEXT_PATTERN = rf"^(?:0?[0-9]{{1,6}}{_FRACTION}|{_MILLION})$"
POSITIVE_TEXT_PATTERN = rf"^(?:0?{_nonzero(6)}{_FRACTION}|0{{1,7}}\.{_nonzero(3)}|{_MILLION})$"


def quantize(value: Decimal | int | str) -> Decimal:
    """The quantity at scale 3, rounded half up (the named rule for quantities)."""
    try:
        return Decimal(value).quantize(SCALE, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"not a quantity: {value!r}") from None


def _check_text(value: Any) -> Any:
    """Text must be spelled as ``PATTERN`` says; numbers (JSON numbers) go on as they are."""
    if isinstance(value, str) and not _TEXT.fullmatch(value):
        raise PydanticCustomError(
            "quantity_format",
            'must be a decimal number such as "12.5": ASCII digits, at most one "." and '
            "3 decimal places; no sign, exponent, separators or spaces",
        )
    return value


def _check_scale(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError(N_("must be a finite number"))
    if value != value.quantize(SCALE, rounding=ROUND_HALF_UP):
        raise ValueError(N_("at most 3 decimal places"))
    return quantize(value)


def _input_schema(*, positive: bool) -> WithJsonSchema:
    """What clients may send, documented with its bounds in both spellings."""
    number: dict[str, object] = {
        "type": "number",
        "maximum": float(MAX_QUANTITY),
        "multipleOf": float(SCALE),  # at most 3 decimal places
    }
    number["exclusiveMinimum" if positive else "minimum"] = 0
    pattern = POSITIVE_TEXT_PATTERN if positive else TEXT_PATTERN
    text = {"type": "string", "pattern": pattern, "maxLength": MAX_TEXT_LENGTH}
    return WithJsonSchema({"anyOf": [number, text]}, mode="validation")


_AS_TEXT = PlainSerializer(lambda v: f"{v:.3f}", return_type=str, when_used="json")

# A quantity in API bodies: a decimal string or number, >= 0, at most 3 places; answered as
# a string such as "12.500" so that no client turns it into a float.
Quantity = Annotated[
    Decimal,
    Field(ge=0, le=MAX_QUANTITY, max_digits=10, decimal_places=3),
    BeforeValidator(_check_text),
    AfterValidator(_check_scale),
    _AS_TEXT,
    _input_schema(positive=False),
]
PositiveQuantity = Annotated[
    Decimal,
    Field(gt=0, le=MAX_QUANTITY, max_digits=10, decimal_places=3),
    BeforeValidator(_check_text),
    AfterValidator(_check_scale),
    _AS_TEXT,
    _input_schema(positive=True),
]


def is_multiple(quantity: Decimal, step: Decimal) -> bool:
    """True when ``quantity`` is a whole number of ``step``s (pack steps)."""
    return step > 0 and quantity % step == 0
