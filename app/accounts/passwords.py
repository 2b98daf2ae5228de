"""The password policy, one rule for every place a password is set (a member's account, the
first platform admin, ``minga admin create``).

NIST SP 800-63B's advice: length over composition rules, and no password that attackers try
first — the common ones, and the ones made of the account's own name. A password is refused
when it is shorter than ``MIN_LENGTH``; is one of ``common_passwords.txt``, or one of those
with digits or symbols around it, or in leetspeak; has fewer than ``MIN_DISTINCT`` different
characters; or contains the account's e-mail address or the part before the ``@``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from app.core.problems import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 128
MIN_DISTINCT = 4
# A local part this short ("ana@…") appears by chance in many good passwords; it is refused
# only as the whole password (which the length rule already covers).
MIN_LOCAL_PART = 4

_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s"})
_LEET.update(str.maketrans({"5": "s", "7": "t", "+": "t"}))


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = "The password is too easy to guess"


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("app.accounts").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def _is_common(folded: str) -> bool:
    common = common_passwords()
    core = _EDGES.sub("", folded)
    candidates = {folded, core, folded.translate(_LEET), core.translate(_LEET)}
    candidates.add(_EDGES.sub("", folded.translate(_LEET)))
    return bool(candidates & common)


def weakness(password: str, *, email: str | None = None) -> str | None:
    """Why ``password`` is refused, in a sentence for the person choosing it; ``None`` if fine."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters"
    folded = password.casefold()
    if len(set(folded)) < MIN_DISTINCT:
        return f"The password must use at least {MIN_DISTINCT} different characters"
    if _is_common(folded):
        return "The password is one of the most common passwords; choose a less obvious one"
    if email:
        address = email.strip().casefold()
        local = address.partition("@")[0]
        if address in folded or (len(local) >= MIN_LOCAL_PART and local in folded):
            return "The password must not contain your e-mail address or its name part"
    return None


def check_password(password: str, *, email: str | None = None, field: str = "password") -> None:
    """Raise ``WeakPassword`` (422 ``weak_password``) naming the reason."""
    reason = weakness(password, email=email)
    if reason is not None:
        raise WeakPassword(reason, errors=[{"field": field, "detail": reason}])
