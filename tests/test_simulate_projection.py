"""payroll simulate: zero difference, the exact effect of a raise, the first month against a plain
monthly run on the changed tables, roster changes. Small rosters, one year."""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from payroll.db import connect
from payroll.engine.run import run_months
from payroll.policy import load_policy
from payroll.simulate.apply import write_tables
from payroll.simulate.project import COMPONENTS, KEPT, history_from_database, roster_from_database, synthetic_roster
from payroll.simulate.runner import simulate
from payroll.simulate.scenario import parse_scenario

from conftest import ROSTER, THOROUGH, database_copy, database_template, insert_roster, project_first_months

CENT = Decimal("0.01")


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def roster_con(rows=ROSTER) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    for row in rows:
        con.execute(
            "INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
            "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    return con


def payslips(run, month: str | None = None) -> dict[tuple[str, str], dict]:
    where = f"WHERE month = '{month}'" if month else f"WHERE month >= '{run.months[0].label}'"
    cursor = run.con.execute(f"SELECT * FROM projected {where} ORDER BY employee_id, month")
    names = [d[0] for d in cursor.description]
    return {(row[0], row[1]): dict(zip(names, row)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def shipped():
    return load_policy()


@pytest.fixture(scope="module")
def small_roster():
    return synthetic_roster(30, seed=11, year=2025)


@pytest.mark.slow     # CI: test_assumed_annual_bonus_is_paid_and_taxed_in_the_chosen_month (no change: zero) and the month-by-month check
def test_scenario_that_changes_nothing_gives_exactly_zero(shipped, small_roster):
    # scale 1 from January: the scenario is computed month by month (not copied from the baseline)
    scenario = parse_scenario('name = "nothing"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\n'
                              'scale = 1\neffective = 2025-01-01\n')
    result = simulate(scenario, shipped, small_roster, 2025)
    try:
        assert result.first_changed == "2025-01"
        assert result.scenario_policy.digest != shipped.digest
        assert (result.components.change == 0).all()
        assert set(COMPONENTS) - {"deduction"} <= set(result.components.component)   # every cost line
        assert result.components.baseline.gt(0).any()
        for frame in result.by.values():
            assert (frame.filter(like="_change") == 0).all().all()
        net = result.net[0]
        assert net.people == net.unchanged == 30 and net.losing == net.gaining == 0
        assert payslips(result.baseline) == payslips(result.scenario_run)
    finally:
        result.close()


@pytest.mark.slow     # CI: test_assumed_annual_bonus_is_paid_and_taxed_in_the_chosen_month (no change either: the same checks)
def test_empty_scenario_reuses_the_baseline(shipped, small_roster):
    result = simulate(parse_scenario('name = "empty"'), shipped, small_roster, 2025)
    try:
        assert result.first_changed is None
        assert (result.components.change == 0).all()
        assert payslips(result.baseline) == payslips(result.scenario_run)
    finally:
        result.close()


RAISE_ROSTER = [
    # full months all year, no overtime (no assumptions), pay well above the minimum wage
    ("R1", "甲", "150100", "新城分局", "duty", 7, "PATROL", "2018-05-01", None, 0, None),
    ("R2", "乙", "330100", "上城分局", "civilian", 3, "TECH", "2015-01-01", None, 1000, 9000),
    ("R3", "丙", "320600", "崇川分局", "duty", 5, "COMMUNITY", "2020-01-01", None, 0, None),
    # part months: hired on Monday 2025-03-17, and leaving on 2025-08-20
    ("R4", "丁", "530100", "五华分局", "duty", 6, "TRAFFIC", "2025-03-17", None, 0, None),
    ("R5", "戊", "150600", "东胜分局", "civilian", 4, "PERMITS", "2019-03-01", "2025-08-20", 0, None),
]


def test_five_percent_raise_of_base_pay_is_exact_to_the_fen(shipped):
    """The table value B becomes B' = half_up(1.05 × B) (the CSV holds fen). Each month's base pay
    line is half_up(B × n ÷ d) with the month's proration n/d, so the scenario pays
    half_up(B' × n ÷ d) − half_up(B × n ÷ d) more gross pay (nothing else in gross depends on
    B without overtime and above the minimum wage). In a full month n = d and this is
    B' − B = half_up(0.05 × B): exactly 5 % of base pay, rounded half-up once. Example, R4 in
    March: B = 7,580 (Kunming duty level 6), B' = 7,959.00, n/d = 11/21 (paid days 17–31 March:
    11 of 21), baseline 7,580 × 11 ÷ 21 = 3,970.476… → 3,970.48, scenario 7,959 × 11 ÷ 21 =
    4,169.00 → 4,169.00, difference 198.52 (5 % of 3,970.48 is 198.524 → 198.52)."""
    roster = roster_con(RAISE_ROSTER).sql("SELECT * FROM employees").to_arrow_table()
    scenario = parse_scenario('name = "raise"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\n'
                              'scale = 1.05\n')
    result = simulate(scenario, shipped, roster, 2025)
    try:
        base, raised = payslips(result.baseline), payslips(result.scenario_run)
        assert base.keys() == raised.keys() and len(base) == 3 * 12 + 10 + 8
        total_expected = Decimal(0)
        for key, before in base.items():
            after = raised[key]
            table_value = before["base_pay_full"]
            new_value = half_up(table_value * Decimal("1.05"))
            n, d = before["proration_numerator"], before["proration_denominator"]
            assert before["base_pay"] == half_up(table_value * n / d)           # the engine's line
            expected = half_up(new_value * n / d) - half_up(table_value * n / d)
            assert after["base_pay"] - before["base_pay"] == expected, key
            # gross moves by the base-pay change alone, apart from the untaken annual leave paid in
            # December and to leavers (issue 14), which is figured from the earlier months' wages
            assert (after["gross_pay"] - after["annual_leave_payout"]) \
                - (before["gross_pay"] - before["annual_leave_payout"]) == expected, key
            if n == d:
                assert expected == half_up(before["base_pay"] * Decimal("0.05")), key
            total_expected += expected
        r4 = raised[("R4", "2025-03")]["base_pay"] - base[("R4", "2025-03")]["base_pay"]
        assert r4 == Decimal("198.52")
        gross = result.totals.iloc[0]
        assert gross.base_pay_change == int(total_expected * 100)
        assert gross.gross_pay_change == gross.base_pay_change + gross.annual_leave_payout_change
    finally:
        result.close()


FIRST_MONTH_SCENARIO = """
name = "first month"
[[change]]
table = "pay_scale"
column = "base_pay"
scale = 1.037
level = [6, 7]
effective = 2025-01-01
[[change]]
table = "allowances"
column = "amount"
add = 125.5
where = { item = "duty_allowance" }
[[change]]
table = "housing_fund"
column = "employee_rate"
set = 0.07
region = "530100"
[[change]]
table = "social_insurance"
column = "base_floor"
scale = 1.2
region = "150000"
where = { fund = ["pension", "medical"] }
[[change]]
table = "minimum_wage"
column = "monthly_minimum_wage"
set = 9000
region = "150600"
"""


@pytest.mark.slow     # CI: test_every_projected_month_equals_the_monthly_run covers the changed tables too
def test_first_month_equals_a_monthly_run_on_the_changed_tables(shipped, tmp_path):
    """simulate's January equals `payroll run --month 2025-01 --tables <changed tables>` on the same
    database, which also holds 2024's payslips (contribution bases from the previous year)."""
    con = roster_con()
    run_months(con, shipped, "2024-01", "2024-12")
    scenario = parse_scenario(FIRST_MONTH_SCENARIO)
    result = simulate(scenario, shipped, roster_from_database(con), 2025,
                      history=history_from_database(con, 2025))
    try:
        assert con.execute("SELECT count(*) FROM payslips WHERE month >= '2025-01'").fetchall() == [(0,)]
        changed = load_policy(write_tables(result.scenario_policy, tmp_path / "tables"))
        run_months(con, changed, "2025-01")
        cursor = con.execute(f"SELECT {', '.join(KEPT)} FROM payslips WHERE month = '2025-01' ORDER BY employee_id")
        plain = {row[0]: dict(zip(KEPT, row)) for row in cursor.fetchall()}
        simulated = {key[0]: row for key, row in payslips(result.scenario_run, "2025-01").items()}
        assert len(plain) == 5 and simulated.keys() == plain.keys()
        for employee_id, row in plain.items():
            assert {k: simulated[employee_id][k] for k in KEPT} == row, employee_id
        # the changes did change January: the comparison is not between two baselines
        baseline = payslips(result.baseline, "2025-01")
        assert any(baseline[key]["gross_pay"] != row["gross_pay"]
                   for key, row in payslips(result.scenario_run, "2025-01").items())
        assert {row["contribution_base_source"] for row in con.execute(
            "SELECT contribution_base_source FROM payslips WHERE month = '2025-01'").df().to_dict("records")} \
            >= {"previous_year"}
    finally:
        result.close()


@pytest.mark.slow     # CI: the month-by-month check takes January–June from the baseline
def test_changes_before_their_date_leave_months_identical(shipped, small_roster):
    scenario = parse_scenario('name = "july"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\n'
                              'add = 300\neffective = 2025-07-01\n')
    result = simulate(scenario, shipped, small_roster, 2025)
    try:
        assert result.first_changed == "2025-07"
        monthly = result.monthly.set_index("month")
        assert (monthly.loc[:"2025-06", "gross_pay_change"] == 0).all()
        assert (monthly.loc["2025-07":, "base_pay_change"] > 0).all()
        # copy-on-write: only pay_scale was copied
        for name, frame in result.scenario_policy.frames.items():
            assert (frame is shipped.frames[name]) == (name != "pay_scale"), name
        scale = result.scenario_policy.frames["pay_scale"]
        added = scale[scale.effective_from == date(2025, 7, 1)]
        assert len(added) == len(shipped.frames["pay_scale"])
        key = ["region_code", "category", "level"]
        old = shipped.frames["pay_scale"].set_index(key).base_pay
        assert (added.set_index(key).base_pay.sort_index() == (old + 300).sort_index()).all()
    finally:
        result.close()


def test_roster_changes_hires_attrition_promotion(shipped, small_roster):
    scenario = parse_scenario("""
name = "roster"
[[roster.hires]]
month = ["2025-04", "2025-05"]
count = 3
region = "530100"
category = "duty"
level = 7
[roster]
attrition_rate = 0.5
attrition_seed = 3
[roster.promotion]
every_years = 1
[assumptions.overtime_hours]
duty = { workday = 4 }
""")
    result = simulate(scenario, shipped, small_roster, 2025)
    try:
        monthly = result.monthly.set_index("month")
        hires = result.scenario_run.con.execute(
            "SELECT month, count(*) FROM projected WHERE employee_id LIKE 'SIM%' GROUP BY month").fetchall()
        hires = dict(hires)
        assert min(hires) == "2025-04" and hires["2025-04"] == 3 and hires["2025-05"] == 6
        assert hires["2025-12"] == 6        # attrition applies to the staff on the roster at the start
        # half of the staff leave within the year; the months before February are the baseline's
        assert monthly.loc["2025-01", "headcount_change"] == 0
        assert monthly.loc["2025-12", "headcount_scenario"] < monthly.loc["2025-12", "headcount_baseline"]
        # one level up at each anniversary (every year): someone's level in December is lower
        levels = result.scenario_run.con.execute(
            "SELECT count(*) FROM projected a JOIN projected b USING (employee_id) "
            "WHERE a.month = '2025-01' AND b.month = '2025-12' AND b.level < a.level").fetchall()[0][0]
        assert levels > 0
        # the overtime assumption pays duty staff overtime in both projections
        base_overtime = result.baseline.con.execute(
            "SELECT min(overtime_pay), max(overtime_pay) FROM projected WHERE category = 'duty'").fetchall()[0]
        assert base_overtime[0] > 0
    finally:
        result.close()


# ---------------------------------------------------------------- floor solver

def _nantong_roster():
    """Nantong staff of the synthetic roster: the floor (南通实施办法 art. 7) fails there as shipped."""
    con = duckdb.connect(":memory:")
    con.register("r", synthetic_roster(60, seed=5, year=2025))
    table = con.sql("SELECT * FROM r WHERE region_code = '320600'").to_arrow_table()
    assert 3 <= table.num_rows <= 30
    return table


def _raise(percent: Decimal) -> str:
    return (f'name = "raise {percent}"\n[[change]]\ntable = "pay_scale"\ncolumn = "base_pay"\n'
            f'scale = {1 + percent / 100}\nregion = "320600"\neffective = 2025-01-01\n')


@pytest.mark.slow     # a dozen projections; CI: test_solver_without_failing_regions_needs_no_raise and test_simulate_cli
def test_solver_raise_meets_the_floor_and_a_tenth_of_a_point_less_does_not(shipped):
    roster = _nantong_roster()
    result = simulate(parse_scenario('name = "floor"\n[solver]\n'), shipped, roster, 2025)
    try:
        solver = result.solver
        assert solver.regions == ["320600"] and solver.step == Decimal("0.1")
        assert solver.raise_percent > 0
        assert solver.below.raise_percent == solver.raise_percent - Decimal("0.1") and not solver.below.holds
        cost = solver.cost[2025]
    finally:
        result.close()
    # checked independently: the raise as an ordinary scenario change, and 0.1 point less
    for percent, holds in ((solver.raise_percent, True), (solver.raise_percent - Decimal("0.1"), False)):
        check = simulate(parse_scenario(_raise(percent)), shipped, roster, 2025)
        try:
            nantong = check.floors[check.floors.region_code == "320600"].iloc[0]
            assert bool(nantong.holds_baseline) is False
            assert bool(nantong.holds_scenario) is holds, percent
            assert nantong.average_gross_ytd_scenario >= nantong.floor_scenario if holds else \
                nantong.average_gross_ytd_scenario < nantong.floor_scenario
            if holds:   # the solver's cost is the employer cost the raise adds, to the fen
                assert int(check.totals.iloc[0].employer_cost_change) == cost
        finally:
            check.close()


def test_solver_without_failing_regions_needs_no_raise(shipped, small_roster):
    roster = duckdb.connect().sql("SELECT * FROM small_roster WHERE region_code <> '320600'").to_arrow_table()
    result = simulate(parse_scenario('name = "floor"\n[solver]\n'), shipped, roster, 2025)
    try:
        assert result.solver.regions == [] and result.solver.raise_percent == 0
    finally:
        result.close()


TWO_YEARS = """
name = "two years"
[[change]]
table = "pay_scale"
column = "base_pay"
add = 211.11
effective = 2025-07-01
[[change]]
table = "social_insurance"
column = "employee_rate"
set = 0.09
where = { fund = "pension" }
effective = 2026-03-01
"""

# CI runs the months where the situations are: December 2024 as the database's history (January
# 2025 reads it: the previous year's contribution bases), then simulate's first fifteen months,
# each compared with `payroll run`: January 2025 (the first projected month), February (N1
# leaves), July (the first change; the scenario takes January–June from the baseline), December
# and January 2026 (the year end inside the projection), March 2026 (the second change). The
# thorough tier runs all of 2024 as history and the two whole years.
HISTORY_FROM = "2024-01" if THOROUGH else "2024-12"
COMPARED_MONTHS = 24 if THOROUGH else 15


@pytest.fixture(scope="module")
def two_years(shipped):
    """The database holding the history (a template: each comparison runs `payroll run` on a copy
    of its own) and the two-year simulate on it, shared by both comparisons (neither changes it)."""
    def history(con):
        insert_roster(con)
        run_months(con, shipped, HISTORY_FROM, "2024-12")
    template = database_template(history)
    con = database_copy(template)
    with pytest.MonkeyPatch.context() as patch:
        if COMPARED_MONTHS < 24:
            project_first_months(patch, COMPARED_MONTHS)
        result = simulate(parse_scenario(TWO_YEARS), shipped, roster_from_database(con), 2025, years=2,
                          history=history_from_database(con, 2025))
    con.close()
    yield template, result
    result.close()


# CI compares the scenario's run (which takes January–June 2025 from the baseline, so both paths
# are in it); the thorough tier also compares the baseline run month by month
@pytest.mark.parametrize("compared", ["scenario", pytest.param("baseline", marks=pytest.mark.slow)])
def test_every_projected_month_equals_the_monthly_run(shipped, tmp_path, compared, two_years):
    """Two years, against `payroll run` month by month: the baseline on the shipped tables, the
    scenario on its tables written out (a change from July 2025, another from March 2026; the
    scenario takes January–June 2025 from the baseline). Covers the small history table the
    projection keeps (year to date, first whole month, last year's months) across a year end."""
    template, result = two_years
    con = database_copy(template)
    assert result.first_changed == "2025-07"
    last = result.months[COMPARED_MONTHS - 1].label

    def plain(policy) -> dict:
        con.execute("DELETE FROM payslips WHERE month >= '2025-01'")
        run_months(con, policy, "2025-01", last)
        cursor = con.execute(f"SELECT {', '.join(KEPT)} FROM payslips WHERE month >= '2025-01'")
        return {(row[0], row[1]): dict(zip(KEPT, row)) for row in cursor.fetchall()}

    runs = {"baseline": (result.baseline, shipped),
            "scenario": (result.scenario_run, load_policy(write_tables(result.scenario_policy, tmp_path / "t")))}
    for run, policy in [runs[compared]]:
        expected = plain(policy)
        got = {key: {k: row[k] for k in KEPT} for key, row in payslips(run).items()}
        assert len(expected) == 4 * COMPARED_MONTHS + 2 and got.keys() == expected.keys()   # N1 leaves in Feb 2025
        for key in expected:
            assert got[key] == expected[key], key
    assert result.totals.set_index("year").loc[2026, "base_pay_change"] > 0
    con.close()


def test_assumed_annual_bonus_is_paid_and_taxed_in_the_chosen_month(shipped, small_roster):
    """Issue 13: an annual bonus assumption, 1 × the November gross for duty staff in December taxed
    apart, plus a fixed 36,000 for civilians merged: December's payslips carry them with the rule's
    tax (separate: the monthly-converted table), other months none; baseline and scenario alike."""
    scenario = parse_scenario('name = "bonus"\n'
                              '[[assumptions.annual_bonus]]\nmonth = 12\nmultiple = 1\ncategory = ["duty"]\n'
                              'tax_method = "separate"\n'
                              '[[assumptions.annual_bonus]]\nmonth = 12\namount = 36000\ncategory = ["civilian"]\n'
                              'tax_method = "merged"\n')
    result = simulate(scenario, shipped, small_roster, 2025)
    try:
        rows = payslips(result.baseline)
        november = {e: r for (e, m), r in rows.items() if m == "2025-11"}
        december = [r for (e, m), r in rows.items() if m == "2025-12"]
        assert all(r["annual_bonus"] == 0 for (e, m), r in rows.items() if m != "2025-12")
        duty = [r for r in december if r["category"] == "duty" and r["employee_id"] in november]
        civilian = [r for r in december if r["category"] == "civilian"]
        assert duty and civilian
        for r in duty:
            assert r["annual_bonus"] == november[r["employee_id"]]["gross_pay"]
            assert r["annual_bonus_method"] == "separate" and r["iit_annual_bonus"] > 0
        for r in civilian:
            assert r["annual_bonus"] == Decimal(36000) and r["annual_bonus_method"] == "merged"
            assert r["iit_annual_bonus"] == 0
        # assumptions alone change no table: the scenario is the baseline, as for an empty scenario
        assert result.first_changed is None
        assert (result.components.change == 0).all()
        assert payslips(result.baseline) == payslips(result.scenario_run)
    finally:
        result.close()
