"""Issue 17, the month's fixed cost: the work a month skips must leave exactly what the full work
leaves. Each shortcut is checked against the long way on the same database (ROSTER, the shipped
tables, 2025: rows take effect on 1 January, 1 July, 1 August, 1 October and 1 December).
"""
from __future__ import annotations

from datetime import date

from conftest import ROSTER

from payroll.db import connect
from payroll.engine.context import (PARAMETER_SOURCES, Month, _active_roster_sql, install_month,
                                    install_month_parameters, tables_changed)
from payroll.engine.run import prepare_connection, run_months
from payroll.rules import leave


def _roster_connection():
    con = connect(":memory:")
    for row in ROSTER:
        con.execute("INSERT INTO employees (employee_id, name, region_code, unit, category, level, post, hire_date, "
                    "leave_date, special_deduction, contribution_base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    list(row))
    return con


def _parameter_tables(con) -> dict:
    return {name: con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall() for name in PARAMETER_SOURCES}


def test_parameter_tables_made_again_only_where_a_table_changed_equal_a_whole_install(con, policy):
    fresh = _roster_connection()
    prepare_connection(con, policy, [2025])
    prepare_connection(fresh, policy, [2025])
    installed, partly = None, []
    for number in range(1, 13):
        month = Month.parse(f"2025-{number:02d}")
        changed = tables_changed(policy, installed, month)
        if changed and installed is not None:
            partly.append((month.label, changed))
        installed = install_month(con, policy, month, installed)
        install_month_parameters(fresh, month)            # every table made again
        assert _parameter_tables(con) == _parameter_tables(fresh), month.label
    # July: new average wages and housing-fund rows, nothing else; the pay scale is not rebuilt
    july = dict(partly)["2025-07"]
    assert {"average_wage", "housing_fund"} <= july and "pay_scale" not in july


def test_tables_changed_counts_a_row_that_lapses_from_the_day_after_its_valid_until(policy):
    june, july = Month.parse("2025-06"), Month.parse("2025-07")
    assert tables_changed(policy, None, july) is None                   # nothing installed: all
    assert tables_changed(policy, july, june) is None                   # backwards: all
    assert tables_changed(policy, june, june) == frozenset()
    lapsing = [(name, frame.valid_until.dropna().min()) for name, frame in policy.frames.items()
               if "valid_until" in frame and frame.valid_until.notna().any()]
    for name, last_day in lapsing:
        day = last_day if isinstance(last_day, date) else last_day.date()
        before = Month.parse(f"{day.year}-{day.month:02d}")
        if day == before.end:               # in force through the month: lapses on the next 1st
            assert name in tables_changed(policy, before, before.next())


def _leave_status(con) -> tuple[list, list]:
    return (con.execute("DESCRIBE leave_month_status").fetchall(),
            con.execute("SELECT * FROM leave_month_status ORDER BY ALL").fetchall())


def test_a_month_without_leave_empties_the_leave_status_as_the_whole_query_would(con, policy):
    # N1 leaves on 20 February (a payout row); nobody has leave, leaves or is paid out in March
    run_months(con, policy, "2025-01", "2025-03")
    march = Month.parse("2025-03")
    roster = _active_roster_sql(march)
    february = Month.parse("2025-02")
    assert not leave._status_empty(con, february, _active_roster_sql(february))     # the leaver
    assert leave._status_empty(con, march, roster)
    shortcut = _leave_status(con)                       # what March's run left: the emptied table
    con.execute("DROP TABLE leave_month_status")
    leave.install_month_status(con, march, roster)     # the whole query
    assert _leave_status(con) == shortcut
    assert shortcut[1] == []


def test_a_leave_record_in_the_month_runs_the_whole_query_after_an_empty_month(con, policy):
    run_months(con, policy, "2025-01", "2025-03")           # March emptied the table
    con.execute("INSERT INTO leave (employee_id, kind, start_date, end_date) "
                "VALUES ('Z1', 'unpaid', DATE '2025-04-07', DATE '2025-04-08')")
    run_months(con, policy, "2025-04", "2025-04")
    rows = con.execute("SELECT employee_id, leave_unpaid_days FROM leave_month_status").fetchall()
    assert rows == [("Z1", 200)]                            # two workdays, in hundredths
    assert con.execute("SELECT leave_unpaid_days FROM payslips WHERE month = '2025-04' "
                       "AND employee_id = 'Z1'").fetchone()[0] == 2


def test_the_change_days_table_by_table_are_the_policys_change_dates(policy):
    from payroll.engine.context import _change_days_by_table
    by_table = _change_days_by_table(policy)
    assert sorted({day for days in by_table.values() for day in days}) == policy.change_dates()
    assert date(2025, 7, 1) in by_table["housing_fund"] and date(2025, 7, 1) not in by_table["pay_scale"]
