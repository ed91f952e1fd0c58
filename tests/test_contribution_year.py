"""The contribution year per region (issue 14, part 4): a fund's base year starts on its row's
base_year_start (tables/social_insurance.csv, tables/housing_fund.csv); the base derived from pay
uses the twelve months before that start, and it switches in that month with nothing redone by hand.
"""
from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal

import pytest
import reference
from conftest import DATA, SHIPPED_TABLES, examples, run_engine
from hypothesis import given, settings
from test_reference_vs_engine import SLOW_OK, compare, scenario

from payroll.errors import InputError, PolicyError
from payroll.policy import load_policy


def _rewrite(path, start_for) -> None:
    """Add base_year_start to a table copy: start_for(row) gives the month-day or ''."""
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["base_year_start"] = start_for(row)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def july_tables(tmp_path_factory):
    """tables_simple with a July year for every insurance, and a July housing fund in city A
    (100100) while city B and the province keep the calendar year (the national fallback row)."""
    target = tmp_path_factory.mktemp("tables") / "tables_july"
    shutil.copytree(DATA / "tables_simple", target)
    _rewrite(target / "social_insurance.csv", lambda row: "07-01")
    _rewrite(target / "housing_fund.csv", lambda row: "07-01" if row["region_code"] == "100100" else "")
    return target


def nantong(employee_id: str, **extra) -> dict:
    return {"employee_id": employee_id, "name": employee_id, "region_code": "320600", "unit": "崇川分局",
            "category": "duty", "level": 3, "post": "PATROL", "hire_date": date(2015, 9, 1), "leave_date": None,
            "service_start": None, "special_deduction": Decimal(0), "contribution_base": None, **extra}


def test_a_july_base_switch_in_nantong():
    """Nantong's housing-fund year runs July → June (通金管〔2025〕50号; housing_fund.csv 320600
    base_year_start 07-01), its insurances the calendar year (social_insurance.csv 01-01).

    Paid from January 2025 with a 6,000.00 bonus in March, gross G every other month:
    - January to June, the housing-fund year began 2024-07-01 and the twelve months before it
      (2023-07 … 2024-06) hold no payslip: the base is the year's first whole month, January: G.
    - July starts the 2025 year: the twelve months before it (2024-07 … 2025-06) hold six payslips,
      (6 × G + 6,000.00) ÷ 6 = G + 1,000.00.
    - The insurances' year began 2025-01-01 and keeps January's G all along, July included.
    """
    rows = run_engine(SHIPPED_TABLES, [nantong("NT1")], {("NT1", "2025-03"): {"bonus": Decimal("6000")}},
                      "2025-01", "2025-07")
    month = {label: rows[("NT1", label)] for label in reference.month_range("2025-01", "2025-07")}
    g = month["2025-01"]["gross_pay"]
    assert all(month[m]["gross_pay"] == g for m in month if m != "2025-03")
    assert month["2025-03"]["gross_pay"] == g + 6000
    assert 2490 < g < 34000                     # between the housing-fund floor and ceiling: no clamp
    for label in ("2025-01", "2025-02", "2025-03", "2025-06"):
        assert month[label]["housing_fund_year_start"] == date(2024, 7, 1)
        assert month[label]["housing_fund_wage_source"] == "first_full_month"
        assert month[label]["housing_fund_base"] == g
    assert month["2025-07"]["housing_fund_year_start"] == date(2025, 7, 1)
    assert month["2025-07"]["housing_fund_year_months"] == 6
    assert month["2025-07"]["housing_fund_wage_source"] == "previous_year"
    assert month["2025-07"]["housing_fund_base"] == g + 1000
    # 12 % of the new base, half-up to the fen, on both sides (housing_fund.csv 320600 2025-07-01)
    assert month["2025-07"]["housing_fund_employee"] == ((g + 1000) * Decimal("0.12")).quantize(Decimal("0.01"))
    for label in month:
        assert month[label]["contribution_year_start"] == date(2025, 1, 1)
        assert month[label]["pension_base"] == max(g, Decimal("4952"))   # 2025 Jiangsu floor 4,952


def test_kunmings_medical_bounds_switch_on_1_september_2026():
    """云人社发〔2026〕8号: the 2026 bounds 4,403–22,017 apply to medical and maternity only from
    2026-09-01 (social_insurance.csv 530100 2026-09-01), to pension from January (530000 2026-01-01).
    A declared base of 3,000.00 sits below every floor: August medical 4,357 (the 2025 row),
    September 4,403; pension 4,403 in both."""
    person = nantong("KM1", region_code="530100", unit="五华分局", contribution_base=Decimal("3000"))
    rows = run_engine(SHIPPED_TABLES, [person], {}, "2026-08", "2026-09")
    august, september = rows[("KM1", "2026-08")], rows[("KM1", "2026-09")]
    assert (august["medical_base"], september["medical_base"]) == (Decimal("4357"), Decimal("4403"))
    assert (august["maternity_base"], september["maternity_base"]) == (Decimal("4357"), Decimal("4403"))
    assert august["pension_base"] == september["pension_base"] == Decimal("4403")
    # 7 % employer medical: 4,357 × 0.07 = 304.99; 4,403 × 0.07 = 308.21
    assert (august["medical_employer"], september["medical_employer"]) == (Decimal("304.99"), Decimal("308.21"))


def test_a_july_year_matches_the_reference_on_a_fixed_roster(july_tables):
    """Every path of the July year once: history before the start (previous_year from July), a hire
    whose first whole month is in the year, a partial first month, a declared base, and a city-B
    person whose housing fund keeps the calendar year."""
    d = date
    people = [dict(employee_id="J1", region_code="100100", category="duty", level=4, post="PATROL",
                   hire_date=d(2019, 5, 20), contribution_base=None),
              dict(employee_id="J2", region_code="100100", category="civilian", level=2, post="DESK",
                   hire_date=d(2024, 4, 16), contribution_base=None),
              dict(employee_id="J3", region_code="100200", category="duty", level=1, post="SWAT",
                   hire_date=d(2024, 6, 14), contribution_base=None),
              dict(employee_id="J4", region_code="100200", category="civilian", level=3, post="TECH",
                   hire_date=d(2020, 1, 1), contribution_base=Decimal("5000"))]
    for e in people:
        e.update(name=e["employee_id"], unit="U1", leave_date=None, service_start=None, special_deduction=Decimal(0))
    attendance = {("J1", "2024-05"): dict(bonus=Decimal("3000")), ("J3", "2024-07"): dict(unpaid_leave_days=Decimal(2))}
    compare(july_tables, people, attendance, reference.month_range("2024-04", "2024-08"))
    rows = reference.compute_year(people, attendance, july_tables, reference.month_range("2024-04", "2024-08"))
    assert rows[("J1", "2024-06")]["contribution_base_source"] == "first_full_month"
    assert rows[("J1", "2024-07")]["contribution_base_source"] == "previous_year"      # switched in July
    assert rows[("J3", "2024-06")]["contribution_base_source"] == "contract_month"
    assert rows[("J3", "2024-07")]["contribution_base_source"] == "previous_year"      # June's partial month
    assert rows[("J3", "2024-07")]["housing_fund_wage_source"] == "first_full_month"   # calendar year in city B


# CI: one random roster (the fixed roster above takes every path once); the thorough tier 2,000
@settings(max_examples=examples(1), **SLOW_OK)
@given(scenario(starts=("2024-04", "2024-05", "2024-06"), last="2024-08",
                window=(date(2024, 4, 1), date(2024, 8, 31))))
def test_engine_matches_reference_across_a_july_year(july_tables, case):
    compare(july_tables, *case)


def test_a_base_year_start_not_on_the_first_is_refused(tmp_path):
    target = tmp_path / "tables"
    shutil.copytree(DATA / "tables_simple", target)
    _rewrite(target / "housing_fund.csv", lambda row: "07-15" if row["region_code"] == "100100" else "")
    with pytest.raises(InputError) as error:
        load_policy(target)
    problem = error.value.problems[0]
    assert (problem.file, problem.row, problem.column) == ("housing_fund.csv", 3, "base_year_start")


def test_insurances_starting_their_years_apart_are_refused(tmp_path):
    target = tmp_path / "tables"
    shutil.copytree(DATA / "tables_simple", target)
    # city A's medical row (from 2025-02) starts in July, the province's other funds in January
    _rewrite(target / "social_insurance.csv", lambda row: "07-01" if row["region_code"] == "100100" else "")
    person = nantong("A1", region_code="100100", unit="U1", level=1)
    rows = run_engine(target, [person], {}, "2025-01", "2025-01")   # January: that row is not yet in force
    assert rows[("A1", "2025-01")]["contribution_year_start"] == date(2025, 1, 1)
    with pytest.raises(PolicyError, match="region 100100 in 2025-02 start their base year"):
        run_engine(target, [person], {}, "2025-02", "2025-02")
