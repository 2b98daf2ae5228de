"""Organisations that an organisation serves, as later domains know them.

A collection centre's staff receive goods from associations and deliver to buyers: they
need those organisations' names, addresses and phones. Only fulfilment knows which cycles
run through a centre, and accounts comes first in the domain order, so fulfilment's query
is installed here by ``app.flows.wiring`` (nothing is wired by importing a module).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.sql.selectable import SelectBase

# Given the caller's organisation ids, a one-column SELECT of the organisation ids they serve.
ServedQuery = Callable[[Sequence[str]], SelectBase]

_installed: list[ServedQuery] = []


def install(*queries: ServedQuery) -> None:
    _installed[:] = list(queries)


def conditions(organization_id: Any, own: Sequence[str]) -> list[Any]:
    """``organization_id IN (…)`` for each installed query: what the caller's organisations
    serve (nothing when none is wired, or the caller belongs to no organisation)."""
    if not own:
        return []
    return [organization_id.in_(query(own)) for query in _installed]
