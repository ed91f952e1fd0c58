"""`payroll import --timesheet`: dated overtime classified by the official calendar, summed into the
month's attendance (replacing its overtime hours, idempotently), and refused for a year the
calendar does not know.

The calendars checked here are the State Council's notices, read against `holidays.China`:
- 2025: 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号, 2024-11-12), with the 13
  statutory days of 全国年节及纪念日放假办法 as revised by 国务院令第795号 (2024-11-10): 元旦 1-1;
  春节 1-28 (除夕) to 1-31; 清明 4-4; 劳动节 5-1, 5-2; 端午 5-31; 国庆 10-1 to 10-3; 中秋 10-6.
  Holiday periods 1-28..2-4 (2-3, 2-4 days off moved), 5-1..5-5, 5-31..6-2, 10-1..10-8; make-up
  working days 1-26 (Sun), 2-8 (Sat), 4-27 (Sun), 9-28 (Sun), 10-11 (Sat).
- 2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04; gov.cn gongbao 2025 issue 12406,
  content_7048922): 元旦 1-1..1-3, 1-4 (Sun) at work; 春节 2-15..2-23, 2-14 (Sat) and 2-28 (Sat) at
  work; 清明 4-4..4-6; 劳动节 5-1..5-5, 5-9 (Sat) at work; 端午 6-19..6-21; 中秋 9-25..9-27;
  国庆 10-1..10-7, 9-20 (Sun) and 10-10 (Sat) at work. Statutory days: 1-1; 2-16 (除夕)..2-19;
  4-5; 5-1, 5-2; 6-19; 9-25; 10-1..10-3.
"""
from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pytest
from conftest import run_payroll

from payroll.calendar import RESTDAY, STATUTORY, WORKDAY, CalendarError, year_days
from payroll.db import connect
from payroll.errors import InputError
from payroll.io.importer import import_files
from payroll.io.timesheet import classify
from payroll.policy import load_policy

STATUTORY_DAYS = {
    2025: ["2025-01-01", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31", "2025-04-04",
           "2025-05-01", "2025-05-02", "2025-05-31", "2025-10-01", "2025-10-02", "2025-10-03",
           "2025-10-06"],
    2026: ["2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-04-05",
           "2026-05-01", "2026-05-02", "2026-06-19", "2026-09-25", "2026-10-01", "2026-10-02",
           "2026-10-03"],
}
MAKEUP_WORKDAYS = {
    2025: ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
    2026: ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"],
}
# days off inside a holiday period that are not statutory: rest days (200 %), weekday or not
MOVED_DAYS_OFF = {
    2025: ["2025-02-03", "2025-02-04", "2025-05-05", "2025-06-02", "2025-10-07", "2025-10-08"],
    2026: ["2026-01-02", "2026-02-20", "2026-02-23", "2026-04-06", "2026-05-04", "2026-05-05",
           "2026-10-06", "2026-10-07"],
}


def _d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize("year", [2025, 2026])
def test_thirteen_statutory_days(year):
    found = [d.isoformat() for d, kind in year_days(year) if kind == STATUTORY]
    assert found == STATUTORY_DAYS[year]
    assert all(classify(_d(day)) == STATUTORY for day in STATUTORY_DAYS[year])


@pytest.mark.parametrize("year", [2025, 2026])
def test_makeup_working_days_are_working_days(year):
    for day in MAKEUP_WORKDAYS[year]:
        assert _d(day).weekday() >= 5                 # a Saturday or Sunday …
        assert classify(_d(day)) == WORKDAY           # … worked as a working day: 150 %


@pytest.mark.parametrize("year", [2025, 2026])
def test_moved_days_off_are_rest_days(year):
    for day in MOVED_DAYS_OFF[year]:
        assert classify(_d(day)) == RESTDAY, day


def test_ordinary_days():
    assert classify(date(2025, 3, 12)) == WORKDAY     # a Wednesday
    assert classify(date(2025, 3, 15)) == RESTDAY     # a Saturday
    assert classify(date(2026, 2, 15)) == RESTDAY     # Sunday before 除夕, inside the holiday
    kinds = [kind for _, kind in year_days(2025)]
    # 2025 starts on a Wednesday: 261 weekdays, 104 weekend days. Working days = 261 − 12 statutory
    # days on weekdays (all but 5-31, a Saturday) − 6 moved days off (2-3, 2-4, 5-5, 6-2, 10-7, 10-8)
    # + 5 make-up days = 248; rest days = 104 − 5 make-up − 1 (5-31) + 6 moved = 104
    assert (kinds.count(STATUTORY), kinds.count(WORKDAY), kinds.count(RESTDAY)) == (13, 248, 104)


def test_a_year_the_calendar_does_not_know_is_refused():
    with pytest.raises(CalendarError, match="2027"):
        classify(date(2027, 1, 1))


# ---------------------------------------------------------------- import


@pytest.fixture
def city(tmp_path):
    from handover_data import PEOPLE, write_employees
    policy = load_policy()
    con = connect(tmp_path / "db.duckdb")
    import_files(con, policy, employees=write_employees(tmp_path / "e.csv", PEOPLE))
    return tmp_path, con, policy


def _timesheet(path, rows, header=("employee_id", "date", "hours", "time_off_given")):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _attendance(con):
    return {(e, m): tuple(str(v) for v in rest) for e, m, *rest in con.execute(
        "SELECT employee_id, month, overtime_workday_hours, overtime_restday_hours, overtime_holiday_hours, "
        "night_shifts, bonus FROM attendance ORDER BY 1, 2").fetchall()}


RECORDS = [
    ("H1", "2025-01-01", "8", ""),         # 元旦: statutory 300 %
    ("H1", "2025-01-26", "2.5", ""),       # Sunday, make-up working day: 150 %
    ("H1", "2025-01-25", "4", ""),         # Saturday: rest day 200 %
    ("H1", "2025-01-18", "3", "是"),       # Saturday, time off given: not paid overtime
    ("H1", "2025-01-28", "8", "true"),     # 除夕: statutory, time off changes nothing
    ("H1", "2025-02-03", "6", "false"),    # moved day off in the Spring Festival: rest day
    ("H1", "2025-02-05", "1.25", ""),      # ordinary Wednesday: working day
    ("Z1", "2025-02-08", "1", "no"),       # Saturday, make-up working day
]


def test_timesheet_feeds_the_months_attendance(city):
    tmp_path, con, policy = city
    summary = import_files(con, policy, timesheet=_timesheet(tmp_path / "t.csv", RECORDS))
    assert "8 dated records into 3 person-months" in str(summary)
    # January H1: working 2.5; rest 4 (the 3 compensated hours are not paid); holiday 8 + 8 = 16
    # February H1: working 1.25; rest 6. Z1: working 1
    assert _attendance(con) == {
        ("H1", "2025-01"): ("2.50", "4.00", "16.00", "0", "0.00"),
        ("H1", "2025-02"): ("1.25", "6.00", "0.00", "0", "0.00"),
        ("Z1", "2025-02"): ("1.00", "0.00", "0.00", "0", "0.00"),
    }


def test_timesheet_replaces_overtime_keeps_the_rest_and_is_idempotent(city):
    tmp_path, con, policy = city
    attendance = _timesheet(tmp_path / "a.csv", [("H1", "2025-01", "1", "9", "9", "9", "3", "500")],
                            header=("employee_id", "month", "unpaid_leave_days", "overtime_workday_hours",
                                    "overtime_restday_hours", "overtime_holiday_hours", "night_shifts",
                                    "bonus"))
    import_files(con, policy, attendance=attendance)
    sheet = _timesheet(tmp_path / "t.csv", RECORDS)
    import_files(con, policy, timesheet=sheet)
    once = _attendance(con)
    assert once[("H1", "2025-01")] == ("2.50", "4.00", "16.00", "3", "500.00")   # 9 h replaced
    import_files(con, policy, timesheet=sheet)
    assert _attendance(con) == once
    unpaid = con.execute("SELECT CAST(unpaid_leave_days AS VARCHAR) FROM attendance "
                         "WHERE employee_id = 'H1' AND month = '2025-01'").fetchall()
    assert unpaid == [("1.00",)]


def test_timesheet_hours_reach_the_payslip(city):
    """H1 in January: overtime pay = hourly wage × (2.5 × 1.5 + 4 × 2 + 16 × 3), each kind rounded."""
    tmp_path, con, policy = city
    import_files(con, policy, timesheet=_timesheet(tmp_path / "t.csv", RECORDS))
    from payroll.engine.run import run_months
    run_months(con, policy, "2025-01", "2025-01")
    base, workday, restday, holiday, total = con.execute(
        "SELECT overtime_base, overtime_workday_pay, overtime_restday_pay, overtime_holiday_pay, overtime_pay "
        "FROM payslips WHERE employee_id = 'H1' AND month = '2025-01'").fetchall()[0]
    hourly = Decimal(base) / Decimal("21.75") / 8          # SPEC: overtime base ÷ 21.75 ÷ 8

    def fen(x):
        return x.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert (workday, restday, holiday) == (fen(hourly * Decimal("2.5") * Decimal("1.5")),
                                           fen(hourly * 4 * 2), fen(hourly * 16 * 3))
    assert total == workday + restday + holiday


def test_bad_timesheet_cells_name_row_and_column(city):
    tmp_path, con, policy = city
    rows = [("H1", "2025-13-01", "2", ""), ("NOBODY", "2025-01-02", "2", ""), ("H1", "2025-01-03", "25", ""),
            ("H1", "2025-01-04", "-1", ""), ("H1", "2025-01-05", "2", "maybe"), ("H1", "2025-01-05", "1", ""),
            ("H1", "2025-01-06", "", "")]
    with pytest.raises(InputError) as error:
        import_files(con, policy, timesheet=_timesheet(tmp_path / "t.csv", rows,
                                                        header=("工号", "日期", "加班小时", "已补休")))
    found = [(p.file, p.row, p.column) for p in error.value.problems]
    assert found == [("t.csv", 2, "日期"), ("t.csv", 3, "工号"), ("t.csv", 4, "加班小时"),
                     ("t.csv", 5, "加班小时"), ("t.csv", 6, "已补休"), ("t.csv", 7, "日期"), ("t.csv", 8, "加班小时")]
    assert con.execute("SELECT count(*) FROM attendance").fetchall() == [(0,)]


def test_unknown_year_is_refused_by_the_command_with_row_and_column(city):
    tmp_path, con, _ = city
    con.close()                                   # the command opens the database itself
    sheet = _timesheet(tmp_path / "t.csv", [("H1", "2025-12-31", "2", ""), ("H1", "2027-01-02", "2", "")])
    result = run_payroll("import", "--db", tmp_path / "db.duckdb", "--timesheet", sheet)
    assert result.returncode == 2
    assert "t.csv, row 3, column date: '2027-01-02': the official calendar for 2027 is not known" in \
        " ".join(result.stderr.split())
    assert "row 2" not in result.stderr
