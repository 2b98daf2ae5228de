"""Money is integer minor units (cents). Every rounding here is a named rule, and every split
sums exactly to the amount it splits."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

BPS = 10_000  # basis points in a whole


def round_half_up(value: Fraction | Decimal | int) -> int:
    """Nearest integer, halves away from zero (the rounding of shop tills)."""
    exact = Fraction(value)
    quotient = Decimal(exact.numerator) / Decimal(exact.denominator)
    return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def bps_of(amount_cents: int, bps: int) -> int:
    """``bps`` basis points of an amount, rounded half up."""
    return round_half_up(Fraction(amount_cents * bps, BPS))


def cents_times(unit_cents: int, quantity: Decimal) -> int:
    """A unit price times a decimal quantity, rounded half up to the cent."""
    return round_half_up(Fraction(unit_cents) * Fraction(quantity))


def split_largest_remainder(
    total: int, weights: Sequence[int | Decimal | Fraction], *, order: Sequence[int] | None = None
) -> list[int]:
    """Split ``total`` units proportionally to ``weights`` (Hamilton's method).

    Each share gets the floor of its exact quota; the units left over go one each to the
    largest remainders, ties broken by ``order`` (a stable rank per weight, default the
    position). The shares sum exactly to ``total``; a zero weight gets nothing unless every
    weight is zero, which is refused.
    """
    if total < 0:
        raise ValueError("cannot split a negative total")
    if all(type(w) is int for w in weights):
        return _split_integers(total, weights, order)  # type: ignore[arg-type]
    exact = [Fraction(w) for w in weights]
    if any(w < 0 for w in exact):
        raise ValueError("weights must not be negative")
    whole = sum(exact, Fraction(0))
    if whole == 0:
        if total == 0:
            return [0] * len(exact)
        raise ValueError("cannot split a positive total over zero weights")
    quotas = [total * w / whole for w in exact]
    shares = [q.numerator // q.denominator for q in quotas]
    left = total - sum(shares)
    rank = list(order) if order is not None else list(range(len(exact)))
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(quotas[i] - shares[i]), rank[i]))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


def _split_integers(total: int, weights: Sequence[int], order: Sequence[int] | None) -> list[int]:
    """``split_largest_remainder`` for integer weights, in integers: every quota
    ``total * w / whole`` has the denominator ``whole``, so the floors and the remainders'
    order come from ``divmod`` alone (the same shares, without a Fraction per weight; the
    close splits pack steps thousands of times)."""
    if any(w < 0 for w in weights):
        raise ValueError("weights must not be negative")
    whole = sum(weights)
    if whole == 0:
        if total == 0:
            return [0] * len(weights)
        raise ValueError("cannot split a positive total over zero weights")
    parts = [divmod(total * w, whole) for w in weights]
    shares = [share for share, _ in parts]
    left = total - sum(shares)
    rank = list(order) if order is not None else list(range(len(weights)))
    by_remainder = sorted(range(len(weights)), key=lambda i: (-parts[i][1], rank[i]))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares
