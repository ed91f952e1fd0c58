"""`payroll import --timesheet F`: dated overtime records, classified by the official calendar and
summed into the month's attendance.

Each row is one person and one day: employee_id, date, hours, and optionally time_off_given
(已补休: true when the rest-day work was compensated with time off). The day's kind comes from
payroll/calendar.py (国务院办公厅 annual notice as published in `holidays`):

- statutory holiday (法定节假日) -> overtime_holiday_hours, paid 300 % (劳动法 art. 44(3)); time off
  given does not change that: the law allows no substitution for holiday work;
- rest day (休息日, including days off moved by 调休) -> overtime_restday_hours, paid 200 %
  (劳动法 art. 44(2)), unless time off was given, in which case the hours are not paid overtime;
- working day (工作日, including make-up working days 调休上班 on a weekend) ->
  overtime_workday_hours, paid 150 % (劳动法 art. 44(1)).

How it meets the attendance file: for every (employee, month) the timesheet has a row in, the
timesheet's sums REPLACE the three overtime-hours columns of that month's attendance row (the row is
created with zeros elsewhere if missing); unpaid leave, night shifts, bonus and deduction are left
as they are. Re-importing the same timesheet therefore gives the same attendance (idempotent), and
a corrected timesheet for a month replaces the earlier one. An `--attendance` file imported later
replaces the whole attendance row, overtime included: the last import wins.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from ..calendar import RESTDAY, STATUTORY, WORKDAY, CalendarError, year_days
from .checks import ProblemLog, check_unique, parse_amounts, parse_dates, require_known_employee
from .readers import Layout, RawTable

TIMESHEET = Layout("timesheet", required=("employee_id", "date", "hours"), optional=("time_off_given",))
MAX_HOURS_IN_DAY = 24
TRUE_WORDS = ("true", "yes", "y", "1", "是", "已补休")
FALSE_WORDS = ("false", "no", "n", "0", "否", "")
HOURS_BY_KIND = {WORKDAY: "overtime_workday_hours", RESTDAY: "overtime_restday_hours",
                 STATUTORY: "overtime_holiday_hours"}
MONTHLY_COLUMNS = ("employee_id", "month", *HOURS_BY_KIND.values())


def day_kinds(dates: pd.Series) -> pd.Series:
    """workday | restday | statutory for each date (datetime64); CalendarError for an unknown year."""
    years = sorted(set(dates.dt.year.dropna().astype(int)))
    kinds = {pd.Timestamp(day): kind for year in years for day, kind in year_days(year)}
    return dates.map(kinds)


def classify(day) -> str:
    """The kind of one date (a datetime.date): workday, restday or statutory."""
    return day_kinds(pd.Series(pd.to_datetime([day]))).iloc[0]


def validate_timesheet(table: RawTable, known_ids: pd.Index | None) -> tuple[pd.DataFrame, list]:
    """Check every cell; return one row per (employee, month) with the three hours sums, and the
    problems. Rows whose date falls in a year the calendar does not know are refused, naming the
    row and the date column."""
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    dates = parse_dates(log, cells["date"], "date", required=True)
    check_unique(log, cells[["employee_id", "date"]], "date", "employee_id and date")
    hours = parse_amounts(log, cells["hours"], "hours", maximum=MAX_HOURS_IN_DAY)
    log.flag(cells["hours"] == "", "hours", "is empty")
    compensated = _parse_flags(log, cells["time_off_given"])
    kinds = _kinds(log, dates)
    if log:
        return pd.DataFrame(columns=list(MONTHLY_COLUMNS)), log.problems()
    return monthly_hours(cells["employee_id"], dates, hours, kinds, compensated), []


def _parse_flags(log: ProblemLog, values: pd.Series) -> pd.Series:
    folded = values.str.casefold()
    truthy = folded.isin(TRUE_WORDS)
    log.flag(~truthy & ~folded.isin(FALSE_WORDS), "time_off_given",
             "'{}' is not true/false (是/否)", values)
    return truthy


def _kinds(log: ProblemLog, dates: pd.Series) -> pd.Series:
    """Day kinds; rows in a year the calendar does not know are flagged (column date)."""
    kinds = pd.Series(pd.NA, index=dates.index, dtype=object)
    for year in sorted(set(dates.dt.year.dropna().astype(int))):
        in_year = dates.dt.year == year
        try:
            kinds[in_year] = day_kinds(dates[in_year])
        except CalendarError as error:
            log.flag(in_year, "date", "'{}': " + str(error), log.table.frame["date"])
    return kinds


def monthly_hours(employee_ids: pd.Series, dates: pd.Series, hours: pd.Series, kinds: pd.Series,
                  compensated: pd.Series) -> pd.DataFrame:
    """Sum the day records into overtime hours per person, month and kind. Hours are summed in
    hundredths (integers) so the totals are exact, and returned as text for DECIMAL loading."""
    centi = (hours.fillna(0) * 100).round().astype("int64")
    # rest-day work compensated with time off is not paid overtime (劳动法 art. 44(2))
    centi = centi.where(~((kinds == RESTDAY) & compensated), 0)
    frame = pd.DataFrame({"employee_id": employee_ids, "month": dates.dt.strftime("%Y-%m"),
                          "kind": kinds, "centi": centi})
    sums = frame.pivot_table(index=["employee_id", "month"], columns="kind", values="centi",
                             aggfunc="sum", fill_value=0)
    out = pd.DataFrame(index=sums.index)
    for kind, column in HOURS_BY_KIND.items():
        values = sums[kind] if kind in sums.columns else 0
        out[column] = pd.Series(values, index=sums.index).astype("int64").map(
            lambda c: f"{c // 100}.{c % 100:02d}")
    return out.reset_index()[list(MONTHLY_COLUMNS)]


@dataclass
class TimesheetCount:
    records: int
    months: int

    def __str__(self) -> str:
        return f"{self.records:,} dated records into {self.months:,} person-months of attendance"


UPSERT_ATTENDANCE = """
INSERT INTO attendance (employee_id, month, overtime_workday_hours, overtime_restday_hours,
                        overtime_holiday_hours)
SELECT employee_id, month, CAST(overtime_workday_hours AS DECIMAL(8,2)),
       CAST(overtime_restday_hours AS DECIMAL(8,2)), CAST(overtime_holiday_hours AS DECIMAL(8,2))
FROM _import_timesheet
ON CONFLICT (employee_id, month) DO UPDATE SET
    overtime_workday_hours = excluded.overtime_workday_hours,
    overtime_restday_hours = excluded.overtime_restday_hours,
    overtime_holiday_hours = excluded.overtime_holiday_hours"""


def write_timesheet(con: duckdb.DuckDBPyConnection, monthly: pd.DataFrame, records: int) -> TimesheetCount:
    """Upsert the monthly sums into attendance (inside the caller's transaction)."""
    con.register("_import_timesheet", monthly)
    try:
        con.execute(UPSERT_ATTENDANCE)
    finally:
        con.unregister("_import_timesheet")
    return TimesheetCount(records=records, months=len(monthly))
