"""The official calendar (国务院办公厅 annual holiday notice; 全国年节及纪念日放假办法): the
`holidays` package, overridden and extended by the policy table `calendar.csv`.

A paid day (计薪日) is a working day or a statutory holiday (劳社部发〔2008〕3号: statutory
holidays are paid, rest days are not). Days off moved by 调休 and 补休 days are rest days; make-up
working days on a weekend are working days. A year without published 调休 data is refused: the
library would otherwise guess it from rules, and pay would silently depend on a guess.

`calendar.csv` (date, kind, source) lets finance enter a notice the day it is published: a
`holiday` is a statutory holiday (paid), a `day_off` a weekday off by 调休 or 补休 (a rest day), a
`makeup_workday` a weekend working day. For a year the package knows, each row overrides the
package's day; for a year it does not, the table alone gives the year (weekends rest, weekdays work,
then the rows), so a year with neither is refused, naming the table to fill.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import pandas as pd
import pyarrow as pa

from .errors import PayrollError

WORKDAY, RESTDAY, STATUTORY = "workday", "restday", "statutory"


TABLE_KINDS = {"holiday": STATUTORY, "day_off": RESTDAY, "makeup_workday": WORKDAY}


class CalendarError(PayrollError):
    pass


# the calendar table in use: {date: kind}, and where it was read (for messages). Set by
# load_policy / prepare_connection through use_calendar_table; the package alone when empty.
_table_days: dict[date, str] = {}
_table_file = "tables/calendar.csv"


def use_calendar_table(rows: pd.DataFrame | None, file: str = "tables/calendar.csv") -> None:
    """Install the calendar table's rows (columns date, kind) for every later lookup."""
    global _table_days, _table_file
    days = {} if rows is None or rows.empty else {
        pd.Timestamp(day).date(): TABLE_KINDS[kind] for day, kind in zip(rows["date"], rows["kind"])}
    if days != _table_days or file != _table_file:
        _table_days, _table_file = days, file
        year_days.cache_clear()
        calendar_table.cache_clear()


def _package_days(year: int) -> dict[date, str] | None:
    """The package's kind of every non-ordinary day, or None if it has no 调休 data for the year."""
    calendar = holidays.China(years=year, language="en_US")
    makeup_workdays = {d for d in calendar.weekend_workdays if d.year == year}
    if not makeup_workdays:
        return None
    days = {d: WORKDAY for d in makeup_workdays}
    for day, name in calendar.items():
        if day.year == year:
            days[day] = STATUTORY if _is_statutory(name) else RESTDAY
    return days


def _is_statutory(name: str) -> bool:
    return "observed" not in name and not name.startswith("Day off")


@lru_cache(maxsize=None)
def year_days(year: int) -> tuple[tuple[date, str], ...]:
    """Every day of the year with its kind: workday, restday or statutory."""
    table = {day: kind for day, kind in _table_days.items() if day.year == year}
    special = _package_days(year)
    if special is None and not table:
        raise CalendarError(
            f"the official calendar for {year} is not known: the installed `holidays` package "
            f"{holidays.__version__} has no 调休 arrangement for {year} and {_table_file} has no rows for it; "
            f"enter the State Council notice for {year} in {_table_file} (date, kind holiday | day_off | "
            f"makeup_workday, source), or upgrade the package once it has the notice")
    special = {**(special or {}), **table}          # the table wins where the two disagree
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        kind = special.get(day) or (RESTDAY if day.weekday() >= 5 else WORKDAY)
        days.append((day, kind))
        day += timedelta(days=1)
    return tuple(days)


def calendar_frame(years: list[int]) -> pd.DataFrame:
    """day, kind, paid (0/1), paid_cum (paid days from the 1st of the month through the day)."""
    rows = [(d, kind) for year in sorted(set(years)) for d, kind in year_days(year)]
    frame = pd.DataFrame(rows, columns=["day", "kind"])
    frame["paid"] = (frame.kind != RESTDAY).astype("int32")
    month = frame.day.map(lambda d: (d.year, d.month))
    frame["paid_cum"] = frame.groupby(month).paid.cumsum().astype("int32")
    return frame


@lru_cache(maxsize=16)
def calendar_table(years: tuple[int, ...]) -> pa.Table:
    """calendar_frame as Arrow, made once per set of years and calendar table: a run installs it in
    every new connection (issue 17). Arrow: shared, never changed."""
    return pa.Table.from_pandas(calendar_frame(list(years)), preserve_index=False)


def paid_days(year: int, month: int) -> int:
    return sum(1 for d, kind in year_days(year) if d.month == month and kind != RESTDAY)
