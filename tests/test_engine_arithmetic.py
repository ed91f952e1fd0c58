"""The overtime rule's SQL keeps 64-bit integers by reducing its constant fraction first, and falls
back to 128-bit arithmetic when the reduced numerator is large. Both paths against exact fractions
rounded half-up (劳社部发〔2008〕3号: hourly wage = base ÷ 21.75 ÷ 8)."""
from __future__ import annotations

from fractions import Fraction

import duckdb
import pytest

from payroll.money import ROUND_DIV_MACRO
from payroll.rules.overtime import RULES


def _half_up(value: Fraction) -> int:
    return int((2 * value.numerator + value.denominator) // (2 * value.denominator))


@pytest.mark.parametrize("days_ppm, hours_ppm, rate_ppm", [
    (21_750_000, 8_000_000, 1_500_000),     # the shipped figures: reduced to 1/11600, 64-bit path
    (21_750_000, 8_000_000, 3_000_000),
    (20_830_000, 8_000_000, 1_500_000),     # 20.83 days: 3/33328, still 64-bit
    (21_750_000, 8_000_000, 1_234_567),     # an odd rate: numerator stays large, 128-bit path
])
def test_overtime_pay_is_the_exact_fraction_rounded_once(days_ppm, hours_ppm, rate_ppm):
    rule = next(r for r in RULES if r.name == "overtime_workday_pay")
    con = duckdb.connect()
    con.execute(ROUND_DIV_MACRO)
    cases = [(base, hours) for base in (0, 1, 250_000, 1_087_500, 2_345_678, 99_999_999)
             for hours in (0, 1, 25, 350, 4_000, 74_400)]
    con.execute("CREATE TABLE t (overtime_base BIGINT, overtime_workday_hours BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?)", cases)
    found = con.execute(
        f"SELECT overtime_base, overtime_workday_hours, {rule.sql} FROM (SELECT *, "
        f"CAST({days_ppm} AS BIGINT) AS pay_days_per_month, CAST({hours_ppm} AS BIGINT) AS hours_per_day, "
        f"CAST({rate_ppm} AS BIGINT) AS overtime_workday_rate FROM t) ORDER BY ALL").fetchall()
    for base, hours, pay in found:
        # base fen × hours/100 × rate/1e6 ÷ (days/1e6 × hours_per_day/1e6)
        exact = Fraction(base) * Fraction(hours, 100) * Fraction(rate_ppm, 10**6) / (
            Fraction(days_ppm, 10**6) * Fraction(hours_ppm, 10**6))
        assert pay == _half_up(exact), (base, hours)
    assert len(found) == len(cases)
