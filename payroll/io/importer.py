"""`payroll import`: validate every row of every input file, then load them all in one transaction.

Validation is column-wise (a million rows take seconds): each check flags every bad cell of its
column, and nothing is written unless no file has any problem. Cells stay text until DuckDB casts
them, so money goes from the file's digits to DECIMAL(18,2) without passing through a float.
The full ID number is never stored: only `id_number_masked`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from ..db import key_added_after, scalar, transaction
from ..errors import CellProblem, InputError
from ..engine.closing import first_open_month
from ..engine.employee_history import record_versions
from ..engine.ledger import record_import
from ..policy import Policy
from .checks import (ProblemLog, check_month, check_pattern, check_unique, is_in, parse_amounts,
                     normalised_id_numbers, parse_booleans, parse_choice, parse_dates, parse_whole_numbers,
                     require_known_employee, require_text)
from .employee_extras import (DEDUCTION_ITEMS, EXTRA_COLUMNS, check_bank_accounts,
                              normalised_bank_accounts, special_deduction_with_items)
from .idnumber import id_number_problems, mask_id_numbers
from .leave import LEAVE, validate_leave, write_leave
from .opening import OPENING, validate_opening, write_opening
from .plausibility import check_attendance, employments
from .clean_rows import CLEAN_TABLE, CleanAttendance, drop_split_tables, split_attendance
from .merge import ZERO, ColumnChange, MergePlan, StoredColumn, column_change, merge_stored
from .readers import (CATEGORY_VALUE_ALIASES, IGNORED_HEADERS, Layout, RawTable, normalise_header,
                      read_table)
from .timesheet import TIMESHEET, TimesheetCount, validate_timesheet, write_timesheet

CATEGORIES = ("duty", "civilian")
MAX_UNPAID_LEAVE_DAYS = 31
MAX_HOURS_IN_MONTH = 744          # 31 days × 24 hours
MAX_NIGHT_SHIFTS = 31

EMPLOYEES = Layout(
    "employees",
    required=("employee_id", "name", "region_code", "unit", "category", "level", "post", "hire_date"),
    optional=("id_number", "leave_date", "service_start", "special_deduction", "contribution_base",
              *EXTRA_COLUMNS, "effective_from", "probation_end"),
)
HOURS_COLUMNS = ("overtime_workday_hours", "overtime_restday_hours", "overtime_holiday_hours")
MONEY_COLUMNS = ("bonus", "deduction")
ATTENDANCE = Layout(
    "attendance",
    required=("employee_id", "month"),
    optional=("unpaid_leave_days", *HOURS_COLUMNS, "night_shifts", *MONEY_COLUMNS, "deduction_kind"),
    month_columns=("month",),
)
# issue 13: what the deduction is (工资支付暂行规定 arts. 15–16; rules/deductions.py); empty = other
DEDUCTION_KINDS = {"court": "court", "法院判决": "court", "法院": "court", "other": "other", "其他": "other",
                   "damages": "damages", "赔偿": "damages", "赔偿经济损失": "damages",
                   "recovery": "recovery", "追回": "recovery", "追回多发": "recovery"}

EVENTS = Layout(
    "events",
    required=("employee_id", "event_date", "kind"),
    optional=("disability_grade", "stoppage_months", "martyr", "heroic", "work_arranged",
              "nursing_level", "left_job", "leave_date", "cause", "occupational_disease"),
)
DEPENDENTS = Layout("dependents", required=("employee_id", "relation"), optional=("orphan_or_lone", "name"))
EVENT_KINDS = {"injury": "injury", "工伤": "injury", "受伤": "injury",
               "death": "death", "死亡": "death", "工亡": "death", "牺牲": "death"}
NURSING_LEVELS = {"full": "full", "完全不能自理": "full", "完全": "full",
                  "most": "most", "大部分不能自理": "most", "大部分": "most",
                  "partial": "partial", "部分不能自理": "partial", "部分": "partial"}
RELATIONS = {"spouse": "spouse", "配偶": "spouse", "child": "child", "子女": "child",
             "parent": "parent", "父母": "parent", "other": "other", "其他": "other"}
# issue 15: occupational_disease (职业病): the injury is an occupational disease, which raises the
# medical leaving grant where the province says so (injury_leaving_grants.csv)
EVENT_FLAGS = ("martyr", "heroic", "work_arranged", "left_job", "occupational_disease")
# issue 14: what caused the event; required for a death (work: 工亡, the work-injury package;
# non_work: illness or an accident outside work, 社会保险法 art. 17)
EVENT_CAUSES = {"work": "work", "工亡": "work", "因工": "work", "工伤": "work",
                "non_work": "non_work", "非因工": "non_work", "病故": "non_work", "因病": "non_work"}
DISABILITY_GRADES = (1, 10)                 # 工伤保险条例 art. 22: ten grades, 1 the worst
EVENT_COLUMNS = ("employee_id", "event_date", "kind", "disability_grade", "stoppage_months",
                 *EVENT_FLAGS, "nursing_level", "leave_date", "cause")
INSERT_EVENTS = """
INSERT OR REPLACE INTO events (employee_id, event_date, kind, disability_grade, stoppage_months, martyr, heroic,
                               work_arranged, nursing_level, left_job, leave_date, cause, occupational_disease)
SELECT employee_id, CAST(event_date AS DATE), kind, CAST(NULLIF(disability_grade, '') AS INTEGER),
       CAST(stoppage_months AS INTEGER), martyr, heroic, work_arranged, NULLIF(nursing_level, ''),
       left_job, CAST(NULLIF(leave_date, '') AS DATE), NULLIF(cause, ''), occupational_disease
FROM _import_events"""
DEPENDENT_COLUMNS = ("employee_id", "dependent_no", "relation", "orphan_or_lone", "name")
INSERT_DEPENDENTS = """
INSERT INTO dependents SELECT employee_id, CAST(dependent_no AS INTEGER), relation, orphan_or_lone,
       NULLIF(name, '') FROM _import_dependents"""

# what a re-import could erase (payroll/io/merge.py): file column -> stored column
EMPLOYEE_PLAN = MergePlan(
    "employees", ("employee_id",),
    (StoredColumn("id_number", "id_number_masked", "employees", "id_number_masked", private=True),
     StoredColumn("leave_date", "leave_date", "employees", "leave_date"),
     StoredColumn("service_start", "service_start", "employees", "service_start"),
     StoredColumn("special_deduction", "special_deduction", "employees", "special_deduction", empty=ZERO),
     StoredColumn("contribution_base", "contribution_base", "employees", "contribution_base"),
     StoredColumn("bank_account", "bank_account", "employee_finance", "bank_account", private=True),
     *(StoredColumn(item, item, "employee_finance", item) for item in DEDUCTION_ITEMS)),
    also_present={"special_deduction": tuple(DEDUCTION_ITEMS)},
)
ATTENDANCE_PLAN = MergePlan(
    "attendance", ("employee_id", "month"),
    tuple(StoredColumn(c, c, "attendance", c, empty=ZERO)
          for c in ("unpaid_leave_days", *HOURS_COLUMNS, "night_shifts", *MONEY_COLUMNS)),
)
EVENTS_PLAN = MergePlan(
    "events", ("employee_id", "event_date", "kind"),
    (StoredColumn("disability_grade", "disability_grade", "events", "disability_grade"),
     StoredColumn("stoppage_months", "stoppage_months", "events", "stoppage_months", empty=ZERO),
     *(StoredColumn(flag, flag, "events", flag, empty=("", "false")) for flag in EVENT_FLAGS),
     StoredColumn("nursing_level", "nursing_level", "events", "nursing_level"),
     StoredColumn("leave_date", "leave_date", "events", "leave_date")),
)

EMPLOYEE_COLUMNS = ("employee_id", "name", "id_number_masked", "region_code", "unit", "category",
                    "level", "post", "hire_date", "leave_date", "service_start",
                    "special_deduction", "contribution_base")
NEW_EMPLOYEE_RECORDS = """
CREATE OR REPLACE TEMP TABLE _new_employee_records AS
SELECT employee_id, name, NULLIF(id_number_masked, '') AS id_number_masked, region_code, unit, category,
       CAST(level AS INTEGER) AS level, post, CAST(hire_date AS DATE) AS hire_date,
       CAST(NULLIF(leave_date, '') AS DATE) AS leave_date,
       CAST(NULLIF(service_start, '') AS DATE) AS service_start,
       CAST(special_deduction AS DECIMAL(18,2)) AS special_deduction,
       CAST(NULLIF(contribution_base, '') AS DECIMAL(18,2)) AS contribution_base
FROM _import_employees"""
INSERT_EMPLOYEES = f"""
INSERT OR REPLACE INTO employees ({", ".join(EMPLOYEE_COLUMNS)})
SELECT {", ".join(EMPLOYEE_COLUMNS)} FROM _new_employee_records"""
# the employees file's finance columns: one row per employee imported (empty cells clear them)
# issue 14: probation_end (employee_terms), replaced with every employees import
INSERT_EMPLOYEE_TERMS = """
INSERT OR REPLACE INTO employee_terms (employee_id, probation_end)
SELECT employee_id, CAST(NULLIF(probation_end, '') AS DATE) FROM _import_employees"""
INSERT_EMPLOYEE_FINANCE = f"""
INSERT OR REPLACE INTO employee_finance (employee_id, {", ".join(EXTRA_COLUMNS)})
SELECT employee_id, NULLIF(bank_account, ''),
       {", ".join(f"CAST(NULLIF({c}, '') AS DECIMAL(18,2))" for c in DEDUCTION_ITEMS)}
FROM _import_employees"""

ATTENDANCE_COLUMNS = ("employee_id", "month", "unpaid_leave_days", *HOURS_COLUMNS, "night_shifts",
                      *MONEY_COLUMNS, "deduction_kind")
INSERT_ATTENDANCE_FROM = f"""
INSERT OR REPLACE INTO attendance ({", ".join(ATTENDANCE_COLUMNS)})
SELECT employee_id, month, CAST(unpaid_leave_days AS DECIMAL(8,2)),
       {", ".join(f"CAST({c} AS DECIMAL(8,2))" for c in HOURS_COLUMNS)},
       CAST(night_shifts AS INTEGER),
       {", ".join(f"CAST({c} AS DECIMAL(18,2))" for c in MONEY_COLUMNS)},
       nullif(deduction_kind, '')
FROM {{source}}"""
INSERT_ATTENDANCE = INSERT_ATTENDANCE_FROM.format(source="_import_attendance")
# the rows DuckDB proved clean (payroll/io/clean_rows.py), through the same casts; their keys are
# new by construction, so a plain INSERT (a third cheaper than OR REPLACE; a repeat would raise)
INSERT_CLEAN_ATTENDANCE = INSERT_ATTENDANCE_FROM.format(source=CLEAN_TABLE).replace(
    "INSERT OR REPLACE INTO", "INSERT INTO", 1)


@dataclass
class TableCount:
    rows: int
    new: int

    @property
    def updated(self) -> int:
        return self.rows - self.new

    def __str__(self) -> str:
        return f"{self.rows:,} rows ({self.new:,} new, {self.updated:,} updated)"


@dataclass
class ImportSummary:
    """What an import loaded: rows per table, split into new and replaced rows."""
    employees: TableCount | None = None
    attendance: TableCount | None = None
    timesheet: TimesheetCount | None = None
    events: TableCount | None = None
    dependents: TableCount | None = None
    leave: TableCount | None = None       # issue 14
    notes: list[str] = field(default_factory=list)
    changes: list[ColumnChange] = field(default_factory=list)

    def __str__(self) -> str:
        loaded = [f"{name}: {count}" for name, count in
                  (("employees", self.employees), ("attendance", self.attendance),
                   ("timesheet", self.timesheet),
                   ("events", self.events), ("dependents", self.dependents), ("leave", self.leave))
                  if count is not None]
        text = "; ".join(loaded) or "nothing loaded"
        # on rows already stored, say which columns the file changed and which it left as they were
        counts = {"employees": self.employees, "attendance": self.attendance, "events": self.events}
        changed = [str(c) for c in self.changes if counts.get(c.kind) is not None and counts[c.kind].updated]
        return "\n".join([text, *changed, *(f"note: {n}" for n in self.notes)])


def import_files(con: duckdb.DuckDBPyConnection, policy: Policy, employees: Path | None = None,
                 attendance: Path | None = None, timesheet: Path | None = None,
                 events: Path | None = None, dependents: Path | None = None,
                 leave: Path | None = None, *,
                 opening: Path | None = None, replace: bool = False, clear_empty: bool = False,
                 ignore: tuple[str, ...] = (), after=None) -> ImportSummary:
    """Validate the files completely, then upsert them in one transaction; InputError if any cell is bad.

    A re-import changes only what the file gives (payroll/io/merge.py): absent columns keep their
    stored values unless `replace`; an empty cell over a stored value is refused unless
    `clear_empty` (or `replace`). `ignore`: headers to drop on purpose (else an unknown header is
    an error). `after`: a step run last inside the transaction (issue 16: assessments naming the
    people the employees file adds); an exception from it rolls the whole import back."""
    token = IGNORED_HEADERS.set(IGNORED_HEADERS.get() | {normalise_header(h) for h in ignore})
    try:
        return _import_files(con, policy, employees, attendance, timesheet, events, dependents, leave,
                             replace=replace, clear_empty=clear_empty, opening=opening, after=after)
    finally:
        IGNORED_HEADERS.reset(token)
        drop_split_tables(con)


def _import_files(con, policy, employees, attendance, timesheet, events, dependents, leave, *, replace: bool,
                  clear_empty: bool, opening: Path | None = None, after=None) -> ImportSummary:
    problems: list[CellProblem] = []
    notes: list[str] = []
    changes: list[ColumnChange] = []
    employee_rows = attendance_rows = None
    employees_unreadable = False

    def merged(table: RawTable, rows: pd.DataFrame, plan: MergePlan) -> pd.DataFrame:
        rows, found, change = merge_stored(con, table, rows, plan, replace=replace, clear_empty=clear_empty)
        problems.extend(found)
        changes.append(change)
        return rows

    if employees is not None:
        employee_table = _read(employees, EMPLOYEES, problems, notes)
        employees_unreadable = employee_table is None
        if employee_table is not None:
            employee_rows = merged(employee_table, _collect(validate_employees(employee_table, policy), problems),
                                   EMPLOYEE_PLAN)
    attendance_clean = None
    split = None
    if attendance is not None and not problems:
        # most rows proven clean in DuckDB, the rest through the checks below (payroll/io/clean_rows.py)
        known = _known_employee_ids(con, employee_rows)
        people = employments(con, employee_rows)
        split = split_attendance(con, attendance, ATTENDANCE, policy, people, DEDUCTION_KINDS)
    if split is not None:
        attendance_clean = split.clean
        if split.others is None:
            attendance_rows = pd.DataFrame({c: pd.Series([], dtype=str) for c in ATTENDANCE_COLUMNS})
            changes.append(column_change(split.shape, ATTENDANCE_PLAN, replace))
        else:
            attendance_rows = merged(split.others, _collect(validate_attendance(split.others, known), problems),
                                     ATTENDANCE_PLAN)
            if not problems:
                problems.extend(check_attendance(split.others, attendance_rows, policy,
                                                 _people_named(people, attendance_rows), notes))
    elif attendance is not None:
        attendance_table = _read(attendance, ATTENDANCE, problems, notes)
        if attendance_table is not None:
            # with an unreadable employees file, "unknown employee" would flag every row: skip it
            known = None if employees_unreadable else _known_employee_ids(con, employee_rows)
            attendance_rows = merged(attendance_table,
                                     _collect(validate_attendance(attendance_table, known), problems),
                                     ATTENDANCE_PLAN)
            if not problems:      # plausibility of well-formed figures (limits in national_parameters)
                problems.extend(check_attendance(attendance_table, attendance_rows, policy,
                                                 employments(con, employee_rows), notes))
    timesheet_rows = None
    if timesheet is not None:
        timesheet_table = _read(timesheet, TIMESHEET, problems, notes)
        if timesheet_table is not None:
            known = None if employees_unreadable else _known_employee_ids(con, employee_rows)
            timesheet_rows = (_collect(validate_timesheet(timesheet_table, known), problems),
                              len(timesheet_table.frame))
    event_rows = dependent_rows = None
    for path, layout in ((events, EVENTS), (dependents, DEPENDENTS)):
        if path is None:
            continue
        table = _read(path, layout, problems, notes)
        if table is None:
            continue
        known = None if employees_unreadable else _known_employee_ids(con, employee_rows)
        if layout is EVENTS:
            event_rows = merged(table, _collect(validate_events(table, known, _max_stoppage_months(policy),
                                                                _grades_keeping_the_job(policy)), problems),
                                EVENTS_PLAN)
        else:
            dependent_rows = _collect(validate_dependents(table, known), problems)
    leave_rows = None
    if leave is not None:                  # issue 14: after the events (an injury leave needs its event)
        leave_table = _read(leave, LEAVE, problems, notes)
        if leave_table is not None:
            known = None if employees_unreadable else _known_employee_ids(con, employee_rows)
            leave_rows = _collect(validate_leave(leave_table, con, policy, known, employee_rows, event_rows),
                                  problems)
    opening_rows = None
    if opening is not None:
        opening_table = _read(opening, OPENING, problems, notes)
        if opening_table is not None:
            known = None if employees_unreadable else _known_employee_ids(con, employee_rows)
            opening_rows = _collect(validate_opening(opening_table, known), problems)
    if problems:
        raise InputError(problems)

    def write_opening_rows() -> None:     # inside the import's one transaction
        count = write_opening(con, opening_rows)
        record_import(con, "opening", opening, count)
        notes.append(f"opening balances: {count:,} rows; the first month run of their year continues from them")

    summary = _write(con, employee_rows, attendance_rows, notes, event_rows, dependent_rows, timesheet_rows,
                     files={"employees": employees, "attendance": attendance, "timesheet": timesheet,
                            "events": events, "dependents": dependents, "leave": leave},
                     also=write_opening_rows if opening_rows is not None else None, leave_rows=leave_rows,
                     after=after, attendance_clean=attendance_clean)
    summary.changes = changes
    return summary


def _read(path: Path, layout: Layout, problems: list[CellProblem], notes: list[str]) -> RawTable | None:
    try:
        table = read_table(Path(path), layout)
    except InputError as error:
        problems.extend(error.problems)
        return None
    notes.extend(table.notes)
    return table


def _collect(result: tuple[pd.DataFrame, list[CellProblem]], problems: list[CellProblem]) -> pd.DataFrame:
    rows, found = result
    problems.extend(found)
    return rows


def _known_employee_ids(con: duckdb.DuckDBPyConnection, employee_rows: pd.DataFrame | None) -> pd.Index:
    in_database = con.execute("SELECT employee_id FROM employees").df()["employee_id"]
    in_file = employee_rows["employee_id"] if employee_rows is not None else pd.Series([], dtype=str)
    return pd.Index(pd.concat([in_database.astype(str), in_file.astype(str)]).unique())


def _people_named(people: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """The employments of the people `rows` name, in their order (a person's last row still wins):
    the plausibility checks of a few thousand rows then look up a few thousand people, not the
    whole roster (pandas builds its lookups of Arrow text value by value)."""
    return people[is_in(people["employee_id"].astype(str), rows["employee_id"])]


# ---------------------------------------------------------------- employees


def validate_employees(table: RawTable, policy: Policy) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Check every cell of an employees file; return the rows ready to load and the problems."""
    log = ProblemLog(table)
    cells = table.frame
    for column in ("employee_id", "name", "unit"):
        require_text(log, cells[column], column)
    check_unique(log, cells[["employee_id"]], "employee_id", "employee_id")
    id_numbers = normalised_id_numbers(cells["id_number"])
    _check_id_numbers(log, id_numbers, table.typed_as_number.get("id_number"))
    region_ok = _check_regions(log, cells["region_code"], policy)
    category = _parse_categories(log, cells["category"])
    level = parse_whole_numbers(log, cells["level"], "level", required=True)
    _check_levels(log, cells["region_code"].where(region_ok), category, level, policy)
    _check_posts(log, cells["post"], category, policy)
    _check_employment_dates(log, cells)
    _check_probation_end(log, cells)
    parse_dates(log, cells["effective_from"], "effective_from", required=False)
    parse_amounts(log, cells["special_deduction"], "special_deduction")
    special_deduction = special_deduction_with_items(log, cells)
    parse_amounts(log, cells["contribution_base"], "contribution_base", positive=True)
    bank_accounts = normalised_bank_accounts(cells["bank_account"])
    check_bank_accounts(log, bank_accounts)
    rows = cells.assign(
        category=category.fillna(""),
        id_number_masked=mask_id_numbers(id_numbers).where(id_numbers != "", ""),
        special_deduction=special_deduction.replace("", "0"),
        bank_account=bank_accounts,
    )
    # effective_from and the file row go along for the employee history (engine.employee_history)
    rows = rows[list(EMPLOYEE_COLUMNS + EXTRA_COLUMNS)].assign(effective_from=cells["effective_from"],
                                                               probation_end=cells["probation_end"],
                                                               row_number=table.row_numbers.to_numpy())
    return rows, log.problems()


EXCEL_NUMBER_REASON = ("is stored as a number by Excel, which keeps only 15 digits: format the column "
                       "as text and type the ID numbers again")


def _check_id_numbers(log: ProblemLog, id_numbers: pd.Series, typed_as_number: pd.Series | None = None) -> None:
    present = id_numbers[id_numbers != ""]
    if present.empty:
        return
    reasons = id_number_problems(present)            # the numbers in reasons are masked
    bad = reasons.notna().reindex(id_numbers.index, fill_value=False)
    if typed_as_number is not None:
        # the real cause of a failed checksum in a numeric XLSX cell is Excel's float, not a typo
        as_number = bad & typed_as_number.reindex(id_numbers.index, fill_value=False)
        log.flag(as_number, "id_number", EXCEL_NUMBER_REASON)
        bad = bad & ~as_number
    log.flag(bad, "id_number", "{}", reasons.reindex(id_numbers.index))


def _check_regions(log: ProblemLog, codes: pd.Series, policy: Policy) -> pd.Series:
    shaped = check_pattern(log, codes, "region_code", r"[0-9]{6}", "a 6-digit region code", required=True)
    known = is_in(codes, policy.region_codes())
    log.flag(shaped & ~known, "region_code", "'{}' is not a region in regions.csv", codes)
    return shaped & known


def _parse_categories(log: ProblemLog, values: pd.Series) -> pd.Series:
    """duty | civilian (also 勤务/勤务辅警, 文职/文职辅警); NA where empty or unknown."""
    category = values.str.casefold().map(CATEGORY_VALUE_ALIASES)
    log.flag(values == "", "category", "is empty")
    log.flag((values != "") & category.isna(), "category",
             "'{}' is not duty (勤务辅警) or civilian (文职辅警)", values)
    return category


def _check_levels(log: ProblemLog, regions: pd.Series, category: pd.Series, level: pd.Series,
                  policy: Policy) -> None:
    checkable = regions.notna() & category.notna() & level.notna()
    if not checkable.any():
        return
    scale = _pay_scale_levels(policy, set(regions[checkable].unique()))   # not cell by cell
    scale_key = regions[checkable] + "|" + category[checkable]
    on_scale = is_in(scale_key + "|" + level[checkable].astype(str), scale["key"])
    off_scale = ~on_scale.reindex(regions.index, fill_value=True)
    if not off_scale.any():
        return
    levels_text = scale_key.map(scale.groupby("scale")["level"].agg(_describe_levels)).fillna("none")
    log.flag(off_scale, "level", "level {} is not on the {} pay scale of region {} (levels there: {})",
             level, category, regions, levels_text.reindex(regions.index))


def _pay_scale_levels(policy: Policy, regions: set[str]) -> pd.DataFrame:
    """One row per (region, category, level) a region's pay scale has, through its region chain."""
    rows = [(region, category, level) for region in regions for category in CATEGORIES
            for level in policy.levels(region, category)]
    scale = pd.DataFrame(rows, columns=["region", "category", "level"])
    scale["scale"] = scale["region"] + "|" + scale["category"]
    scale["key"] = scale["scale"] + "|" + scale["level"].astype(str)
    return scale


def _describe_levels(levels: pd.Series) -> str:
    """Sorted levels with runs shortened: 1–7, 9."""
    values = sorted(set(int(v) for v in levels))
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _check_posts(log: ProblemLog, posts: pd.Series, category: pd.Series, policy: Policy) -> None:
    table = policy.posts()
    post_category = posts.map(dict(zip(table["post"], table["category"])))
    log.flag(posts == "", "post", "is empty")
    log.flag((posts != "") & post_category.isna(), "post", "'{}' is not a post in posts.csv", posts)
    wrong = post_category.notna() & category.notna() & (post_category != "all") & (post_category != category)
    log.flag(wrong, "post", "post '{}' is for {} staff, but the employee's category is {}",
             posts, post_category, category)


def _check_probation_end(log: ProblemLog, cells: pd.DataFrame) -> None:
    """劳动合同法 art. 19: probation is part of the contract term, so it ends after the hire date."""
    hired = pd.to_datetime(cells["hire_date"], format="%Y-%m-%d", errors="coerce")   # checked beside
    ends = parse_dates(log, cells["probation_end"], "probation_end", required=False)
    log.flag((ends < hired).fillna(False), "probation_end", "'{}' is before hire_date {}",
             cells["probation_end"], cells["hire_date"])


def _check_employment_dates(log: ProblemLog, cells: pd.DataFrame) -> None:
    hired = parse_dates(log, cells["hire_date"], "hire_date", required=True)
    left = parse_dates(log, cells["leave_date"], "leave_date", required=False)
    service = parse_dates(log, cells["service_start"], "service_start", required=False)
    log.flag(left < hired, "leave_date", "'{}' is before hire_date {}", cells["leave_date"], cells["hire_date"])
    log.flag(service > left, "service_start", "'{}' is after leave_date {}",
             cells["service_start"], cells["leave_date"])


# ---------------------------------------------------------------- attendance


def validate_attendance(table: RawTable, known_ids: pd.Index | None) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Check every cell of an attendance file against the known employees (None: skip that check)."""
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    check_month(log, cells["month"], "month")
    check_unique(log, cells[["employee_id", "month"]], "month", "employee_id and month")
    parse_amounts(log, cells["unpaid_leave_days"], "unpaid_leave_days", maximum=MAX_UNPAID_LEAVE_DAYS)
    for column in HOURS_COLUMNS:
        parse_amounts(log, cells[column], column, maximum=MAX_HOURS_IN_MONTH)
    parse_whole_numbers(log, cells["night_shifts"], "night_shifts", required=False,
                        minimum=0, maximum=MAX_NIGHT_SHIFTS)
    for column in MONEY_COLUMNS:
        parse_amounts(log, cells[column], column)
    kinds = parse_choice(log, cells["deduction_kind"], "deduction_kind", DEDUCTION_KINDS, required=False)
    numbers = [c for c in ATTENDANCE_COLUMNS[2:] if c != "deduction_kind"]
    rows = cells.assign(**{c: cells[c].replace("", "0") for c in numbers},
                        deduction_kind=kinds.fillna(""))
    return rows[list(ATTENDANCE_COLUMNS)], log.problems()


# ---------------------------------------------------------------- events and dependents


def _max_stoppage_months(policy: Policy) -> int:
    """工伤保险条例 art. 33: 12 months, extendable by at most 12 (latest rows of national_parameters)."""
    table = policy.frames["national_parameters"]
    latest = table.sort_values("effective_from").groupby("name").last()["value"]
    return int(latest.get("injury_stoppage_max_months", 0) + latest.get("injury_stoppage_extension_max_months", 0))


def _grades_keeping_the_job(policy: Policy) -> list[int]:
    """工伤保险条例 art. 35: the grades whose allowance the fund pays keep the employment relation."""
    grades = policy.frames["injury_grades"]
    return [int(g) for g in grades[grades.allowance_payer == "injury_fund"].disability_grade]


def validate_events(table: RawTable, known_ids: pd.Index | None, max_stoppage_months: int,
                    grades_keeping_the_job: list[int] = ()) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Check every cell of an events file (work injury and death)."""
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    event_date = parse_dates(log, cells["event_date"], "event_date", required=True)
    kind = parse_choice(log, cells["kind"], "kind", EVENT_KINDS, required=True)
    check_unique(log, pd.DataFrame({"employee_id": cells["employee_id"], "event_date": cells["event_date"],
                                    "kind": kind.fillna("")}), "event_date", "employee_id, event_date and kind")
    grade = parse_whole_numbers(log, cells["disability_grade"], "disability_grade", required=False,
                                minimum=DISABILITY_GRADES[0], maximum=DISABILITY_GRADES[1])
    parse_whole_numbers(log, cells["stoppage_months"], "stoppage_months", required=False,
                        minimum=0, maximum=max_stoppage_months)
    flags = {column: parse_booleans(log, cells[column], column) for column in EVENT_FLAGS}
    nursing = parse_choice(log, cells["nursing_level"], "nursing_level", NURSING_LEVELS, required=False)
    leave_date = parse_dates(log, cells["leave_date"], "leave_date", required=False)
    death = kind == "death"
    cause = parse_choice(log, cells["cause"], "cause", EVENT_CAUSES, required=False)
    cause = cause.where(cause.notna() | (kind != "injury"), "work")        # an injury event is 工伤
    log.flag(death & cause.isna() & (cells["cause"] == ""), "cause",
             "a death needs its cause: work (工亡) or non_work (illness or an accident outside work)")
    log.flag((cause == "non_work") & (flags["martyr"] | flags["heroic"]).astype(bool), "cause",
             "a martyr or heroic event is not a non-work death")
    log.flag((kind == "injury") & (cells["cause"].map(EVENT_CAUSES) == "non_work"), "cause",
             "an injury event is a work injury (工伤); a non-work illness is sick leave")
    log.flag(death & (cells["disability_grade"] != ""), "disability_grade",
             "a death has no disability grade: give the injury as its own row")
    log.flag(flags["martyr"] & (kind == "injury"), "martyr", "only a death is assessed as a martyr (烈士)")
    log.flag(flags["occupational_disease"] & (kind != "injury"), "occupational_disease",
             "occupational disease (职业病) is marked on the injury row, which carries the disability grade")
    log.flag(nursing.notna() & grade.isna(), "nursing_level",
             "nursing allowance needs a disability grade (工伤保险条例 art. 34)")
    log.flag(flags["left_job"] & grade.isin(list(grades_keeping_the_job)).fillna(False), "left_job",
             "grade {} keeps the employment relation (工伤保险条例 art. 35): no leaving grants", grade)
    log.flag((leave_date < event_date).fillna(False), "leave_date", "'{}' is before event_date {}",
             cells["leave_date"], cells["event_date"])
    rows = cells.assign(kind=kind.fillna(""), nursing_level=nursing.fillna(""), cause=cause.fillna(""),
                        stoppage_months=cells["stoppage_months"].replace("", "0"), **flags)
    return rows[list(EVENT_COLUMNS)], log.problems()


def validate_dependents(table: RawTable, known_ids: pd.Index | None) -> tuple[pd.DataFrame, list[CellProblem]]:
    """Check every cell of a dependents file (供养亲属, 工伤保险条例 art. 39)."""
    log = ProblemLog(table)
    cells = table.frame
    require_known_employee(log, cells["employee_id"], known_ids)
    relation = parse_choice(log, cells["relation"], "relation", RELATIONS, required=True)
    spouse = relation == "spouse"
    second_spouse = spouse & spouse.groupby(cells["employee_id"]).cumsum().gt(1)
    log.flag(second_spouse, "relation", "a second spouse for employee '{}'", cells["employee_id"])
    lone = parse_booleans(log, cells["orphan_or_lone"], "orphan_or_lone")
    rows = cells.assign(relation=relation.fillna(""), orphan_or_lone=lone,
                        dependent_no=cells.groupby("employee_id").cumcount() + 1)
    return rows[list(DEPENDENT_COLUMNS)], log.problems()


# ---------------------------------------------------------------- writing


def _write(con: duckdb.DuckDBPyConnection, employee_rows: pd.DataFrame | None,
           attendance_rows: pd.DataFrame | None, notes: list[str], event_rows: pd.DataFrame | None = None,
           dependent_rows: pd.DataFrame | None = None,
           timesheet_rows: tuple[pd.DataFrame, int] | None = None,
           files: dict[str, Path | None] | None = None, also=None,
           leave_rows: pd.DataFrame | None = None, after=None,
           attendance_clean: CleanAttendance | None = None) -> ImportSummary:
    summary = ImportSummary(notes=notes)
    opens = first_open_month(con)
    with transaction(con):
        if also is not None:
            also()
        if event_rows is not None:
            summary.events = _upsert(con, event_rows, "events", ("employee_id", "event_date", "kind"),
                                     INSERT_EVENTS)
        if dependent_rows is not None:
            summary.dependents = _replace_dependents(con, dependent_rows)
        if employee_rows is not None:
            # two statements over the same registered rows: the SPEC columns, then the finance ones
            summary.employees = _upsert(con, employee_rows, "employees", ("employee_id",),
                                        INSERT_EMPLOYEES + ";" + INSERT_EMPLOYEE_FINANCE + ";" + INSERT_EMPLOYEE_TERMS,
                                        before=lambda: _keep_superseded(con, opens, files["employees"]))
        if attendance_rows is not None:
            with key_added_after(con, "attendance"):      # the first import: the key built once
                summary.attendance = _upsert(con, attendance_rows, "attendance", ("employee_id", "month"),
                                             INSERT_ATTENDANCE) if len(attendance_rows) else TableCount(0, 0)
                if attendance_clean is not None:          # new keys only: every clean row is a new row
                    con.execute(INSERT_CLEAN_ATTENDANCE)
            months = set(attendance_rows["month"].unique())
            if attendance_clean is not None:
                summary.attendance = TableCount(rows=summary.attendance.rows + attendance_clean.rows,
                                                new=summary.attendance.new + attendance_clean.rows)
                months |= set(attendance_clean.months)
            if opens is not None:
                late = sorted(m for m in months if m < opens.label)
                if late:
                    notes.append(f"attendance of closed month(s) {', '.join(late)}: the differences are paid "
                                 f"as arrears when {opens.label} (or a later open month) is run")
        if timesheet_rows is not None:
            # after the attendance file: the timesheet's overtime replaces that month's hours
            summary.timesheet = write_timesheet(con, *timesheet_rows)
        if leave_rows is not None:
            summary.leave = TableCount(*write_leave(con, leave_rows))
        for kind, path in (files or {}).items():     # the run ledger's record of every file read
            rows = {"employees": employee_rows, "attendance": attendance_rows, "events": event_rows,
                    "dependents": dependent_rows, "leave": leave_rows}.get(kind)
            if path is not None:
                count = timesheet_rows[1] if kind == "timesheet" else len(rows)
                if kind == "attendance" and attendance_clean is not None:
                    count += attendance_clean.rows
                record_import(con, kind, path, count)
        if after is not None:
            after()
    return summary


def _keep_superseded(con: duckdb.DuckDBPyConnection, opens, path) -> None:
    con.execute(NEW_EMPLOYEE_RECORDS)
    record_versions(con, "_import_employees", opens.start if opens else None, Path(path).name)


def _upsert(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, table: str, key: tuple[str, ...],
            insert_sql: str, before=None) -> TableCount:
    view = f"_import_{table}"
    con.register(view, rows)
    try:
        existing = _stored_keys(con, view, table, key)
        if before:
            before()
        for statement in insert_sql.split(";"):
            con.execute(_plain_insert_when_new(con, statement, view, key))
    finally:
        con.unregister(view)
    return TableCount(rows=len(rows), new=len(rows) - existing)


def _stored_keys(con: duckdb.DuckDBPyConnection, view: str, table: str, key: tuple[str, ...]) -> int:
    return int(scalar(con, f"SELECT count(*) FROM {view} JOIN {table} USING ({', '.join(key)})"))


def _plain_insert_when_new(con: duckdb.DuckDBPyConnection, statement: str, view: str, key: tuple[str, ...]) -> str:
    """An INSERT OR REPLACE as a plain INSERT when its table holds none of the keys of `view`: the
    same rows written (the file's keys are unique, checked), without the search for a row to
    replace, which costs as much again at 100k employees."""
    target = re.match(r"\s*INSERT OR REPLACE INTO (\w+)", statement)
    if target is None or _stored_keys(con, view, target.group(1), key):
        return statement
    return statement.replace("INSERT OR REPLACE INTO", "INSERT INTO", 1)


def _replace_dependents(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> TableCount:
    """A person's dependants are the rows the file gives: earlier rows for them are replaced."""
    con.register("_import_dependents", rows)
    try:
        replaced = scalar(con, "SELECT count(*) FROM _import_dependents i WHERE i.employee_id IN "
                               "(SELECT employee_id FROM dependents)")
        con.execute("DELETE FROM dependents WHERE employee_id IN (SELECT employee_id FROM _import_dependents)")
        con.execute(INSERT_DEPENDENTS)
    finally:
        con.unregister("_import_dependents")
    return TableCount(rows=len(rows), new=len(rows) - int(replaced))
