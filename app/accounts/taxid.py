"""Tax ids checked with python-stdnum: Ecuador RUC (13 digits) and cédula (10), Colombia NIT."""

from __future__ import annotations

from stdnum.co import nit
from stdnum.ec import ci, ruc
from stdnum.exceptions import ValidationError

from app.accounts.models import Country


def normalize_tax_id(country: Country, value: str) -> str:
    """The compact, valid form of ``value``; raises ``ValueError`` with the reason."""
    try:
        if country is Country.EC:
            compact: str = ci.compact(value)
            if len(compact) == 10:
                return str(ci.validate(compact))
            return str(ruc.validate(compact))
        return str(nit.validate(value))
    except ValidationError as exc:
        name = "RUC or cédula" if country is Country.EC else "NIT"
        raise ValueError(f"not a valid {name}: {exc}") from None
