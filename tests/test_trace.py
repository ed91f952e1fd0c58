"""The trace of one person is the run itself, filtered: every amount equals the stored payslip,
every rule carries its legal basis, and every table figure points at the row it came from."""
from __future__ import annotations

from decimal import Decimal

import pytest

from payroll.columns import MONEY_COLUMNS
from payroll.engine.pipeline import stored_columns
from payroll.engine.run import prepare_connection, run_months
from payroll.engine.trace import trace_person

from conftest import database_copy, database_template, insert_roster


@pytest.fixture(scope="module")
def year_run_template(policy):
    """ROSTER with February attendance, January–March run: built once, each test gets a copy."""
    def build(con):
        insert_roster(con)
        con.execute("INSERT INTO attendance (employee_id, month, unpaid_leave_days, overtime_workday_hours, overtime_restday_hours, overtime_holiday_hours, night_shifts, bonus, deduction) VALUES ('N1', '2025-02', 1.5, 10, 8, 4, 3, 500, 20), "
                    "('K1', '2025-02', 0, 0, 16, 0, 0, 0, 0)")
        run_months(con, policy, "2025-01", "2025-03")
    return database_template(build)


@pytest.fixture()
def year_run(year_run_template, policy):
    con = database_copy(year_run_template)
    prepare_connection(con, policy, [2025])
    return con, policy


@pytest.mark.parametrize("month", ["2025-01", "2025-02", "2025-03"])
def test_trace_amounts_equal_the_payslips_table(year_run, month):
    con, policy = year_run
    cursor = con.execute("SELECT * FROM payslips WHERE month = ?", [month])
    names = [d[0] for d in cursor.description]
    stored = [dict(zip(names, row)) for row in cursor.fetchall()]
    units = stored_columns()
    assert stored
    for payslip in stored:
        lines = {line.name: line for line in trace_person(con, policy, payslip["employee_id"], month)}
        for column, unit in units.items():
            traced = lines[column]
            if unit == "fen":
                assert traced.yuan == payslip[column], (payslip["employee_id"], column)
            elif unit in ("int", "text", "bool", "date"):
                assert traced.raw == payslip[column], (payslip["employee_id"], column)
        assert set(MONEY_COLUMNS) <= set(lines)


def test_every_rule_names_its_basis_and_the_rows_it_read(year_run):
    con, policy = year_run
    lines = trace_person(con, policy, "N1", "2025-02")
    rules = [line for line in lines if line.formula]
    assert rules and all(line.basis for line in rules)
    by_name = {line.name: line for line in lines}
    pay_scale = by_name["base_pay"].rows
    assert len(pay_scale) == 1 and pay_scale[0].table == "pay_scale"
    assert pay_scale[0].values["base_pay"] * 100 == by_name["base_pay_full"].raw
    assert pay_scale[0].effective_from and pay_scale[0].source
    assert by_name["overtime_workday_pay"].formula.endswith("× 10 hours × 150 %")     # 劳动法 art. 44: 150 %
    assert by_name["iit_rate"].rows and by_name["iit_rate"].rows[0].table == "iit_brackets"
    assert by_name["net_pay"].yuan == Decimal(by_name["gross_pay"].raw - by_name["pension_employee"].raw
                                              - by_name["medical_employee"].raw
                                              - by_name["unemployment_employee"].raw
                                              - by_name["housing_fund_employee"].raw
                                              - by_name["medical_levy_employee"].raw - by_name["iit"].raw
                                              - by_name["deduction"].raw) / 100


def test_a_summed_figure_cites_exactly_the_rows_it_adds_up(year_run):
    """Allowances and the accident premium are sums of table rows: the rows a figure cites add up
    to it (a figure citing no rows, or rows it was not made from, fails), for everyone run."""
    con, policy = year_run
    people = [p for (p,) in con.execute("SELECT employee_id FROM payslips WHERE month = '2025-02'").fetchall()]
    premiums_seen = 0
    for employee in people:
        by_name = {line.name: line for line in trace_person(con, policy, employee, "2025-02")}
        allowance_rows = by_name["allowances_full"].rows
        assert allowance_rows and {r.table for r in allowance_rows} == {"allowances"}, employee
        monthly = sum(Decimal(str(r.values["amount"])) for r in allowance_rows
                      if r.values["per"] == "month" and r.values["applies_to"] != "high_risk")
        assert monthly * 100 == by_name["allowances_full"].raw, employee
        premium_rows = by_name["accident_premium_monthly"].rows
        annual = [Decimal(str(r.values["annual_premium"])) * 100 for r in premium_rows]
        # each row's annual premium in fen, a twelfth rounded half up, summed (as the rule does)
        assert sum(int((2 * fen + 12) // 24) for fen in annual) == by_name["accident_premium_monthly"].raw, employee
        premiums_seen += bool(premium_rows)
    assert premiums_seen, "the roster should hold someone with an accident premium"
