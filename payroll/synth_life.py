"""Synthetic leave, probation and deaths for a synthetic roster (issue 14): the demo and the
synthetic year show every new payslip line.

Deterministic: the first stayers (employed all year, at least a year of service) take one leave of
each kind, the first hire of the year is on probation, one Nantong stayer dies outside work in
June (the shipped non_work_death rows are Jiangsu's samples), and every leaver is paid the leave not
taken. On top, a share of the roster takes sick, annual or maternity leave, every hire of the year
has three months' probation, and a few Nantong stayers die: enough to exercise the lines at scale.
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

KIND_DAYS = {"annual": 3, "sick": 4, "maternity": 98, "paternity": 15, "marriage": 3, "bereavement": 3,
             "unpaid": 2, "other_paid": 1, "injury": 10}
DEATH_REGION = "320600"          # non_work_death.csv has (sample) rows for 江苏 only


def synth_life_events(employees: pd.DataFrame, year: int, seed: int = 7, share: float = 0.05
                      ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(leave, employee_terms, events) frames for the roster."""
    rng = np.random.default_rng(seed)
    hire = pd.to_datetime(employees.hire_date)
    leaves = employees.leave_date.replace("", None)
    service = pd.to_datetime(employees.service_start.replace("", None)).fillna(hire)
    stayers = employees[(hire < pd.Timestamp(year - 1, 1, 1)) & leaves.isna()
                        & (service < pd.Timestamp(year - 1, 1, 1))].employee_id.tolist()
    deaths = _deaths(employees, stayers, year, rng)
    dead = set(deaths.employee_id)
    living = [e for e in stayers if e not in dead]
    leave_rows, event_rows = [], list(deaths.itertuples(index=False))
    for index, kind in enumerate(KIND_DAYS):               # one of each kind, in different months
        if index >= len(living):
            break
        start = _workday(date(year, 2 + index, 3))
        leave_rows.append((living[index], kind, start, start + timedelta(days=KIND_DAYS[kind] - 1), "demo"))
        if kind == "injury":                                # 停工留薪 comes from its injury event
            event_rows.append(_injury(living[index], start))
    others = living[len(KIND_DAYS):]
    chosen = rng.random(len(others)) < share
    for employee_id in np.asarray(others)[chosen]:
        kind = rng.choice(["sick", "annual", "maternity"], p=[0.6, 0.35, 0.05])
        start = _workday(date(year, int(rng.integers(1, 9)), int(rng.integers(1, 28))))
        leave_rows.append((employee_id, kind, start, start + timedelta(days=KIND_DAYS[kind] - 1), None))
    leave = pd.DataFrame(leave_rows, columns=["employee_id", "kind", "start_date", "end_date", "note"])
    hired = employees[hire >= pd.Timestamp(year, 1, 1)]
    terms = pd.DataFrame({"employee_id": hired.employee_id,
                          "probation_end": (pd.to_datetime(hired.hire_date) + pd.DateOffset(months=3)
                                            - pd.Timedelta(days=1)).dt.date})
    events = pd.DataFrame(event_rows, columns=["employee_id", "event_date", "kind", "stoppage_months", "cause"])
    return leave, terms, events


def _workday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _injury(employee_id: str, day: date):
    return (employee_id, day, "injury", 1, "work")


def _deaths(employees: pd.DataFrame, stayers: list[str], year: int, rng) -> pd.DataFrame:
    in_region = set(employees[employees.region_code == DEATH_REGION].employee_id)   # once: not per person
    nantong = [e for e in stayers if e in in_region]
    rows = []
    if nantong:
        rows.append((nantong[-1], date(year, 6, 10), "death", 0, "non_work"))
        for employee_id in nantong[:-1]:
            if rng.random() < 0.0005:
                rows.append((employee_id, date(year, int(rng.integers(1, 12)), 15), "death", 0, "non_work"))
    return pd.DataFrame(rows, columns=["employee_id", "event_date", "kind", "stoppage_months", "cause"])


def write_life_events(con, leave: pd.DataFrame, terms: pd.DataFrame, events: pd.DataFrame) -> None:
    for name, frame, sql in (
            ("_synth_leave", leave, "INSERT OR REPLACE INTO leave SELECT employee_id, kind, CAST(start_date AS DATE), "
                                    "CAST(end_date AS DATE), note FROM _synth_leave"),
            ("_synth_terms", terms, "INSERT OR REPLACE INTO employee_terms SELECT employee_id, "
                                    "CAST(probation_end AS DATE) FROM _synth_terms"),
            ("_synth_events", events, "INSERT OR REPLACE INTO events (employee_id, event_date, kind, stoppage_months, "
                                      "cause) SELECT employee_id, CAST(event_date AS DATE), kind, stoppage_months, "
                                      "cause FROM _synth_events")):
        if frame.empty:
            continue
        con.register(name, frame)
        try:
            con.execute(sql)
        finally:
            con.unregister(name)
