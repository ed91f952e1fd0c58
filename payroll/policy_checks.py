"""Checks of the policy tables as a whole, run by `load_policy` after every cell has parsed.

A cell can be well formed and still wrong: two rows for the same key and date, a rate of 1.6, a
contribution floor above its ceiling, a minimum wage above the average wage, a tax table whose
quick deductions do not match its rates. Each problem names the file, the row and the column, so
finance can fix the table; nothing is loaded until all are fixed.

Further checks plug in with `@table_check` (the level-pay ordering of issue 16 is one): a check
takes the parsed frames and appends CellProblems.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pandas as pd

from .errors import CellProblem

Frames = dict[str, pd.DataFrame]
TableCheck = Callable[[Frames, list[CellProblem]], None]

TABLE_CHECKS: list[TableCheck] = []


def table_check(check: TableCheck) -> TableCheck:
    """Register a whole-table check; `check_tables` runs them in registration order."""
    TABLE_CHECKS.append(check)
    return check


def check_tables(frames: Frames, problems: list[CellProblem]) -> None:
    for check in TABLE_CHECKS:
        check(frames, problems)


def _problem(table: str, row, column: str, reason: str) -> CellProblem:
    return CellProblem(f"{table}.csv", int(row.row_no), column, reason)


# Rows that must not share a key: (table, key columns). Two rows with the same key and date would
# make "the row in force" ambiguous.
UNIQUE_KEYS = {
    "regions": ("region_code",),
    "average_wage": ("region_code", "effective_from"),
    "minimum_wage": ("region_code", "effective_from"),
    "social_insurance": ("region_code", "effective_from", "fund"),
    "housing_fund": ("region_code", "effective_from"),
    "pay_scale": ("region_code", "effective_from", "category", "level"),
    "allowances": ("region_code", "effective_from", "item"),
    "posts": ("post",),
    "accident_insurance": ("region_code", "effective_from", "cover"),
    "pay_floor": ("region_code", "effective_from"),
    "iit_brackets": ("effective_from", "threshold"),
    "iit_bonus_brackets": ("effective_from", "threshold"),
    "national_parameters": ("name", "effective_from"),
    "national_statistics": ("year",),
    "injury_grades": ("disability_grade",),
    "injury_leaving_grants": ("region_code", "effective_from", "grant", "disability_grade"),
    "police_reference": ("region_code", "effective_from"),
    "police_disability_pension": ("region_code", "effective_from", "disability_grade", "cause"),
    "calendar": ("date",),
    "medical_levies": ("region_code", "effective_from"),     # issue 15
    # issue 14
    "leave_days": ("region_code", "effective_from", "kind"),
    "sick_pay": ("region_code", "effective_from", "min_service_years", "min_sick_days"),
    "maternity": ("region_code", "effective_from"),
    "probation": ("region_code", "effective_from"),
    "annual_leave_entitlement": ("effective_from", "min_service_years"),
    "annual_leave_policy": ("region_code", "effective_from"),
    "non_work_death": ("region_code", "effective_from", "item"),
    "performance_pay": ("region_code", "effective_from", "category", "level", "result", "paid"),
    "level_rules": ("region_code", "effective_from", "category", "level"),
    "selection_quotas": ("region_code", "effective_from", "level"),
    "pay_scale_ratios": ("region_code", "effective_from", "category", "level"),
    "pay_structure": ("region_code", "effective_from"),
    "appraisal_distribution": ("region_code", "effective_from"),
    "appraisal_labels": ("region_code", "label"),
}


@table_check
def overlapping_rows(frames: Frames, problems: list[CellProblem]) -> None:
    for name, key in UNIQUE_KEYS.items():
        frame = frames.get(name)
        if frame is None or frame.empty:
            continue
        complete = frame[list(key)].notna().all(axis=1)
        for _, row in frame[frame.duplicated(list(key), keep="first") & complete].iterrows():
            first = frame[(frame[list(key)] == row[list(key)]).all(axis=1)].row_no.min()
            problems.append(_problem(name, row, ",".join(key),
                                     f"repeats the key of row {int(first)} (same {', '.join(key)})"))


# columns that are shares of a whole: 0 to 1 (0 %–100 %); negative values are refused on parsing
SHARE_COLUMNS = {
    "social_insurance": ("employer_rate", "employee_rate"),
    "housing_fund": ("employer_rate", "employee_rate"),
    "iit_brackets": ("rate",),
    "injury_grades": ("allowance_rate",),
    "sick_pay": ("share", "minimum_wage_floor_ratio"),      # issue 14
    "probation": ("ratio",),
}


@table_check
def rates_are_shares(frames: Frames, problems: list[CellProblem]) -> None:
    for name, columns in SHARE_COLUMNS.items():
        frame = frames[name]
        for column in columns:
            for _, row in frame[frame[column].notna() & (frame[column] > 1)].iterrows():
                problems.append(_problem(name, row, column,
                                         f"{row[column]} is above 1 (100 %); write a rate as a decimal, e.g. 0.08"))


@table_check
def floors_not_above_ceilings(frames: Frames, problems: list[CellProblem]) -> None:
    for name in ("social_insurance", "housing_fund"):
        frame = frames[name]
        bad = frame.base_floor.notna() & frame.base_ceiling.notna() & (frame.base_floor > frame.base_ceiling)
        for _, row in frame[bad].iterrows():
            problems.append(_problem(name, row, "base_floor",
                                     f"floor {row.base_floor} is above the ceiling {row.base_ceiling}"))


@table_check
def valid_until_after_start(frames: Frames, problems: list[CellProblem]) -> None:
    for name, frame in frames.items():
        if "valid_until" not in frame.columns or "effective_from" not in frame.columns:
            continue
        bad = frame.valid_until.notna() & frame.effective_from.notna() & (frame.valid_until < frame.effective_from)
        for _, row in frame[bad].iterrows():
            problems.append(_problem(name, row, "valid_until",
                                     f"{row.valid_until} is before effective_from {row.effective_from}"))


def _dated_rows(frame: pd.DataFrame, value: str) -> dict[str, list[tuple]]:
    """region -> its rows as (effective_from, valid_until or None, value, row_no), oldest first."""
    until = frame.valid_until if "valid_until" in frame else pd.Series(None, index=frame.index)
    rows: dict[str, list[tuple]] = {}
    for code, start, end, amount, row_no in zip(frame.region_code, frame.effective_from, until,
                                                frame[value], frame.row_no):
        rows.setdefault(code, []).append((start, None if pd.isna(end) else end, amount, int(row_no)))
    for region_rows in rows.values():
        region_rows.sort(key=lambda row: row[0])           # stable: equal dates keep file order
    return rows


def _in_force(rows: dict[str, list[tuple]], ancestors: list[str], day) -> tuple | None:
    """The row in force on `day` for a region whose chain (nearest first) is `ancestors`."""
    for code in ancestors:
        in_force = [row for row in rows.get(code, ()) if row[0] <= day and (row[1] is None or row[1] >= day)]
        if in_force:
            return in_force[-1]
    return None


def _chains(regions: pd.DataFrame) -> dict[str, list[str]]:
    parent = {code: (None if pd.isna(up) else up) for code, up in zip(regions.region_code, regions.parent_code)}
    chains = {}
    for code in parent:
        chain, current = [], code
        while current and current in parent and current not in chain:
            chain.append(current)
            current = parent[current]
        chains[code] = chain
    return chains


@table_check
def minimum_wage_below_average_wage(frames: Frames, problems: list[CellProblem]) -> None:
    """On every date either table changes, each region's minimum wage in force is below its
    average wage in force (a minimum above the average is a typing slip: a digit too many)."""
    minimum, average = frames["minimum_wage"], frames["average_wage"]
    if minimum.empty or average.empty or minimum.effective_from.isna().any() or average.effective_from.isna().any():
        return
    dates = sorted(set(minimum.effective_from) | set(average.effective_from))
    minimum_rows = _dated_rows(minimum, "monthly_minimum_wage")
    average_rows = _dated_rows(average, "monthly_average_wage")
    reported = set()
    for code, chain in _chains(frames["regions"]).items():
        for day in dates:
            low, mean = _in_force(minimum_rows, chain, day), _in_force(average_rows, chain, day)
            if low is None or mean is None or low[2] <= mean[2] or low[3] in reported:
                continue
            reported.add(low[3])
            problems.append(CellProblem("minimum_wage.csv", low[3], "monthly_minimum_wage",
                                        f"{low[2]} is above the average wage {mean[2]} in force for "
                                        f"{code} on {day} (average_wage.csv row {mean[3]})"))


@table_check
def tax_table_consistent(frames: Frames, problems: list[CellProblem]) -> None:
    """Each dated tax table (the annual 预扣率表一 and the monthly-converted table of the annual
    bonus) starts at 0 with no quick deduction (the tax on 0 is 0), its rates do not fall as income
    rises, and it is continuous at every threshold: the quick deduction of a bracket equals the
    previous one plus threshold × (its rate − the previous rate), so tax is the same computed by
    either bracket at the threshold (公告2018年第61号 预扣率表一 and 财税〔2018〕164号 附件 satisfy this)."""
    for name in ("iit_brackets", "iit_bonus_brackets"):
        brackets = frames.get(name)
        if brackets is None or brackets.empty or \
                brackets[["effective_from", "threshold", "rate", "quick_deduction"]].isna().any().any():
            continue
        for _, table in brackets.groupby("effective_from"):
            _one_tax_table(name, table.sort_values("threshold"), problems)


def _one_tax_table(name: str, table, problems: list[CellProblem]) -> None:
    first = table.iloc[0]
    if first.threshold != 0:
        problems.append(_problem(name, first, "threshold",
                                 f"the lowest bracket of {first.effective_from} starts at {first.threshold}, not 0"))
    if Decimal(first.quick_deduction) != 0:
        problems.append(_problem(name, first, "quick_deduction",
                                 f"{first.quick_deduction} in the lowest bracket would make the tax on a small "
                                 f"income negative: it must be 0"))
    # the quick deductions the rates and thresholds imply, from the first bracket's own: one
    # wrong cell is one problem, not a cascade through every bracket above it
    expected = Decimal(first.quick_deduction)
    for previous, (_, row) in zip(table.itertuples(index=False), list(table.iterrows())[1:]):
        if row.rate < previous.rate:
            problems.append(_problem(name, row, "rate",
                                     f"{row.rate} is below the rate {previous.rate} of the bracket under it"))
            break
        expected += Decimal(row.threshold) * (Decimal(row.rate) - Decimal(previous.rate))
        if Decimal(row.quick_deduction) != expected:
            problems.append(_problem(name, row, "quick_deduction",
                                     f"{row.quick_deduction} makes the tax jump at {row.threshold}: with the "
                                     f"rates {previous.rate} and {row.rate} it must be {expected.normalize():f}"))


@table_check
def calendar_days_fit_their_kind(frames: Frames, problems: list[CellProblem]) -> None:
    """A make-up working day replaces a weekend; a day off by 调休 replaces a weekday."""
    calendar = frames.get("calendar")
    if calendar is None or calendar.empty:
        return
    for _, row in calendar[calendar.date.notna()].iterrows():
        weekend = row.date.weekday() >= 5
        if row.kind == "makeup_workday" and not weekend:
            problems.append(_problem("calendar", row, "kind",
                                     f"{row.date} is a weekday; a makeup_workday is a Saturday or Sunday worked"))
        if row.kind == "day_off" and weekend:
            problems.append(_problem("calendar", row, "kind",
                                     f"{row.date} is a weekend day; a day_off is a weekday not worked"))


# Figures a rule divides by (issue 12, defect 7): a 0 would stop the run with a division by zero.
# national_parameters names: 月计薪天数 and hours a day (rules/proration.py, overtime.py, leave.py);
# table columns: the maternity allowance's days a month (rules/leave.py).
DIVISOR_PARAMETERS = ("pay_days_per_month", "hours_per_day")
DIVISOR_COLUMNS = {"maternity": ("allowance_day_divisor",)}


@table_check
def divisors_above_zero(frames: Frames, problems: list[CellProblem]) -> None:
    parameters = frames.get("national_parameters")
    if parameters is not None and not parameters.empty:
        divisors = parameters[parameters["name"].isin(DIVISOR_PARAMETERS) & parameters["value"].notna()]
        for _, row in divisors[divisors["value"] <= 0].iterrows():
            problems.append(_problem("national_parameters", row, "value",
                                     f"{row['name']} is {row['value']}: the pay rules divide by it, so it "
                                     f"must be above 0 (e.g. 21.75 days, 8 hours)"))
    for name, columns in DIVISOR_COLUMNS.items():
        frame = frames.get(name)
        if frame is None or frame.empty:
            continue
        for column in columns:
            for _, row in frame[frame[column].notna() & (frame[column] <= 0)].iterrows():
                problems.append(_problem(name, row, column,
                                         f"{row[column]} is not above 0: the pay rules divide by it"))


# Level-pay ordering (each level pays at least the one below it): issue 16 registers it here with
# @table_check, in its own module.
