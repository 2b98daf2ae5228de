"""The arrows of DESIGN.md point one way: a domain imports only earlier domains and core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
ORDER = [
    "jobs",
    "events",
    "notifications",
    "accounts",
    "catalog",
    "brands",
    "orders",
    "payments",
    "aggregation",
    "fulfilment",
    "settlement",
    "webhooks",
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


# --- one owner for an order line's life ----------------------------------------------------

# Columns of orders and order lines that change after placing: only the lifecycle sets them.
ORDER_STATE = {
    "confirmed_quantity",
    "final_unit_price_cents",
    "delivered_quantity",
    "billed_quantity",
    "credited_quantity",
    "final_total_cents",
    "cancelled_at",
    "payment_issue",
}
ORDER_TABLES = {"Order", "OrderLine"}
LIFECYCLE = APP / "orders" / "lifecycle.py"


def _order_table_aliases(tree: ast.AST) -> set[str]:
    """Names bound to the orders' tables in a module (``_lines = OrderLine.__table__``)."""
    aliases = set(ORDER_TABLES)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            mentioned = {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name)}
            if mentioned & ORDER_TABLES:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                aliases |= {t.id for t in targets if isinstance(t, ast.Name)}
    return aliases


def order_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    aliases = _order_table_aliases(tree)
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in ORDER_STATE:
                found.append(f"line {node.lineno}: sets .{target.attr}")
            if (
                isinstance(target, ast.Attribute)
                and target.attr == "status"
                and "order" in ast.unparse(target.value).lower()
            ):
                found.append(f"line {node.lineno}: sets {ast.unparse(target)}")
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).split(".")[-1]
            if name in {"update", "delete"} and node.args:
                first = node.args[0]
                if isinstance(first, ast.Name) and first.id in aliases:
                    found.append(f"line {node.lineno}: {name}({first.id})")
    return found


def test_only_the_lifecycle_writes_orders_after_placing() -> None:
    assert order_writes(LIFECYCLE), "the guard must see the lifecycle's own writes"
    for path in APP.rglob("*.py"):
        if path == LIFECYCLE:
            continue
        wrong = order_writes(path)
        assert not wrong, f"{path.relative_to(APP)} writes orders outside the lifecycle: {wrong}"


def test_only_flows_imports_every_domain() -> None:
    flows = set()
    for path in (APP / "flows").rglob("*.py"):
        flows |= imported_packages(path)
    for package in sorted(p for p in APP.iterdir() if p.is_dir() and p.name != "__pycache__"):
        imported: set[str] = set()
        for path in package.rglob("*.py"):
            if package.name != "flows" and "flows" in imported_packages(path):
                assert path.name == "router.py" or package.name in {"api", "demo"}, (
                    f"{path.relative_to(APP)}: only routers (the HTTP edge) call flows"
                )
            imported |= imported_packages(path) - {package.name}
        if package.name not in {"flows", "api", "demo"}:
            assert not set(ORDER) <= imported | {package.name}, (
                f"{package.name} imports every domain: that is the work of app/flows"
            )
    assert {"orders", "payments", "settlement", "aggregation"} <= flows
