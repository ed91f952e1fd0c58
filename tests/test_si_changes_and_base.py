"""Issue 19: the month's joiners and leavers per fund (增减员), and the annual base declaration
(基数申报) derived from last year's pay as the engine derives it, with the clamp to floor and ceiling."""
from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from conftest import SHIPPED_TABLES, policy_for, run_engine

from payroll.db import connect
from payroll.reports.contributions import FUNDS
from payroll.reports.si_base import base_declaration, export_si_base
from payroll.reports.si_changes import export_si_changes, si_changes


def person(employee_id: str, hire: str, leave: str | None = None, **extra) -> dict:
    return {"employee_id": employee_id, "region_code": "320600", "unit": "崇川分局", "category": "duty", "level": 7,
            "post": "PATROL", "hire_date": hire, "leave_date": leave, **extra}


def test_a_month_with_three_joiners_and_two_leavers_gives_exactly_those_rows(tmp_path):
    roster = [person("A1", "2020-01-01"), person("A2", "2018-06-01"),
              person("J1", "2025-03-03"), person("J2", "2025-03-10"), person("J3", "2025-03-31"),
              person("L1", "2019-01-01", "2025-03-15"), person("L2", "2021-01-01", "2025-03-31"),
              person("F1", "2019-01-01", "2025-02-28"),          # left in February: not March's change
              person("P1", "2025-04-01")]                         # joins in April
    con = connect(":memory:")
    run_engine(SHIPPED_TABLES, roster, {}, "2025-03", "2025-03", con=con)
    rows = si_changes(con, "2025-03")
    assert {(r["employee_id"], r["change"]) for r in rows} == {
        ("J1", "增员"), ("J2", "增员"), ("J3", "增员"), ("L1", "减员"), ("L2", "减员")}
    assert len(rows) == 5 * len(FUNDS)                            # one row per person and fund
    bases = dict(con.execute("SELECT employee_id, CAST(pension_base AS VARCHAR) FROM payslips").fetchall())
    for r in rows:
        if r["fund_key"] == "pension":
            assert r["base"] == Decimal(bases[r["employee_id"]])
        assert r["fee_month"] == "2025-03"
    export = export_si_changes(con, "2025-03", tmp_path / "si.csv", "csv")
    assert (export.joiners, export.leavers) == (3, 2)
    with open(export.path, encoding="utf-8-sig") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == 30 and {w["申报类型"] for w in written} == {"增员", "减员"}


@pytest.fixture(scope="module")
def last_year():
    """2024 run for four people: one paid far below the floor (20 days' unpaid leave a month), one far
    above the ceiling (a 400,000 bonus in June), one in between, one with a declared base."""
    roster = [person("LOW", "2015-01-01"), person("HIGH", "2015-01-01"), person("MID", "2015-01-01"),
              person("DECL", "2015-01-01", contribution_base=Decimal("6000.00"))]
    attendance = {("LOW", f"2024-{m:02d}"): {"unpaid_leave_days": 20} for m in range(1, 13)}
    attendance[("HIGH", "2024-06")] = {"bonus": 400000}
    con = connect(":memory:")
    run_engine(SHIPPED_TABLES, roster, attendance, "2024-01", "2024-12", con=con)
    return con


def test_base_declaration_clamps_at_the_floor_and_the_ceiling(last_year):
    con = last_year
    rows = {(r["employee_id"], r["fund_key"]): r for r in base_declaration(con, policy_for(str(SHIPPED_TABLES)), 2025)}
    # issue 14: Nantong's housing-fund year starts on 1 July (housing_fund.csv base_year_start), so
    # January declares the five insurances only
    assert ("LOW", "housing_fund") not in rows
    for fund in (f for f in FUNDS if f != "housing_fund"):
        low, high, mid = rows[("LOW", fund)], rows[("HIGH", fund)], rows[("MID", fund)]
        assert low["clamp"] == "floor" and low["base"] == low["floor"] > low["wage"]
        assert high["clamp"] == "ceiling" and high["base"] == high["ceiling"] < high["wage"]
        assert mid["clamp"] == "" and mid["base"] == mid["wage"]
        assert rows[("DECL", fund)]["wage"] == 600000                # the declared base, in fen
    # the wage is the 2024 average, half-up: HIGH's total over 12 months
    gross = con.execute("SELECT CAST(sum(gross_pay) * 100 AS BIGINT) FROM payslips "
                        "WHERE employee_id = 'HIGH'").fetchone()[0]
    assert rows[("HIGH", "pension")]["wage"] == (2 * gross + 12) // 24


def test_declared_bases_are_the_bases_the_engine_uses_in_january(last_year, tmp_path):
    con = last_year
    policy = policy_for(str(SHIPPED_TABLES))
    declared = base_declaration(con, policy, 2025)
    from payroll.engine.run import run_months
    run_months(con, policy, "2025-01", "2025-01")
    bases = con.execute(f"SELECT employee_id, {', '.join(f'CAST({f}_base * 100 AS BIGINT)' for f in FUNDS)} "
                        f"FROM payslips WHERE month = '2025-01'").fetchall()
    engine = {(row[0], fund): value for row in bases for fund, value in zip(FUNDS, row[1:])}
    engine = {key: base for key, base in engine.items() if key[1] != "housing_fund"}   # a July year: not declared
    assert {(r["employee_id"], r["fund_key"]): r["base"] for r in declared} == engine
    export = export_si_base(con, policy, 2025, tmp_path / "base.xlsx")
    assert export.people == 4 and export.clamped >= 2 * (len(FUNDS) - 1)   # no July housing fund
