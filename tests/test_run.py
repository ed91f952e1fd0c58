"""The monthly run as a whole: order of months, re-runs, the floor report, and the CLI contract."""
from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest
from conftest import ROSTER, run_payroll
from identities import BROKEN_IDENTITY

from payroll.db import connect, scalar, table_exists
from payroll.engine.run import run_months
from payroll.errors import PayrollError

def test_months_run_in_order(con, policy):
    run_months(con, policy, "2025-01")
    with pytest.raises(PayrollError, match="2025-02 has not been run"):
        run_months(con, policy, "2025-03")
    run_months(con, policy, "2025-02", "2025-03")
    with pytest.raises(PayrollError, match="payslips for 2025-03 already exist"):
        run_months(con, policy, "2025-02")


def test_a_rerun_replaces_the_month(con, policy):
    run_months(con, policy, "2025-01", "2025-02")
    before = con.execute("SELECT employee_id, net_pay, run_id FROM payslips WHERE month = '2025-02' "
                         "ORDER BY 1").fetchall()
    run_months(con, policy, "2025-02")
    after = con.execute("SELECT employee_id, net_pay, run_id FROM payslips WHERE month = '2025-02' "
                        "ORDER BY 1").fetchall()
    assert [r[:2] for r in before] == [r[:2] for r in after]
    assert before[0][2] != after[0][2]
    assert scalar(con, "SELECT count(*) FROM payslips") == 5 + 5   # all five are paid in both months


def test_who_is_paid_follows_hire_and_leave_dates(con, policy):
    run_months(con, policy, "2025-01", "2025-03")
    paid = con.execute("SELECT month, list(employee_id ORDER BY employee_id) FROM payslips "
                       "GROUP BY month ORDER BY month").fetchall()
    assert paid == [("2025-01", ["H1", "K1", "N1", "O1", "Z1"]),
                    ("2025-02", ["H1", "K1", "N1", "O1", "Z1"]),
                    ("2025-03", ["H1", "K1", "O1", "Z1"])]


def test_identities_hold_on_every_row(con, policy):
    run_months(con, policy, "2025-01", "2025-12")
    broken = scalar(con, f"SELECT count(*) FROM payslips WHERE {BROKEN_IDENTITY}")
    assert broken == 0


def test_a_year_without_an_official_calendar_is_refused(con, policy):
    with pytest.raises(PayrollError, match="calendar for 2027 is not known"):
        run_months(con, policy, "2027-01")
    assert not table_exists(con, "payslips")


def _cli(*args, cwd):
    return run_payroll(*args, cwd=cwd, env={**os.environ, "PAYROLL_DB": "", "PAYROLL_TABLES": ""})


def _write_roster(db):
    file_con = connect(str(db))
    file_con.execute("INSERT INTO employees SELECT * FROM (SELECT * FROM employees LIMIT 0)")
    for row in ROSTER:
        file_con.execute(
            "INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
            "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    file_con.close()


def test_cli_run_prints_months_and_the_floor_check(tmp_path, con):
    db = tmp_path / "city.duckdb"
    _write_roster(db)
    result = _cli("run", "--db", str(db), "--month", "2025-01", "--through", "2025-02", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2025-02: 5 payslips" in result.stdout + result.stderr
    assert "320600" in result.stdout and ("达标" in result.stdout)


def test_cli_bad_month_exits_2(tmp_path):
    result = _cli("run", "--db", str(tmp_path / "x.duckdb"), "--month", "2025-13", cwd=tmp_path)
    assert result.returncode == 2
    assert "'2025-13' is not a month YYYY-MM" in result.stderr


def test_a_database_held_by_another_process_is_a_clear_error(tmp_path):
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('ready', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = _cli("run", "--db", str(db), "--month", "2025-01", cwd=tmp_path)
        assert result.returncode == 2
        assert "is in use by another process" in result.stderr
    finally:
        holder.kill()


def test_commands_run_in_this_process_leave_the_database_closed(tmp_path):
    """The tests run most commands in their own process (conftest.run_payroll). Whatever a command
    opened must be closed when it returns, as when a process exits, failed or not: the next command
    opens the file read-only or for writing, and after the last one another process opens it."""
    (tmp_path / "emp.csv").write_text("employee_id,name,region_code,unit,category,level,post,hire_date,"
                                      "contribution_base\nQ2,乙,150600,所,duty,7,PATROL,2020-01-01,8000\n",
                                      encoding="utf-8")
    (tmp_path / "ev.csv").write_text("工号,事件日期,类型,伤残等级,解除劳动关系,leave_date\n"
                                     "Q2,2025-06-01,injury,7,true,2025-12-31\n", encoding="utf-8")
    db = tmp_path / "p.duckdb"
    assert _cli("import", "--db", db, "--employees", "emp.csv", "--events", "ev.csv", cwd=tmp_path).returncode == 0
    gc.disable()                  # only the helper's own collection may close what a command leaves
    try:
        # fails inside the benefit rules (no employment grant for this province), leaving its
        # connection in a reference cycle: open until collected
        missing = _cli("benefits", "Q2", "--db", db, cwd=tmp_path)
        assert missing.returncode == 2 and "figure missing for this province" in missing.stderr, missing.stderr
        connect(db, read_only=True).close()         # refused while a writer is open in this process
        unknown = _cli("explain", "NOBODY", "--month", "2025-01", "--db", db, cwd=tmp_path)
        assert unknown.returncode == 2 and "no payslips" in unknown.stderr, unknown.stderr     # read-only
        done = _cli("run", "--db", db, "--month", "2025-01", cwd=tmp_path)
        assert done.returncode == 0, done.stderr                                               # a writer
    finally:
        gc.enable()
    other = subprocess.run([sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(db)],
                           capture_output=True, text=True, timeout=120)
    assert other.returncode == 0, other.stderr


def test_running_an_empty_database_says_what_to_do(tmp_path):
    result = _cli("run", "--db", str(tmp_path / "empty.duckdb"), "--month", "2025-01", cwd=tmp_path)
    assert result.returncode == 2 and "holds no employees" in result.stderr
    missing = _cli("export", "--db", str(tmp_path / "none.duckdb"), "--month", "2025-01", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
