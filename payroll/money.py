"""Money: integer fen inside, half-up rounding in one place.

Half-up here means half away from zero, the same as decimal.ROUND_HALF_UP. The SQL macro
`round_div(n, d)` divides two integers and rounds the exact quotient that way; every line item in
the engine is rounded through it exactly once.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")

# n ≥ 0 and d > 0 always: amounts, rates and days are never negative (the loaders refuse negative
# figures, proration is clamped at 0). BIGINT holds fen × ppm × days (below 9.2e18); overtime,
# which multiplies hours and two ppm figures too, casts to HUGEINT before calling it.
ROUND_DIV_MACRO = """
CREATE OR REPLACE MACRO round_div(n, d) AS CAST((2 * n + d) // (2 * d) AS BIGINT)
"""


def round_fen(amount: Decimal | int | str) -> Decimal:
    """Round a yuan amount half-up to the fen."""
    return Decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def yuan_to_fen(amount: Decimal | int | str) -> int:
    value = Decimal(amount)
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)
