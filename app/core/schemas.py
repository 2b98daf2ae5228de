"""The base of every request body: unknown fields refused, and no text that the database
cannot store or that no person typed.

PostgreSQL refuses NUL characters in text (and the row would be lost with a 500); lone
surrogates cannot be encoded as UTF-8 at all; other control characters have no business in
a name or a note. Each is answered as a 422 naming the field, whatever model it is in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

# C0 controls but tab, line feed and carriage return; DEL; UTF-16 surrogates.
FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def check_text(value: str) -> str:
    if FORBIDDEN_CHARACTERS.search(value):
        raise PydanticCustomError(
            "forbidden_character",
            "must not contain NUL, control characters or unpaired surrogates",
        )
    return value


# Text in a query, path or form parameter: the same characters are refused as in bodies.
PlainText = Annotated[str, AfterValidator(check_text)]


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


class Strict(BaseModel):
    """A request body: extra fields are an error, text is checked for forbidden characters."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_forbidden_characters(cls, value: Any) -> Any:
        _check_nested(value)
        return value
