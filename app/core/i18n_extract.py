"""Babel extractor of the ``messages`` domain (babel.cfg): what the API says, read from the code.

Besides the usual gettext calls (``gettext``, ``ngettext``, ``N_``, ``_l``, ``lazy_gettext``,
``lazy_ngettext``, ``Message``) it takes, so that the raise sites stay as they are written:

- the ``title`` of every problem class (``title = "Order not found"`` in a class body);
- the literal ``detail`` of a raised problem: ``raise OrderNotFound("No order …")``, the
  branches of a conditional there, and the ``"detail"`` strings of its ``errors=[{…}]``;
- the message of a ``PydanticCustomError(type, "message")``.

Those static strings are translated by msgid when the problem is rendered. Builtin exceptions
(``ValueError`` …) are internal and not extracted. Calls of another domain's helpers
(``Domain("documents").gettext``, an attribute call) or with ``domain="other"`` are left to
that domain's extraction.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Collection, Iterator
from typing import IO, Any

from app.core.i18n import DEFAULT_DOMAIN

GETTEXT_CALLS = frozenset(
    {"_", "gettext", "N_", "_l", "lazy_gettext", "Message", "ngettext", "lazy_ngettext", "N_plural"}
)
PLURAL_CALLS = frozenset({"ngettext", "lazy_ngettext", "N_plural"})
NOT_PROBLEMS = frozenset({"PydanticCustomError"})  # its message is its second argument
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)

# (line, babel keyword, msgid or (singular, plural), comments): the keyword picks the
# arguments, None for one message, "ngettext" for a plural pair
Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _strings(node: ast.expr | None) -> Iterator[tuple[int, str]]:
    """Literal strings of a detail argument: a constant, or each branch of ``a if c else b``."""
    if node is None:
        return
    text = _string(node)
    if text is not None:
        yield node.lineno, text
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _other_domain(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "domain":
            return _string(keyword.value) != DEFAULT_DOMAIN
    return False


def _gettext_call(call: ast.Call) -> Iterator[Extracted]:
    if not isinstance(call.func, ast.Name) or call.func.id not in GETTEXT_CALLS:
        return
    if _other_domain(call):
        return
    name = call.func.id
    if name in PLURAL_CALLS:
        singular, plural = (
            (_string(a) for a in call.args[:2]) if len(call.args) >= 2 else (None,) * 2
        )
        if singular and plural:
            yield call.lineno, "ngettext", (singular, plural), []
        return
    text = _string(call.args[0]) if call.args else None
    if text is not None:
        yield call.lineno, None, text, []


def _raised_problem(call: ast.Call) -> Iterator[Extracted]:
    name = _call_name(call)
    if name is None or name in BUILTIN_EXCEPTIONS or name in NOT_PROBLEMS:
        return
    detail = call.args[0] if call.args else None
    for keyword in call.keywords:
        if keyword.arg == "detail":
            detail = keyword.value
    for lineno, text in _strings(detail):
        yield lineno, None, text, []
    for keyword in call.keywords:
        if keyword.arg != "errors":
            continue
        for node in ast.walk(keyword.value):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _string(key) == "detail":
                        for lineno, text in _strings(value):
                            yield lineno, None, text, []


def _titles(tree: ast.AST) -> Iterator[Extracted]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign):
                targets, value = [statement.target], statement.value
            if any(isinstance(t, ast.Name) and t.id == "title" for t in targets):
                text = _string(value)
                if text is not None:
                    yield statement.lineno, None, text, []


def extract(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: dict[str, Any],
) -> Iterator[Extracted]:
    """Babel's extractor interface: (line, function, message or (singular, plural), comments)."""
    tree = ast.parse(fileobj.read())
    yield from _titles(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            yield from _raised_problem(node.exc)
        elif isinstance(node, ast.Call):
            yield from _gettext_call(node)
            if _call_name(node) == "PydanticCustomError" and len(node.args) >= 2:
                for lineno, text in _strings(node.args[1]):
                    yield lineno, None, text, []
