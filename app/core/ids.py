"""Opaque, time-ordered identifiers (UUIDv7, RFC 9562) so that ids sort by creation, and the
shape that request bodies give ids (see ``app.api.ids`` for paths and queries).

Ids are opaque strings (API.md): clients must not rely on their being UUIDs, and an unknown
id answers 404 like one of another organisation's. So the pattern admits what an opaque,
URL-safe id may contain — ASCII letters, digits, ``-`` and ``_``, at most 36 — and refuses
with a 422 what no id can be (spaces, dots, quotes, slashes, other scripts, control
characters), before anything reaches the database or a header such as
``Content-Disposition``. The schema says what the validation takes, so a client (or a fuzzer)
that follows it sends no id that is refused for its spelling.

Ids that a payment provider makes (Stripe's ``pm_…``, ``pi_…``, ``evt_…``) are longer and
not ours: ``ProviderId`` takes what Stripe documents, letters, digits and ``_``, at most 255.
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[A-Za-z0-9_-]{1,36}$"
PROVIDER_ID_PATTERN = r"^[A-Za-z0-9_]+$"
MAX_PROVIDER_ID = 255

# an id in a request body
Id = Annotated[str, Field(min_length=1, max_length=36, pattern=ID_PATTERN)]
ProviderId = Annotated[
    str, Field(min_length=1, max_length=MAX_PROVIDER_ID, pattern=PROVIDER_ID_PATTERN)
]


def new_id() -> str:
    unix_ms = time.time_ns() // 1_000_000
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | rand_a << 64
    value |= 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))
