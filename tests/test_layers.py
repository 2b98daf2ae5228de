"""The arrows of DESIGN.md point one way: a domain imports only earlier domains and core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
ORDER = [
    "accounts",
    "catalog",
    "brands",
    "orders",
    "payments",
    "aggregation",
    "fulfilment",
    "settlement",
]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n.split(".")[1] for n in names if n.startswith("app.") and n.count(".") >= 1}


@pytest.mark.parametrize("domain", ORDER)
def test_domains_import_only_earlier_domains(domain: str) -> None:
    later = set(ORDER[ORDER.index(domain) + 1 :])
    for path in (APP / domain).rglob("*.py"):
        # routers are the HTTP edge: they alone may use the shared dependencies of app.api
        forbidden = later if path.name == "router.py" else later | {"api"}
        wrong = imported_packages(path) & forbidden
        assert not wrong, f"{path.relative_to(APP)} imports {sorted(wrong)}"


def test_core_imports_no_domain() -> None:
    for path in (APP / "core").rglob("*.py"):
        wrong = imported_packages(path) & (set(ORDER) | {"api"})
        assert not wrong, f"{path.relative_to(APP)} imports {sorted(wrong)}"
