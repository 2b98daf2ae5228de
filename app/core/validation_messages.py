"""Pydantic's validation messages as catalogue messages, so a 422 reads in the request's language.

Pydantic renders its messages in English only; each error also carries its ``type`` and the
values of its template (``ctx``), from which the same sentence is built as a ``Message``.
The English msgids are pydantic's own wording, so an English answer reads as before. A type
not listed here shows pydantic's text, looked up by msgid (the static messages of our own
``PydanticCustomError``s are in the catalogue), else as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from app.core.i18n import N_, Message, N_plural, lazy_gettext, lazy_ngettext


class Plural(NamedTuple):
    forms: tuple[str, str]  # singular, plural
    by: str  # the ctx value that picks the form


SINGLE: Mapping[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "decimal_type": N_("Decimal input should be an integer, float, string or Decimal object"),
    "decimal_parsing": N_("Input should be a valid decimal"),
    "finite_number": N_("Input should be a finite number"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_attributes_type": N_(
        "Input should be a valid dictionary or object to extract fields from"
    ),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "date_type": N_("Input should be a valid date"),
    "date_parsing": N_("Input should be a valid date in the format YYYY-MM-DD, {error}"),
    "date_from_datetime_parsing": N_("Input should be a valid date or datetime, {error}"),
    "datetime_type": N_("Input should be a valid datetime"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}"),
    "datetime_from_date_parsing": N_("Input should be a valid datetime or date, {error}"),
    "timezone_aware": N_("Input should have timezone info"),
    "uuid_parsing": N_("Input should be a valid UUID, {error}"),
    "url_parsing": N_("Input should be a valid URL, {error}"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "value_error": N_("Value error, {error}"),
    "assertion_error": N_("Assertion failed, {error}"),
}

PLURAL: Mapping[str, Plural] = {
    "string_too_short": Plural(
        N_plural(
            "String should have at least {min_length} character",
            "String should have at least {min_length} characters",
        ),
        "min_length",
    ),
    "string_too_long": Plural(
        N_plural(
            "String should have at most {max_length} character",
            "String should have at most {max_length} characters",
        ),
        "max_length",
    ),
    "too_short": Plural(
        N_plural(
            "{field_type} should have at least {min_length} item after validation, "
            "not {actual_length}",
            "{field_type} should have at least {min_length} items after validation, "
            "not {actual_length}",
        ),
        "min_length",
    ),
    "too_long": Plural(
        N_plural(
            "{field_type} should have at most {max_length} item after validation, "
            "not {actual_length}",
            "{field_type} should have at most {max_length} items after validation, "
            "not {actual_length}",
        ),
        "max_length",
    ),
    "decimal_max_places": Plural(
        N_plural(
            "Decimal input should have no more than {decimal_places} decimal place",
            "Decimal input should have no more than {decimal_places} decimal places",
        ),
        "decimal_places",
    ),
    "decimal_max_digits": Plural(
        N_plural(
            "Decimal input should have no more than {max_digits} digit in total",
            "Decimal input should have no more than {max_digits} digits in total",
        ),
        "max_digits",
    ),
}


def _params(ctx: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in ctx.items():
        if isinstance(value, Exception):
            # a validator's ValueError: its static messages are in the catalogue (N_)
            params[key] = Message(str(value))
        else:
            params[key] = value
    return params


def validation_message(error: Mapping[str, Any]) -> Message:
    """The message of one pydantic error (an item of ``ValidationError.errors()``)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    params = _params(ctx)
    plural = PLURAL.get(kind)
    if plural is not None and isinstance(ctx.get(plural.by), int):
        return lazy_ngettext(*plural.forms, ctx[plural.by], **params)
    template = SINGLE.get(kind)
    if template is not None:
        try:
            template.format(**params)
        except (KeyError, IndexError):  # a context this pydantic does not give: its own text
            return Message(str(error.get("msg", "invalid")))
        return lazy_gettext(template, **params)
    return Message(str(error.get("msg", "invalid")))
