"""The official calendar (国务院办公厅 annual holiday notice; 全国年节及纪念日放假办法) from `holidays`.

A paid day (计薪日) is a working day or a statutory holiday (劳社部发〔2008〕3号: statutory
holidays are paid, rest days are not). Days off moved by 调休 and 补休 days are rest days; make-up
working days on a weekend are working days. A year without published 调休 data is refused: the
library would otherwise guess it from rules, and pay would silently depend on a guess.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
import pandas as pd

from .errors import PayrollError

WORKDAY, RESTDAY, STATUTORY = "workday", "restday", "statutory"


class CalendarError(PayrollError):
    pass


def _is_statutory(name: str) -> bool:
    return "observed" not in name and not name.startswith("Day off")


@lru_cache(maxsize=None)
def year_days(year: int) -> tuple[tuple[date, str], ...]:
    """Every day of the year with its kind: workday, restday or statutory."""
    calendar = holidays.China(years=year, language="en_US")
    makeup_workdays = {d for d in calendar.weekend_workdays if d.year == year}
    if not makeup_workdays:
        raise CalendarError(
            f"the official calendar for {year} is not known (no 调休 arrangement published in the "
            f"installed `holidays` package {holidays.__version__}); upgrade it once the State "
            f"Council notice for {year} is out")
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        name = calendar.get(day)
        if name is not None and _is_statutory(name):
            kind = STATUTORY
        elif name is not None or (day.weekday() >= 5 and day not in makeup_workdays):
            kind = RESTDAY
        else:
            kind = WORKDAY
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


def paid_days(year: int, month: int) -> int:
    return sum(1 for d, kind in year_days(year) if d.month == month and kind != RESTDAY)
