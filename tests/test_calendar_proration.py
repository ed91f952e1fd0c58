"""The official calendar (paid days = working days + statutory holidays) and proration by paid days.

Expected figures: /work/shared/research/peers-and-libs.md §3, table "Working/rest/statutory days per
month", checked by hand against the 国务院办公厅 holiday notices for 2025 and 2026.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import reference
from conftest import DATA, run_engine, run_payroll

from payroll import calendar as engine_calendar
from payroll.errors import PayrollError

# month -> (working, rest, statutory)
TABLE = {
    2025: [(19, 7, 5), (19, 9, 0), (21, 10, 0), (22, 7, 1), (19, 9, 3), (20, 10, 0),
           (23, 8, 0), (21, 10, 0), (23, 7, 0), (18, 9, 4), (20, 10, 0), (23, 8, 0)],
    2026: [(21, 9, 1), (16, 8, 4), (22, 9, 0), (21, 8, 1), (19, 10, 2), (21, 8, 1),
           (23, 8, 0), (21, 10, 0), (22, 7, 1), (18, 10, 3), (21, 9, 0), (23, 8, 0)],
}
STATUTORY = {
    2025: {date(2025, 1, 1), date(2025, 1, 28), date(2025, 1, 29), date(2025, 1, 30), date(2025, 1, 31),
           date(2025, 4, 4), date(2025, 5, 1), date(2025, 5, 2), date(2025, 5, 31), date(2025, 10, 1),
           date(2025, 10, 2), date(2025, 10, 3), date(2025, 10, 6)},
    2026: {date(2026, 1, 1), date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
           date(2026, 4, 5), date(2026, 5, 1), date(2026, 5, 2), date(2026, 6, 19), date(2026, 9, 25),
           date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)},
}
TABLES = DATA / "tables_simple"


@pytest.mark.parametrize("year", [2025, 2026])
def test_paid_days_per_month(year):
    expected = [work + statutory for work, rest, statutory in TABLE[year]]
    assert [engine_calendar.paid_days(year, m) for m in range(1, 13)] == expected
    assert [reference.paid_days(year, m) for m in range(1, 13)] == expected
    assert sum(expected) == 248 + 13


@pytest.mark.parametrize("year", [2025, 2026])
def test_day_kinds_per_month(year):
    kinds = dict(engine_calendar.year_days(year))
    mine = reference.calendar_year(year)
    for m, (work, rest, statutory) in enumerate(TABLE[year], start=1):
        days = [d for d in kinds if d.month == m]
        count = lambda kind: sum(1 for d in days if kinds[d] == kind)  # noqa: E731
        assert (count(engine_calendar.WORKDAY), count(engine_calendar.RESTDAY),
                count(engine_calendar.STATUTORY)) == (work, rest, statutory), f"{year}-{m:02d}"
        assert [mine[d] for d in sorted(days)] == [
            {engine_calendar.WORKDAY: "work", engine_calendar.RESTDAY: "rest",
             engine_calendar.STATUTORY: "statutory"}[kinds[d]] for d in sorted(days)]


@pytest.mark.parametrize("year", [2025, 2026])
def test_thirteen_statutory_days(year):
    engine_days = {d for d, kind in engine_calendar.year_days(year) if kind == engine_calendar.STATUTORY}
    reference_days = {d for d, kind in reference.calendar_year(year).items() if kind == "statutory"}
    assert engine_days == reference_days == STATUTORY[year]
    assert len(engine_days) == 13


def test_eleven_statutory_days_before_2025():
    assert sum(1 for _, kind in engine_calendar.year_days(2024) if kind == engine_calendar.STATUTORY) == 11


def test_makeup_workdays_and_substituted_days_off():
    kinds = dict(engine_calendar.year_days(2025))
    assert kinds[date(2025, 1, 26)] == engine_calendar.WORKDAY      # Sunday, 调休 make-up day
    assert kinds[date(2025, 2, 8)] == engine_calendar.WORKDAY       # Saturday, make-up day
    assert kinds[date(2025, 2, 3)] == engine_calendar.RESTDAY       # Monday, day off moved from 1/26
    assert kinds[date(2025, 6, 2)] == engine_calendar.RESTDAY       # Monday, 补休 for Saturday 5/31
    assert kinds[date(2025, 5, 31)] == engine_calendar.STATUTORY    # Saturday, Dragon Boat: paid


def test_a_year_without_published_calendar_is_refused():
    with pytest.raises(PayrollError, match="2027"):
        engine_calendar.paid_days(2027, 1)
    with pytest.raises(reference.ReferenceError):
        reference.paid_days(2027, 1)


def test_run_refuses_2027_through_the_api():
    from payroll.db import connect, table_exists
    from payroll.engine.run import run_months
    from conftest import policy_for
    con = connect(":memory:")
    with pytest.raises(PayrollError, match="2027"):
        run_months(con, policy_for(str(TABLES)), "2026-12", "2027-01")
    assert not table_exists(con, "payslips") or con.execute("SELECT count(*) FROM payslips").fetchone()[0] == 0


def test_run_refuses_2027_through_the_cli(tmp_path):
    db = tmp_path / "x.duckdb"
    result = run_payroll("run", "--db", db, "--tables", TABLES, "--month", "2027-01")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "2027" in result.stderr


# ---- proration by paid days, worked by hand ------------------------------------------------------
# tables_simple/pay_scale.csv row "000000,2020-01-01,civilian,1,8500": base_pay_full 8,500.
# base_pay = round(8,500 × (E/P − L/21.75)).

CASES = [
    # (hire, leave, month, unpaid leave, E, P, base_pay)
    # hired Mon 2025-01-27: 1/27 work + 1/28–31 statutory = 5 of 24; 8,500 × 5/24 = 1,770.833…
    (date(2025, 1, 27), None, "2025-01", 0, 5, 24, "1770.83"),
    # hired Mon 2025-02-03, a day off moved from 1/26: 2/1–2/4 are all rest days, so 19 of 19
    (date(2025, 2, 3), None, "2025-02", 0, 19, 19, "8500.00"),
    # hired Sat 2025-05-31, Dragon Boat Festival (statutory, paid): 1 of 22; 8,500/22 = 386.363…
    (date(2025, 5, 31), None, "2025-05", 0, 1, 22, "386.36"),
    # hired Sun 2025-09-28, a make-up working day: 9/28, 9/29, 9/30 = 3 of 23; 8,500 × 3/23 = 1,108.695…
    (date(2025, 9, 28), None, "2025-09", 0, 3, 23, "1108.70"),
    # hired Sat 2025-03-29: 3/29, 3/30 rest, 3/31 work = 1 of 21; 8,500/21 = 404.761…
    (date(2025, 3, 29), None, "2025-03", 0, 1, 21, "404.76"),
    # leaves Wed 2025-10-08 (a day off): 10/1–3 and 10/6 statutory, 10/7–8 days off = 4 of 22; 1,545.4545…
    (date(2020, 1, 1), date(2025, 10, 8), "2025-10", 0, 4, 22, "1545.45"),
    # whole month with 1 day unpaid leave: 8,500 × (1 − 1/21.75) = 8,500 × 20.75/21.75 = 8,109.195…
    (date(2020, 1, 1), None, "2025-11", 1, 20, 20, "8109.20"),
    # hired 1/27 and half a day unpaid: 8,500 × (5/24 − 0.5/21.75) = 1,770.833… − 195.402… = 1,575.431…
    (date(2025, 1, 27), None, "2025-01", Decimal("0.5"), 5, 24, "1575.43"),
]


@pytest.mark.parametrize("hire, leave, month, unpaid, employed, in_month, base_pay", CASES)
def test_proration_by_paid_days(hire, leave, month, unpaid, employed, in_month, base_pay):
    employee = {"employee_id": "P1", "name": "P1", "region_code": "100200", "unit": "U", "category": "civilian",
                "level": 1, "post": "TECH", "hire_date": hire, "leave_date": leave, "service_start": None,
                "special_deduction": Decimal(0), "contribution_base": None}
    attendance = {("P1", month): {"unpaid_leave_days": Decimal(unpaid)}} if unpaid else {}
    row = run_engine(TABLES, [employee], attendance, month, month)[("P1", month)]
    assert (row["paid_days_employed"], row["paid_days_in_month"]) == (employed, in_month)
    assert row["base_pay"] == Decimal(base_pay)
    ref = reference.compute_year([employee], attendance, TABLES, [month])[("P1", month)]
    assert (ref["paid_days_employed"], ref["paid_days_in_month"], ref["base_pay"]) == (employed, in_month,
                                                                                      Decimal(base_pay))
