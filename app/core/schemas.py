"""The base of every request body: unknown fields refused, and no text that the database
cannot store or that no person typed.

PostgreSQL refuses NUL characters in text (and the row would be lost with a 500); lone
surrogates cannot be encoded as UTF-8 at all; other control characters have no business in
a name or a note. Each is answered as a 422 naming the field, whatever model it is in.

The OpenAPI document says so too: every text of a body, and every ``PlainText`` parameter,
carries a ``pattern`` without those characters, and a text that is stripped before it is
measured says so in its pattern, so that what the schema calls valid is what the validation
takes (a fuzzer that follows the schema finds no request refused for its spelling).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# C0 controls but tab, line feed and carriage return; DEL; UTF-16 surrogates.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

# The same, for the OpenAPI document (JSON Schema strings are Unicode: no lone surrogates).
_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
TEXT_PATTERN = rf"^[^{_FORBIDDEN}]*$"
# What pydantic's ``strip_whitespace`` takes away (Unicode White_Space); \v and \f, forbidden
# inside a text, go with it at its ends.
_SPACE = r"\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_ALLOWED = f"[^{_FORBIDDEN}]"
_EDGE = f"[^{_SPACE}{_FORBIDDEN}]"
# a string schema with any of these says what it takes already
_SHAPED = frozenset({"format", "enum", "const", "contentMediaType"})


def stripped_text_pattern(min_length: int, max_length: int | None) -> str:
    """Text that is stripped, then measured: any white space around, and between the first and
    the last other character, ``min_length`` to ``max_length`` characters, none forbidden. (The
    length of what is sent is not the length that is checked, so it is told here, not in
    ``minLength``/``maxLength``.)"""
    if max_length == 1:
        content = _EDGE
    else:
        inner = f"{{{max(min_length - 2, 0)},{'' if max_length is None else max_length - 2}}}"
        content = (
            f"{_EDGE}(?:{_ALLOWED}{inner}{_EDGE})?"
            if min_length <= 1
            else (f"{_EDGE}{_ALLOWED}{inner}{_EDGE}")
        )
    optional = "?" if min_length == 0 else ""
    return f"^[{_SPACE}]*(?:{content}){optional}[{_SPACE}]*$"


def check_text(value: str) -> str:
    if FORBIDDEN_CHARACTERS.search(value):
        raise PydanticCustomError(
            "forbidden_character",
            "must not contain NUL, control characters or unpaired surrogates",
        )
    return value


def document_text(core: Any, schema: Any) -> None:
    """Give the string schemas in ``schema`` (a field's, an item's, a nullable's) the pattern of
    what the validation takes, read from the field's pydantic ``core`` schema: the characters
    that ``check_text`` refuses, and what stripping does to lengths and patterns."""
    if not isinstance(schema, dict):
        return
    kind = core.get("type")
    if kind in ("default", "function-after", "function-before", "function-wrap"):
        document_text(core["schema"], schema)
    elif kind == "nullable":
        arms = [arm for arm in schema.get("anyOf", [schema]) if arm != {"type": "null"}]
        if len(arms) == 1:
            document_text(core["schema"], arms[0])
    elif kind == "list":
        document_text(core.get("items_schema", {}), schema.get("items"))
    elif kind == "str" and schema.get("type") == "string" and not _SHAPED & schema.keys():
        pattern = schema.get("pattern")
        if core.get("strip_whitespace"):
            if pattern is None:
                schema["pattern"] = stripped_text_pattern(
                    schema.pop("minLength", 0), schema.pop("maxLength", None)
                )
            elif pattern.startswith("^") and pattern.endswith("$"):
                # the pattern bounds what is left once stripped; what is sent may be longer
                schema.pop("minLength", None)
                schema.pop("maxLength", None)
                schema["pattern"] = f"^[{_SPACE}]*(?:{pattern[1:-1]})[{_SPACE}]*$"
        elif pattern is None:
            schema["pattern"] = TEXT_PATTERN


class _DocumentedText:
    """An ``Annotated`` marker: the parameter's schema gets the text pattern."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if schema.get("type") == "string" and "pattern" not in schema:
            schema["pattern"] = TEXT_PATTERN
        return schema


# Text in a query, path or form parameter: the same characters are refused as in bodies.
PlainText = Annotated[str, AfterValidator(check_text), _DocumentedText]


def _check_nested(value: Any) -> None:
    """Strings anywhere inside a field's value; nested models check their own fields."""
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_nested(key)
            _check_nested(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _check_nested(item)


# Validation context for a body that is not JSON (a CSV row: every value is text), where the
# lax readings of pydantic are the point: ``Model.model_validate(row, context=TEXT_VALUES)``.
TEXT_VALUES = {"text_values": True}


def _as_text_values(info: core_schema.ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("text_values"))


def _json_integer(value: Any, info: core_schema.ValidationInfo) -> Any:
    if isinstance(value, bool | str) and not _as_text_values(info):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value  # an int, or a number such as 5.0 that JSON Schema calls an integer too


def _json_number(value: Any, info: core_schema.ValidationInfo) -> Any:
    if isinstance(value, bool | str) and not _as_text_values(info):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


def _json_boolean(value: Any, info: core_schema.ValidationInfo) -> Any:
    if not isinstance(value, bool) and not _as_text_values(info):
        raise PydanticCustomError("bool_type", "Input should be a valid boolean")
    return value


def _json_text(value: Any, info: core_schema.ValidationInfo) -> Any:
    if isinstance(value, bool | int | float):
        raise PydanticCustomError("string_type", "Input should be a string")
    return value  # a text (ISO 8601), or a date or time that Python code passes


_WRAPPERS = {
    "int": _json_integer,
    "float": _json_number,
    "bool": _json_boolean,
    "date": _json_text,
    "datetime": _json_text,
    "time": _json_text,
}


def _as_json_types(schema: Any, cls: type) -> None:
    """The integers, numbers, booleans and dates of a body as JSON Schema reads them: pydantic's
    lax mode would take "5" or false for 5, 0 or "yes" for false, and 0 for 1970-01-01, which
    the schema refuses."""
    if isinstance(schema, list):
        for item in schema:
            _as_json_types(item, cls)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind == "definition-ref" or (kind == "model" and schema.get("cls") is not cls):
        return  # another model, which does this for itself
    if kind in _WRAPPERS:
        inner = dict(schema)
        schema.clear()
        schema.update(core_schema.with_info_before_validator_function(_WRAPPERS[kind], inner))
        return
    if kind == "function-before" and schema["function"].get("function") in _WRAPPERS.values():
        return
    for value in schema.values():
        _as_json_types(value, cls)


class Strict(BaseModel):
    """A request body: extra fields are an error, text is checked for forbidden characters,
    numbers and booleans are JSON's."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[BaseModel], handler: GetCoreSchemaHandler, /
    ) -> CoreSchema:
        schema = handler(source)
        _as_json_types(schema, cls)
        return schema

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        model: Any = core_schema
        while model.get("type") != "model" and "schema" in model:  # validators wrap it
            model = model["schema"]
        properties = handler.resolve_ref_schema(schema).get("properties", {})
        for name, field in model.get("schema", {}).get("fields", {}).items():
            alias = field.get("validation_alias")
            document_text(
                field["schema"], properties.get(alias if isinstance(alias, str) else name)
            )
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _no_forbidden_characters(cls, value: Any) -> Any:
        _check_nested(value)
        return value
