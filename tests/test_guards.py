"""Guard paths the audit found untested (research/test-audit.md §5): the errors for figures no table
row gives, the refusal of a disability allowance without 本人工资, the bank file's refusal of
negative net pay, and the average-wage floor worked by hand."""
from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

import pytest
from conftest import run_engine
from test_reference_vs_engine import TABLES

from payroll.db import connect, optimiser_off, table_exists
from payroll.engine.context import Month, install_month_parameters
from payroll.errors import PayrollError, PolicyError
from payroll.reports.bank import export_bank
from payroll.reports.floor import floor_check


def person(eid, region="100100", category="duty", level=4, post="DESK", hire=date(2025, 1, 1), base=None):
    return dict(employee_id=eid, name=eid, region_code=region, unit="U1", category=category, level=level,
                post=post, hire_date=hire, leave_date=None, service_start=None, special_deduction=Decimal(0),
                contribution_base=base)


def _tables_with(tmp_path, name: str, edit) -> str:
    directory = tmp_path / "tables"
    shutil.copytree(TABLES, directory)
    path = directory / f"{name}.csv"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return str(directory)


@pytest.mark.parametrize("change, message", [
    (dict(region_code="999999"), "regions: region 999999 is not in the regions table"),
    (dict(post="NOPE"), "posts: post 'NOPE' is not in the posts table"),
    (dict(category="civilian", level=9), "pay_scale: no row in force for region 100100, civilian level 9 in 2025-01"),
])
def test_a_person_no_table_row_covers_is_an_error_naming_table_and_month(change, message):
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        run_engine(TABLES, [dict(person("X1"), **change)], {}, "2025-01", "2025-01")


def test_a_national_parameter_not_yet_in_force_is_an_error(tmp_path):
    tables = _tables_with(tmp_path, "national_parameters", lambda text: "\n".join(
        line.replace(",2019-01-01,", ",2030-01-01,").replace(",2008-01-01,", ",2030-01-01,")
        if line.startswith("hours_per_day,") else line for line in text.splitlines()) + "\n")
    with pytest.raises(PolicyError, match="national_parameters: no hours_per_day in force in 2025-01"):
        run_engine(tables, [person("X1")], {}, "2025-01", "2025-01")


def test_no_tax_table_in_force_is_an_error(tmp_path):
    tables = _tables_with(tmp_path, "iit_brackets", lambda text: text.replace("2019-01-01,", "2030-01-01,"))
    with pytest.raises(PolicyError, match="iit_brackets: no table with a bracket from 0 in force in 2025-01"):
        run_engine(tables, [person("X1")], {}, "2025-01", "2025-01")


def test_a_disability_allowance_without_a_wage_to_base_it_on_is_refused():
    """G1 is injured in the first month run (no payslip before), grade 5, no stoppage, no work
    arranged, no declared base: the allowance would be a silent 0, so the run stops."""
    con = connect(":memory:")
    con.execute("INSERT INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, "
                "work_arranged) VALUES ('G1', DATE '2025-01-06', 'injury', 5, 0, false)")
    with pytest.raises(PolicyError, match=r"2025-01: no 本人工资 for the disability allowance of G1"):
        run_engine(TABLES, [person("G1")], {}, "2025-01", "2025-01", con=con)
    assert not table_exists(con, "payslips") or not con.execute("SELECT count(*) FROM payslips").fetchone()[0]


def test_the_bank_file_refuses_negative_net_pay(tmp_path):
    """The engine keeps net pay ≥ 0 (issue 13: a deduction beyond the pay is carried as a balance
    owed), so a negative net can only come from a payslip written by something else (an older
    engine, a hand edit). The bank file is the last guard: no transfer can pay a negative amount,
    so the whole file is refused and nothing is written."""
    con = connect(":memory:")
    run_engine(TABLES, [person("N1"), person("N2")], {("N1", "2025-01"): {"deduction": Decimal("9000")}},
               "2025-01", "2025-01", con=con)
    assert con.execute("SELECT net_pay FROM payslips WHERE employee_id = 'N1'").fetchone()[0] == 0   # carried
    con.execute("UPDATE payslips SET net_pay = -1.00 WHERE employee_id = 'N1'")       # a payslip from elsewhere
    out = tmp_path / "bank.csv"
    with pytest.raises(PayrollError, match=r"1 payslip\(s\) of 2025-01 have net pay below 0.*N1"):
        export_bank(con, "2025-01", "csv", out)
    assert not out.exists()


def test_the_average_wage_floor_worked_by_hand():
    """tables_simple, region 100100 (city A), pay_floor.csv 100100,2024-01-01,average_not_below_average_wage,0.5;
    average_wage.csv 100100,2024-07-01,9500.55 → floor 0.5 × 9,500.55 = 4,750.275 (shown 4,750.28).
    Both hired 2025-01-01 on a DESK post (normal risk): 0 service years, F = 1 both months.
    F1 duty level 4: 3,000 + duty_allowance 300 + living 250 (province 100000 from 2025) = 3,550.00.
    F2 civilian level 2: 6,500 + office_allowance 150.50 + living 250 = 6,900.50.
    F3 civilian level 4: 2,800 + 150.50 + 250 = 3,200.50.
    With F1 and F2 through February: Σ gross 2 × (3,550 + 6,900.50) = 20,901.00 over 4 payslips
    = 5,225.25 ≥ 4,750.275: holds. With F1 and F3: 2 × 6,750.50 = 13,501.00 / 4 = 3,375.25: below."""
    for second, gross_ytd, average, holds in (("F2", "20901.00", "5225.25", True), ("F3", "13501.00", "3375.25", False)):
        con = connect(":memory:")
        level = {"F2": 2, "F3": 4}[second]
        run_engine(TABLES, [person("F1"), person(second, category="civilian", level=level)], {},
                   "2025-01", "2025-02", con=con)
        assert con.execute("SELECT sum(gross_pay) FROM payslips").fetchone()[0] == Decimal(gross_ytd)
        install_month_parameters(con, Month.parse("2025-02"))
        frame = floor_check(con, "2025-02").set_index("region_code")
        row = frame.loc["100100"]
        assert (row.people, row.payslips_ytd) == (2, 4)
        assert Decimal(str(row.average_gross_ytd)) == Decimal(average)
        assert Decimal(str(row.floor)) == Decimal("4750.28")
        assert bool(row.holds) is holds


def test_an_average_exactly_at_the_floor_holds():
    """南通实施办法 art. 7: 不低于 (not below): F1 and F3 as above (13,501.00 over 4 payslips) and a
    February bonus of 5,500.10 for F3: Σ gross = 19,001.10 = 4 × 0.5 × 9,500.55 exactly → holds."""
    con = connect(":memory:")
    run_engine(TABLES, [person("F1"), person("F3", category="civilian", level=4)],
               {("F3", "2025-02"): {"bonus": Decimal("5500.10")}}, "2025-01", "2025-02", con=con)
    assert con.execute("SELECT sum(gross_pay) FROM payslips").fetchone()[0] == Decimal("19001.10")
    install_month_parameters(con, Month.parse("2025-02"))
    assert bool(floor_check(con, "2025-02").set_index("region_code").loc["100100"].holds) is True


def test_a_floor_without_an_average_wage_row_is_an_error(tmp_path):
    tables = _tables_with(tmp_path, "average_wage", lambda text: text.replace("100100,2024-07-01,9500.55,test,test\n", "")
                          .replace("000000,2020-01-01,8000,test,test\n", "000000,2030-01-01,8000,test,test\n"))
    con = connect(":memory:")
    run_engine(tables, [person("F1")], {}, "2025-01", "2025-01", con=con)
    install_month_parameters(con, Month.parse("2025-01"))
    with pytest.raises(PolicyError, match="average_wage: no row in force for region 100100 in 2025-01"):
        floor_check(con, "2025-01")


def test_a_severance_of_one_fen_without_an_average_wage_row_is_refused(tmp_path):
    # the exempt part of a severance is 3 × the local average wage (财税〔2018〕164号 art. 5(1)):
    # without a row in force the run refuses, whatever the amount, down to a fen
    tables = _tables_with(tmp_path, "average_wage", lambda text: text.replace("100100,2024-07-01,9500.55,test,test\n", "")
                          .replace("000000,2020-01-01,8000,test,test\n", "000000,2030-01-01,8000,test,test\n"))
    leaver = {**person("F1"), "leave_date": date(2025, 1, 31)}
    severance = {("F1", "2025-01"): [{"kind": "severance", "amount": Decimal("0.01")}]}
    with pytest.raises(PolicyError, match="severance is paid"):
        run_engine(tables, [leaver], {}, "2025-01", "2025-01", payments=severance)
    # the same leaver paid another one-off payment and no severance is paid: nothing else there
    # reads the average wage
    other = {("F1", "2025-01"): [{"kind": "other", "amount": Decimal("100")}]}
    slips = run_engine(tables, [leaver], {}, "2025-01", "2025-01", payments=other)
    assert slips[("F1", "2025-01")]["severance_pay"] == 0 < slips[("F1", "2025-01")]["net_pay"]


def test_table_exists_sees_tables_views_and_temporary_tables_and_refuses_a_non_name():
    con = connect(":memory:")
    con.execute("CREATE TEMP TABLE month_scratch AS SELECT 1 AS a")
    con.execute("CREATE VIEW employee_names AS SELECT employee_id FROM employees")
    con.execute("CREATE SCHEMA side")
    con.execute("CREATE TABLE side.notes (a INTEGER)")
    assert [table_exists(con, name) for name in ("employees", "month_scratch", "employee_names", "side.notes",
                                                 "temp.month_scratch", "payslips_missing", "side.missing")] == \
        [True, True, True, True, True, False, False]
    with pytest.raises(ValueError):
        table_exists(con, "employees; DROP TABLE employees")
    assert table_exists(con, "employees")


def test_optimiser_off_is_this_connections_only_and_is_restored_after_an_error():
    """db.optimiser_off (explain's rule stages): the setting holds inside the block on this
    connection only (a cursor is a connection of its own, as the web server's threads use), and
    comes back as it was, also when the block fails."""
    con = connect(":memory:")
    other = con.cursor()
    optimiser = lambda c: c.execute("SELECT current_setting('enable_optimizer')").fetchone()[0]  # noqa: E731
    with optimiser_off(con):
        assert (optimiser(con), optimiser(other)) == (False, True)
    assert optimiser(con) is True
    with pytest.raises(ZeroDivisionError):
        with optimiser_off(con):
            1 / 0
    assert optimiser(con) is True
    con.execute("SET SESSION enable_optimizer = false")          # a caller that had it off keeps it off
    with optimiser_off(con):
        pass
    assert optimiser(con) is False
