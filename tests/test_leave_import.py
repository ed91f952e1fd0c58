"""Issue 14: `payroll import --leave`, the events' cause and probation_end: bad input names the file,
row and column, exits 2, and nothing is written."""
from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import SHIPPED_TABLES, policy_for, run_payroll

ENV = {k: v for k, v in dict(os.environ, COLUMNS="250").items() if k not in ("PAYROLL_DB", "PAYROLL_TABLES")}
EMPLOYEES = ("employee_id,name,region_code,unit,category,level,post,hire_date,leave_date,service_start,probation_end\n"
             "A1,甲,320600,所,duty,5,PATROL,2020-03-01,,2020-03-01,\n"          # 5 service years → 5 days
             "A2,乙,320600,所,duty,5,PATROL,2025-01-02,2025-09-30,,2025-03-31\n")


def setup(tmp_path, leave_text, employees=EMPLOYEES):
    from payroll.db import connect
    from payroll.io.importer import import_files
    (tmp_path / "emp.csv").write_text(employees, encoding="utf-8")
    (tmp_path / "leave.csv").write_text(leave_text, encoding="utf-8")
    con = connect(":memory:")
    import_files(con, policy_for(str(SHIPPED_TABLES)), employees=tmp_path / "emp.csv")
    return con, lambda: import_files(con, policy_for(str(SHIPPED_TABLES)), leave=tmp_path / "leave.csv")


def problems_of(call):
    from payroll.errors import InputError
    with pytest.raises(InputError) as caught:
        call()
    return {(p.file, p.row, p.column): p.reason for p in caught.value.problems}


def test_leave_file_is_stored(tmp_path):
    con, load = setup(tmp_path, "工号,类型,开始日期,结束日期,备注\n"
                                "A1,年休假,2025-03-03,2025-03-05,\n"
                                "A1,sick,2025-04-01,2025-04-02,flu\n"
                                "A2,maternity,2025-05-01,2025-08-31,\n")
    summary = load()
    assert "leave: 3 rows (3 new, 0 updated)" in str(summary)
    assert con.execute("SELECT kind, note FROM leave ORDER BY start_date").fetchall() == [
        ("annual", None), ("sick", "flu"), ("maternity", None)]


def test_bad_leave_names_file_row_and_column_and_writes_nothing(tmp_path):
    con, load = setup(tmp_path, "employee_id,kind,start,end\n"
                                "A1,annual,2025-03-03,2025-03-05\n"
                                "A1,sick,2025-03-05,2025-03-06\n"        # overlaps row 2
                                "A2,unpaid,2024-12-30,2025-01-03\n"      # before the hire date
                                "A2,unpaid,2025-09-29,2025-10-02\n"      # after the leave date
                                "A1,annual,2025-06-02,2025-06-06\n"      # 3 + 4 (2 June is 端午节) = 7 working days > 5
                                "A1,holiday,2025-07-01,2025-07-02\n"     # unknown kind
                                "A1,marriage,2025-08-01,2025-08-31\n"    # 31 days > 13 (江苏)
                                "A1,injury,2025-09-01,2025-09-05\n"      # no injury event
                                "A1,unpaid,2025-10-05,2025-10-01\n")     # end before start
    found = problems_of(load)
    assert "overlaps the leave in row 2" in found[("leave.csv", 3, "start")]
    assert "before the hire date 2025-01-02" in found[("leave.csv", 4, "start")]
    assert "after the leave date 2025-09-30" in found[("leave.csv", 5, "end")]
    assert "annual leave beyond the balance: 7 working days in 2025, entitlement 5" in found[("leave.csv", 6, "end")]
    assert ("leave.csv", 7, "kind") in found
    assert "the region allows 13" in found[("leave.csv", 8, "end")]
    assert "no work-injury event" in found[("leave.csv", 9, "kind")]
    assert "is before start" in found[("leave.csv", 10, "end")]
    assert con.execute("SELECT count(*) FROM leave").fetchall()[0][0] == 0


def test_leave_overlapping_stored_leave_is_refused(tmp_path):
    con, load = setup(tmp_path, "employee_id,kind,start,end\nA1,sick,2025-04-01,2025-04-10\n")
    load()
    (tmp_path / "leave.csv").write_text("employee_id,kind,start,end\nA1,unpaid,2025-04-10,2025-04-11\n",
                                        encoding="utf-8")
    found = problems_of(load)
    assert "overlaps the stored sick leave 2025-04-01" in found[("leave.csv", 2, "start")]


def test_death_without_a_cause_and_probation_before_hire_are_refused(tmp_path):
    from payroll.db import connect
    from payroll.io.importer import import_files
    (tmp_path / "emp.csv").write_text(
        "employee_id,name,region_code,unit,category,level,post,hire_date,probation_end\n"
        "B1,丙,320600,所,duty,5,PATROL,2025-03-01,2025-02-28\n", encoding="utf-8")
    (tmp_path / "ev.csv").write_text("employee_id,event_date,kind,cause\nB1,2025-06-01,death,\n", encoding="utf-8")
    con = connect(":memory:")
    found = problems_of(lambda: import_files(con, policy_for(str(SHIPPED_TABLES)), employees=tmp_path / "emp.csv",
                                             events=tmp_path / "ev.csv"))
    assert "is before hire_date 2025-03-01" in found[("emp.csv", 2, "probation_end")]
    assert "a death needs its cause" in found[("ev.csv", 2, "cause")]
    assert con.execute("SELECT count(*) FROM employees").fetchall()[0][0] == 0


def test_cli_bad_leave_exits_2_and_writes_nothing(tmp_path):
    (tmp_path / "emp.csv").write_text(EMPLOYEES, encoding="utf-8")
    (tmp_path / "leave.csv").write_text("employee_id,kind,start,end\nA1,sick,2025-03-05,2025-03-06\n"
                                        "A1,annual,2025-03-06,2025-03-07\n", encoding="utf-8")
    ok = run_payroll("import", "--db", "x.duckdb", "--employees", "emp.csv", cwd=tmp_path, env=ENV)
    assert ok.returncode == 0, ok.stderr
    bad = run_payroll("import", "--db", "x.duckdb", "--leave", "leave.csv", cwd=tmp_path, env=ENV)
    assert bad.returncode == 2
    assert "leave.csv, row 3, column start" in bad.stderr
    import duckdb
    assert duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True).execute(
        "SELECT count(*) FROM leave").fetchall()[0][0] == 0


def test_the_demo_roster_has_every_leave_kind_a_probation_hire_and_a_non_work_death():
    from payroll.io.leave import LEAVE_KINDS
    from payroll.synth import synth_roster
    from payroll.synth_life import synth_life_events
    employees, _ = synth_roster(400, year=2025)
    leave, terms, events = synth_life_events(employees, 2025)
    assert set(leave.kind) == set(LEAVE_KINDS.values())
    assert not terms.empty and (pd.to_datetime(terms.probation_end) > pd.Timestamp(2025, 1, 1)).all()
    deaths = events[events.kind == "death"]
    assert len(deaths) >= 1 and set(deaths.cause) == {"non_work"}
    injured = events[events.kind == "injury"].employee_id
    assert set(leave[leave.kind == "injury"].employee_id) <= set(injured)
    leavers = employees[employees.leave_date.str.startswith("2025")]
    assert not leavers.empty                     # paid their untaken leave in their last month
