"""Last year's gross pay, the figure behind the previous-year contribution base and 公告2020年第19号,
is Σ gross_pay of last year's payslips (docs/rules.md), tax-exempt disability allowance included.

Found by the test audit (research/test-audit.md F1): in January the engine took December's
income_ytd, which leaves the exempt allowance out, while people without a December payslip got
Σ gross_pay. A grade-5 person without a declared base then got a contribution base of 2,437.50
instead of 7,556.25 and the 60,000 No. 19 deduction wrongly.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import reference
from test_benefits_reference import compare_with_injuries, engine_with_injuries
from test_reference_vs_engine import TABLES

MONTHS = reference.month_range("2024-01", "2025-01")


def _injured_grade5():
    # region 100200, duty level 1, no declared base; injured 2024-03-10, grade 5, 1 month of
    # stoppage (March), no work arranged: regular pay stops from April 2024, the employer pays the
    # disability allowance April–December (tax-exempt, part of gross pay)
    return [dict(employee_id="G5", name="G5", region_code="100200", unit="U1", category="duty", level=1,
                 post="PATROL", hire_date=date(2020, 1, 6), leave_date=None, service_start=None,
                 special_deduction=Decimal(0), contribution_base=None,
                 injury=dict(event_date=date(2024, 3, 10), disability_grade=5, stoppage_months=1,
                             work_arranged=False))]


@pytest.fixture(scope="module")
def engine():
    """The engine's payslips of G5, 2024-01..2025-01, run once for both tests (they only read them)."""
    return engine_with_injuries(_injured_grade5(), {}, MONTHS)


def test_january_previous_year_gross_includes_the_exempt_allowance(engine):
    employees = _injured_grade5()
    rows = compare_with_injuries(employees, {}, MONTHS, engine)     # engine == reference on every payslip
    year = [rows[("G5", m)] for m in MONTHS[:12]]
    allowance = sum(r["injury_disability_allowance"] for r in year)
    gross = sum(r["gross_pay"] for r in year)
    assert allowance > 0                                     # the exempt income the old path left out
    january = rows[("G5", "2025-01")]
    # previous_year base = Σ gross_pay 2024 ÷ 12 payslips, half-up to the fen (not income_ytd ÷ 12)
    assert january["contribution_base_source"] == "previous_year"
    assert january["contribution_wage"] == (gross / 12).quantize(Decimal("0.01"))
    # by hand: Jan 10,080 + Feb 10,140 + Mar 10,140 (level 1 full pay; +60 seniority once the 4th
    # service year completes on 2024-01-06) + Apr–Dec 9 × 7,056.00 (allowance 0.7 × 本人工资 10,080) = 93,864.00;
    # ÷ 12 = 7,822.00. The old path took income_ytd = 30,360.00 (allowance left out): 2,530.00,
    # and 30,360 ≤ 60,000 made 公告2020年第19号 apply.
    assert 9 * Decimal("7056.00") == allowance and Decimal("0.7") * Decimal("10080.00") == Decimal("7056.00")
    assert gross == Decimal("93864.00") and january["contribution_wage"] == Decimal("7822.00")
    assert gross > 60000 and not january["no19_applies"]
    assert january["basic_deduction_ytd"] == Decimal("5000.00")


def test_stored_prior_year_gross_is_the_sum_of_gross_pay(engine):
    """The January payslip stores Σ gross_pay of last year (what explain and the carry test read)."""
    total = sum(Decimal(engine[("G5", m)]["gross_pay"]) for m in MONTHS[:12])
    assert Decimal(engine[("G5", "2025-01")]["prior_year_gross"]) == total
    assert Decimal(engine[("G5", "2024-12")]["income_ytd"]) < total      # income_ytd leaves the allowance out
