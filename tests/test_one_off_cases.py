"""Issue 20: the earlier-separate-bonus lookup of payroll/rules/one_off.py, worked by hand.

A second annual bonus taxed apart in one year is refused (国税发〔2005〕9号 art. 3), so the run
looks for a bonus taxed apart in an earlier month of the same year. Ordinary payslips earlier in
the year, or a bonus taxed apart last year, must not count. Tables and person: tests/test_year_end.py
(Hohhot's H1 on the shipped tables, without annual-leave payouts).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import run_engine
from test_hand_computed import HOHHOT
from test_year_end import SHIPPED_TABLES, bonus

from payroll.errors import PayrollError


def test_ordinary_payslips_earlier_in_the_year_do_not_block_a_bonus_taxed_apart():
    # H1 paid an ordinary November 2025 (no bonus), then a 36,000 bonus in December asked to be
    # taxed apart: November is no earlier separate bonus, so December is taxed apart:
    # 36,000 ÷ 12 = 3,000, not above 3,000 → 3 %, quick deduction 0 → 1,080.00
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-11", "2025-12",
                      payments={("H1", "2025-12"): bonus("36000", "separate")})
    assert rows[("H1", "2025-11")]["annual_bonus_separate"] == 0
    december = rows[("H1", "2025-12")]
    assert december["annual_bonus_method"] == "separate"
    assert december["iit_annual_bonus"] == Decimal("1080.00")


def test_a_bonus_taxed_apart_last_year_does_not_block_this_years():
    # 10,000 taxed apart in December 2024 (10,000 ÷ 12 = 833.33 → 3 % → 300.00), then 36,000 taxed
    # apart in January 2025: a new year, one bonus taxed apart in it → 36,000 × 3 % = 1,080.00
    payments = {("H1", "2024-12"): bonus("10000", "separate"), ("H1", "2025-01"): bonus("36000", "separate")}
    rows = run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2024-12", "2025-01", payments=payments)
    assert rows[("H1", "2024-12")]["iit_annual_bonus"] == Decimal("300.00")
    january = rows[("H1", "2025-01")]
    assert january["annual_bonus_method"] == "separate"
    assert january["iit_annual_bonus"] == Decimal("1080.00")


def test_a_bonus_taxed_apart_in_january_blocks_a_second_in_february():
    # January 2025 is in the year: 10,000 taxed apart then, 20,000 asked to be taxed apart in
    # February is a second one in the year → refused (国税发〔2005〕9号 art. 3)
    payments = {("H1", "2025-01"): bonus("10000", "separate"), ("H1", "2025-02"): bonus("20000", "separate")}
    with pytest.raises(PayrollError, match="second annual bonus taxed separately"):
        run_engine(SHIPPED_TABLES, [HOHHOT], {}, "2025-01", "2025-02", payments=payments)
