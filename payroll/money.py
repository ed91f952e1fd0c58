"""Money: integer fen inside, half-up rounding in one place.

The SQL macro `round_div(n, d)` divides two integers and rounds the exact quotient half-up (the
same as decimal.ROUND_HALF_UP for these non-negative amounts); every line item in the engine is
rounded through it exactly once.
"""
from __future__ import annotations

# n ≥ 0 and d > 0 always: amounts, rates and days are never negative (the loaders refuse negative
# figures, proration is clamped at 0). BIGINT holds fen × ppm × days (below 9.2e18); overtime,
# which multiplies hours and two ppm figures too, first reduces its constant fraction
# (rules/overtime.py) and casts to HUGEINT only if that fraction stays large.
ROUND_DIV_MACRO = """
CREATE OR REPLACE MACRO round_div(n, d) AS CAST((2 * n + d) // (2 * d) AS BIGINT)
"""


def round_div(n: int, d: int) -> int:
    """The macro in Python, for the figures made outside the monthly query (benefits of events,
    the base declaration): n ÷ d half-up, n ≥ 0 and d > 0 integers."""
    return (2 * n + d) // (2 * d)
