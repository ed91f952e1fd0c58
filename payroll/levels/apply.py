"""`payroll levels --year Y --apply FILE`: the approved list becomes dated level changes.

Each row is a new version of the person's record from `effective_from` (engine/employee_history.py),
written by the same statements as an employees file with an `effective_from` column, so applying a
list and then running pays exactly what importing those levels by hand pays. A date in a closed
month is paid back through the retro path (engine/retro.py) when the next open month is run.

Selection promotions (选拔晋升, 内蒙古条例 art. 33) are rows of kind `selection`; per unit, level
reached and year they may not exceed `selection_quotas` (a breach is an error naming the unit).
A promotion by appraisal may not reach a level above the rule's `top_level_without_selection`.
Every row is checked before anything is written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import pandas as pd

from ..db import transaction
from ..engine.closing import first_open_month
from ..engine.context import Month
from ..engine.employee_history import employees_as_of_sql, record_versions
from ..engine.ledger import record_import
from ..errors import CellProblem, InputError
from ..io.checks import (FALSE_WORDS, ProblemLog, check_unique, parse_choice, parse_dates, parse_whole_numbers,
                         require_known_employee)
from ..io.importer import EMPLOYEE_COLUMNS, INSERT_EMPLOYEES, NEW_EMPLOYEE_RECORDS
from ..io.readers import Layout, read_table
from ..pay_structure import _ancestors, _in_force
from ..policy import Policy
from .rules import rule_in_force

LEVEL_CHANGES = Layout("levels", required=("employee_id", "to_level", "effective_from"),
                       optional=("from_level", "change_kind", "reason", "rule_row", "approved", "name", "unit",
                                 "region_code", "category"))
KIND_ALIASES = {"promotion": "promotion", "晋升": "promotion", "考核晋升": "promotion",
                "demotion": "demotion", "降级": "demotion",
                "selection": "selection", "选拔晋升": "selection", "选拔": "selection"}
SELECTION_BASIS = "内蒙古条例 art. 33; 鄂尔多斯指导意见 三(三)2 (选拔晋升)"


@dataclass
class ApplySummary:
    applied: int
    refused: int
    back_dated_from: str | None = None
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"level changes: {self.applied:,} applied, {self.refused:,} not approved (审批 = 否)"
        if self.back_dated_from:
            text += (f"\nnote: changes from {self.back_dated_from} reach closed months: the differences are paid as "
                     f"arrears when the next open month is run")
        return text


def apply_changes(con: duckdb.DuckDBPyConnection, policy: Policy, path: Path) -> ApplySummary:
    path = Path(path)
    rows, problems = validate_changes(con, policy, path)
    if problems:
        raise InputError(problems)
    approved = rows[rows.approved]
    opens = first_open_month(con)
    with transaction(con):
        for day, batch in approved.groupby("effective_from", sort=True):
            _write_versions(con, batch, opens, path.name)
        if not approved.empty:
            con.register("_level_change_rows", approved[["employee_id", "effective_from", "from_level", "to_level",
                                                         "kind", "reason", "rule_row", "unit"]])
            try:
                con.execute("""INSERT INTO level_changes SELECT employee_id, CAST(effective_from AS DATE),
                    CAST(from_level AS INTEGER), CAST(to_level AS INTEGER), kind, reason, NULLIF(rule_row, ''),
                    unit, now()::TIMESTAMP, ? FROM _level_change_rows""", [path.name])
            finally:
                con.unregister("_level_change_rows")
        record_import(con, "levels", path, len(rows))
    earliest = min(approved.effective_from) if not approved.empty else None
    back = earliest.isoformat() if opens is not None and earliest is not None and earliest < opens.start else None
    return ApplySummary(applied=len(approved), refused=int((~rows.approved).sum()), back_dated_from=back)


def _write_versions(con, batch: pd.DataFrame, opens: Month | None, file_name: str) -> None:
    """The people's current records with the new level, dated: the employees import's own statements."""
    con.register("_level_batch", batch[["employee_id", "to_level", "effective_from", "file_row"]])
    text = {c: f"coalesce(CAST(e.{c} AS VARCHAR), '')" for c in EMPLOYEE_COLUMNS}
    text["level"] = "CAST(b.to_level AS VARCHAR)"
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _import_employees AS
            SELECT {", ".join(f"{sql} AS {c}" for c, sql in text.items())},
                   CAST(b.effective_from AS VARCHAR) AS effective_from, b.file_row AS row_number
            FROM employees e JOIN _level_batch b USING (employee_id)""")
        con.execute(NEW_EMPLOYEE_RECORDS)
        record_versions(con, "_import_employees", opens.start if opens else None, file_name)
        con.execute(INSERT_EMPLOYEES)
    finally:
        con.unregister("_level_batch")
        con.execute("DROP TABLE IF EXISTS _import_employees")


def validate_changes(con: duckdb.DuckDBPyConnection, policy: Policy, path: Path) -> tuple[pd.DataFrame, list[CellProblem]]:
    try:
        table = read_table(path, LEVEL_CHANGES)
    except InputError as error:
        return pd.DataFrame(), list(error.problems)
    log = ProblemLog(table)
    cells = table.frame
    known = pd.Index(con.execute("SELECT employee_id FROM employees").df()["employee_id"].astype(str))
    has_id = require_known_employee(log, cells["employee_id"], known)
    check_unique(log, cells[["employee_id"]], "employee_id", "employee_id")
    to_level = parse_whole_numbers(log, cells["to_level"], "to_level", required=True, minimum=1, maximum=99)
    from_level = parse_whole_numbers(log, cells["from_level"], "from_level", required=False, minimum=1, maximum=99)
    dates = parse_dates(log, cells["effective_from"], "effective_from", required=True)
    kinds = parse_choice(log, cells["change_kind"], "change_kind", KIND_ALIASES, required=False)
    approved = ~cells["approved"].str.casefold().isin(FALSE_WORDS) | (cells["approved"] == "")
    rows = pd.DataFrame({"employee_id": cells["employee_id"], "to_level": to_level, "from_level": from_level,
                         "effective_from": dates.dt.date, "kind": kinds, "reason": cells["reason"],
                         "rule_row": cells["rule_row"], "approved": approved,
                         "file_row": table.row_numbers.to_numpy(), "unit": ""})
    problems = log.problems()
    checkable = has_id & to_level.notna() & dates.notna()
    problems += _check_against_records(con, policy, rows, checkable, table.file, table.header_of)
    return rows, problems


def _check_against_records(con, policy: Policy, rows: pd.DataFrame, checkable: pd.Series, file: str,
                           header_of) -> list[CellProblem]:
    """Each change against the person's record in force on its date, the scale and the rules."""
    problems: list[CellProblem] = []
    records: dict[date, dict] = {}
    # a roster's list repeats the same few (region, category, level, day): look each up once
    levels_of = lru_cache(maxsize=None)(policy.levels)
    rule_of = lru_cache(maxsize=None)(lambda *key: rule_in_force(policy, *key))
    for index in rows.index[checkable]:
        row = rows.loc[index]
        day: date = row.effective_from
        if day not in records:
            month = Month.parse(day.strftime("%Y-%m"))
            found = con.execute(f"SELECT employee_id, region_code, category, level, unit, hire_date, leave_date "
                                f"FROM ({employees_as_of_sql(month)})").fetchall()
            records[day] = {r[0]: r for r in found}
        record = records[day].get(row.employee_id)

        def problem(column: str, reason: str) -> None:
            problems.append(CellProblem(file, int(row.file_row), header_of(column), reason))

        if record is None:
            problem("effective_from", f"'{row.employee_id}' has no record in force on {day}")
            continue
        _, region, category, level, unit, hire, leave = record
        rows.at[index, "unit"] = unit
        if hire > day or (leave is not None and leave < day):
            problem("effective_from", f"'{row.employee_id}' is not employed on {day}")
            continue
        target = int(row.to_level)
        if target not in levels_of(region, category):
            shown = ", ".join(str(v) for v in sorted(levels_of(region, category)))
            problem("to_level", f"level {target} is outside the {category} scale of region {region} (levels {shown})")
            continue
        if pd.notna(row.from_level) and int(row.from_level) != level:
            problem("from_level", f"'{row.employee_id}' is at level {level} on {day}, not {int(row.from_level)}")
            continue
        if target == level:
            problem("to_level", f"'{row.employee_id}' is already at level {level} on {day}")
            continue
        kind = row.kind if pd.notna(row.kind) else ("promotion" if target < level else "demotion")
        rows.at[index, "kind"] = kind
        if (kind == "demotion") != (target > level):
            problem("change_kind", f"{kind} from level {level} to {target} goes the wrong way (1 is the top level)")
            continue
        if kind == "promotion":
            rule = rule_of(region, category, level, day)
            if rule is not None and target < int(rule["top_level_without_selection"]):
                problem("to_level", f"level {target} is reached only by selection (选拔晋升, change_kind selection; "
                                    f"level_rules.csv row {int(rule['row_no'])})")
        if row.from_level is None or pd.isna(row.from_level):
            rows.at[index, "from_level"] = level
    problems += _check_quotas(con, policy, rows[checkable & rows.approved & (rows.kind == "selection")], records,
                              file, header_of)
    return problems


def _check_quotas(con, policy: Policy, selections: pd.DataFrame, records: dict, file: str, header_of) -> list[CellProblem]:
    """Selection promotions per unit, level reached and year, with those already applied, within the quota."""
    problems: list[CellProblem] = []
    quotas = policy.frames.get("selection_quotas")
    if selections.empty or quotas is None or quotas.empty:
        return problems
    earlier = dict(((unit, level, year), count) for unit, level, year, count in con.execute(
        "SELECT unit, to_level, year(effective_from), count(*) FROM level_changes WHERE kind = 'selection' "
        "GROUP BY ALL").fetchall())
    selections = selections.assign(year=[d.year for d in selections.effective_from])
    for (unit, level, year), group in selections.groupby(["unit", "to_level", "year"]):
        first = group.iloc[0]
        region = records[first.effective_from][first.employee_id][1]
        rows = _in_force(quotas[quotas.level == int(level)], _ancestors(policy.chain, region), first.effective_from)
        if rows.empty:
            continue
        quota, row_no = int(rows.iloc[0].quota), int(rows.iloc[0].row_no)
        before = earlier.get((unit, int(level), int(year)), 0)
        if before + len(group) > quota:
            for _, over in group.iloc[max(quota - before, 0):].iterrows():
                problems.append(CellProblem(
                    file, int(over.file_row), header_of("change_kind"),
                    f"unit {unit}: {before + len(group)} selection promotions to level {int(level)} in {year} "
                    f"exceed the quota of {quota} (selection_quotas.csv row {row_no}; {SELECTION_BASIS})"))
    return problems
