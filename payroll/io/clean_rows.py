"""Attendance rows proven clean in DuckDB, the rest checked by the column-wise checks (issue 17).

A year's attendance file has about ten rows per person (934k rows for 100k people), and nearly
all of them are plain: a known person, a month in employment, small numbers without surprises.
DuckDB reads the file and proves such rows clean with a conservative test: each cell has the
simplest form every check accepts (no sign, no spaces, at most two decimals, a deduction kind
spelt exactly as listed) and no figure reaches a limit or a warning (overtime below the legal
cap, unpaid leave below the month's paid days, a deduction below the lowest contract pay the
tables allow, above which it may warn). Only the lines of the other rows are kept; the clean rows
go straight from the file's table into the attendance table, in the import's transaction.

Every other row (a blank row, a repeated key, a key already stored, a figure near a limit, any
odd cell) goes through `validate_attendance` and `check_attendance` exactly as before, with its
own file row number: those checks name every problem and write every note. A cell the
conservative test refuses is not a problem, only a row the full checks look at, so no check is
lost, and a clean file writes what the full path wrote. Whatever DuckDB cannot read plainly (not
UTF-8, a quoted line break, a blank line, a row too long) sends the whole file the full way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..calendar import CalendarError, paid_days
from ..policy import Policy
from .checks import MONTH_PATTERN
from .plausibility import latest_parameter
from .readers import IGNORED_HEADERS, Layout, RawTable, _to_raw_table, plain_csv_into, resolve_header

FILE_TABLE = "_attendance_file"          # every row of the file, text, as DuckDB read it
OTHERS_TABLE = "_attendance_others"      # the file line of every data row the clean test refuses
CLEAN_TABLE = "_attendance_clean"        # a view: the other rows left out, SPEC columns as loaded
AMOUNT_FORM = r"[0-9]{1,16}(\.[0-9]{1,2})?"    # accepted by parse_amounts: no sign, ≤ 2 places
WHOLE_FORM = r"[0-9]{1,2}"                      # night shifts: accepted by parse_whole_numbers
BELOW = 1e-9        # a total exactly at a limit is left to the full checks (they compare in floats)


@dataclass
class CleanAttendance:
    """Rows of an attendance file proven clean, waiting in CLEAN_TABLE to be written."""
    rows: int
    # the months the file names in the plain form: every clean row's month and perhaps some other
    # rows' (a row is clean or another row, and all are written if any is), without a pass to tell
    months: list[str]


@dataclass
class AttendanceSplit:
    clean: CleanAttendance
    others: RawTable | None           # the rows for the full checks (None: every row is clean)
    shape: RawTable                   # the file's header, no rows (what the file's columns write)
    file_rows: int                    # data rows of the file, blank rows left out


def split_attendance(con: duckdb.DuckDBPyConnection, path: Path, layout: Layout, policy: Policy,
                     employments: pd.DataFrame,
                     deduction_kinds: dict[str, str]) -> AttendanceSplit | None:
    """The file's rows split into clean ones (kept in DuckDB) and the others (a RawTable with
    their file row numbers); None when the file must be read the full way (see module doc)."""
    path = Path(path)
    width = plain_csv_into(con, path, FILE_TABLE)
    if width is None:
        return None
    header = [c or "" for c in con.execute(f"SELECT * FROM {FILE_TABLE} WHERE rowid = 0").fetchall()[0]]
    positions, problems = resolve_header([h.strip() for h in header], layout, path.name, IGNORED_HEADERS.get())
    if problems:
        return None
    _register_lookups(con, employments, deduction_kinds)
    months = _paid_days(con, positions)
    con.register("_attendance_paid_days", months)
    try:
        cell_sql = _cells(layout, positions)
        con.execute(_others_sql(cell_sql, policy, _may_repeat_keys(con, positions)))
        con.execute(_clean_view_sql(cell_sql, deduction_kinds))
    except duckdb.Error:                   # (no row is written from here: the full way decides)
        return None
    finally:
        con.unregister("_attendance_paid_days")
        for name in ("_attendance_employments", "_attendance_kinds"):
            con.unregister(name)
    data_rows, other_rows = con.execute(
        f"SELECT (SELECT count(*) FROM {FILE_TABLE} WHERE rowid > 0), (SELECT count(*) FROM {OTHERS_TABLE})").fetchall()[0]
    clean_rows = data_rows - other_rows
    others = con.execute(f"SELECT rowid + 1 AS line, * FROM {FILE_TABLE} WHERE rowid IN "
                         f"(SELECT line - 1 FROM {OTHERS_TABLE}) ORDER BY line").df()
    clean = CleanAttendance(clean_rows, sorted(months["month"]) if clean_rows else [])
    shape = RawTable(path.name, pd.DataFrame(columns=list(layout.columns)), pd.Series([], dtype="int64"),
                     {c: header[p].strip() for c, p in positions.items()}, positions)
    body = others.drop(columns="line").fillna("").set_axis(range(len(header)), axis=1)
    filled = (body.apply(lambda c: c.str.strip()) != "").any(axis=1) if not body.empty else pd.Series([], dtype=bool)
    if not filled.any():
        # no data rows at all: the full way says so
        return AttendanceSplit(clean, None, shape, clean_rows) if clean_rows else None
    cells = pd.concat([pd.DataFrame([header]), body], ignore_index=True)
    table = _to_raw_table(cells, layout, path.name, [], row_numbers=others["line"])
    return AttendanceSplit(clean, table, shape, clean_rows + len(table.frame))


def _register_lookups(con, employments: pd.DataFrame, kinds: dict[str, str]) -> None:
    # plausibility._employment: the file's employees override the stored ones (the last row wins)
    latest = employments.drop_duplicates("employee_id", keep="last")
    con.register("_attendance_employments", pd.DataFrame({
        "employee_id": latest["employee_id"].astype(str),
        "hired": latest["hire_date"].fillna("").astype(str).str[:7],
        "left": latest["leave_date"].fillna("").astype(str).str[:7]}))
    con.register("_attendance_kinds", pd.DataFrame({"given": list(kinds), "kind": list(kinds.values())}))


def _paid_days(con, positions: dict[str, int]) -> pd.DataFrame:
    """Paid days of each month the file names (plausibility._leave; NaN without a calendar)."""
    if "month" not in positions:
        return pd.DataFrame({"month": pd.Series([], dtype=str), "paid": pd.Series([], dtype=float)})
    column = f"c{positions['month']}"
    # the pattern asked of the few distinct cells, not of every row
    months = [m for (m,) in con.execute(f"SELECT DISTINCT {column} FROM {FILE_TABLE} WHERE rowid > 0").fetchall()
              if m is not None and re.fullmatch(MONTH_PATTERN, m)]
    paid = []
    for month in months:
        try:
            paid.append(float(paid_days(int(month[:4]), int(month[5:7]))))
        except (CalendarError, ValueError):
            paid.append(float("nan"))
    return pd.DataFrame({"month": pd.Series(months, dtype=str), "paid": pd.Series(paid, dtype=float)})


def _may_repeat_keys(con, positions: dict[str, int]) -> bool:
    """Whether two rows may share employee_id and month: distinct hashes of the key, a quarter of
    the cost of grouping the text (a collision only sends the file to the exact search)."""
    key = f"coalesce(c{positions['employee_id']}, ''), coalesce(c{positions['month']}, '')"
    return con.execute(f"SELECT count(*) > count(DISTINCT hash({key})) FROM {FILE_TABLE} "
                       f"WHERE rowid > 0").fetchall()[0][0]


def _cells(layout: Layout, positions: dict[str, int]) -> dict[str, str]:
    """Each SPEC column's cell in FILE_TABLE f as text ('' for an empty cell or an absent column)."""
    return {c: (f"coalesce(f.c{positions[c]}, '')" if c in positions else "''") for c in layout.columns}


def _kinds_sql(kinds: dict[str, str]) -> str:
    """The deduction kinds as written in a file -> their SPEC word, as an inline table k(given, kind)."""
    def text(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"
    return f"(VALUES {', '.join(f'({text(given)}, {text(kind)})' for given, kind in kinds.items())}) AS k(given, kind)"


def _others_sql(cell: dict[str, str], policy: Policy, may_repeat: bool) -> str:
    """OTHERS_TABLE: the line of every data row that fails the conservative test. Only their lines
    are kept: the clean rows are read again from FILE_TABLE when written (CLEAN_TABLE), which
    costs less than keeping a copy of every row."""
    def amount(column: str, maximum: float | None = None) -> str:
        value = cell[column]
        within = f" AND TRY_CAST({value} AS DOUBLE) <= {maximum}" if maximum is not None else ""
        # CASE, not OR: the common '' and '0' skip the pattern (a projection evaluates both sides of OR)
        return f"CASE WHEN {value} IN ('', '0') THEN true ELSE regexp_full_match({value}, '{AMOUNT_FORM}'){within} END"

    def number(column: str) -> str:
        return f"CASE WHEN {cell[column]} IN ('', '0') THEN 0.0 ELSE TRY_CAST({cell[column]} AS DOUBLE) END"

    from .importer import HOURS_COLUMNS, MAX_HOURS_IN_MONTH, MAX_NIGHT_SHIFTS, MAX_UNPAID_LEAVE_DAYS, MONEY_COLUMNS
    hours_total = "0.0 + " + " + ".join(number(c) for c in HOURS_COLUMNS)
    cap = latest_parameter(policy, "overtime_hours_monthly_legal_cap")
    limit = latest_parameter(policy, "overtime_hours_monthly_import_limit")
    ceiling = cap if cap is not None else limit
    leave = number("unpaid_leave_days")
    tests = [
        "e.employee_id IS NOT NULL",        # known: stored, or in the employees file imported with it
        "p.month IS NOT NULL",              # the month has the form MONTH_PATTERN (_paid_days lists those)
        *(["repeated.employee_id IS NULL"] if may_repeat else []),   # check_unique names both rows
        "stored.employee_id IS NULL",        # a key already stored: merge_stored decides what stays
        amount("unpaid_leave_days", MAX_UNPAID_LEAVE_DAYS),
        f"({leave} = 0 OR {leave} < p.paid)",          # a whole month of leave warns; beyond it is refused
        *(amount(c, MAX_HOURS_IN_MONTH) for c in HOURS_COLUMNS),
        *([f"({hours_total}) < {ceiling} - {BELOW}"] if ceiling is not None else []),
        f"({cell['night_shifts']} = '' OR (regexp_full_match({cell['night_shifts']}, '{WHOLE_FORM}') "
        f"AND TRY_CAST({cell['night_shifts']} AS INTEGER) <= {MAX_NIGHT_SHIFTS}))",
        *(amount(c) for c in MONEY_COLUMNS),
        _deduction_test(number("deduction"), policy),   # a deduction may warn against the contract pay
        f"({cell['deduction_kind']} = '' OR {cell['deduction_kind']} IN (SELECT given FROM _attendance_kinds))",
        f"(e.hired IS NULL OR e.hired = '' OR {cell['month']} >= e.hired)",
        f"(e.\"left\" IS NULL OR e.\"left\" = '' OR {cell['month']} <= e.\"left\")",
    ]
    repeats = (f"""LEFT JOIN (SELECT {cell['employee_id']} AS employee_id, {cell['month']} AS month
                          FROM {FILE_TABLE} f WHERE f.rowid > 0 GROUP BY ALL HAVING count(*) > 1) repeated
           ON repeated.employee_id = {cell['employee_id']} AND repeated.month = {cell['month']}"""
               if may_repeat else "")
    return f"""
CREATE OR REPLACE TEMP TABLE {OTHERS_TABLE} AS
SELECT line FROM (
    SELECT f.rowid + 1 AS line, {" AND ".join(f"coalesce({t}, false)" for t in tests)} AS clean
    FROM {FILE_TABLE} f
    LEFT JOIN _attendance_paid_days p ON p.month = {cell['month']}
    LEFT JOIN _attendance_employments e ON e.employee_id = {cell['employee_id']}
    {repeats}
    LEFT JOIN (SELECT employee_id, month FROM attendance    -- only the file's months: a monthly file
               WHERE month IN (SELECT month FROM _attendance_paid_days)) stored  -- meets one month's rows
           ON stored.employee_id = {cell['employee_id']} AND stored.month = {cell['month']}
    WHERE f.rowid > 0
) AS marked
WHERE NOT clean"""


def _deduction_test(deduction: str, policy: Policy) -> str:
    """A deduction the full checks neither refuse nor note: below deduction_monthly_import_limit
    and below every contract pay a person can have. plausibility.contract_monthly_pays adds
    allowances and seniority to the base pay of the person's pay_scale row, so with no negative
    allowance every contract pay is at least the lowest base_pay in pay_scale; with one, only a
    zero deduction is clean."""
    pay_floor = _lowest_contract_pay(policy)
    limit = latest_parameter(policy, "deduction_monthly_import_limit")
    bound = min(b for b in (pay_floor, limit) if b is not None) if pay_floor is not None else None
    return f"{deduction} = 0" if bound is None else f"{deduction} < {bound!r} - {BELOW}"


def _lowest_contract_pay(policy: Policy) -> float | None:
    base_pay, allowances = policy.frames["pay_scale"]["base_pay"], policy.frames["allowances"]["amount"]
    if base_pay.empty or base_pay.isna().any() or allowances.isna().any() or (allowances < 0).any():
        return None             # (a missing figure: no bound can be proven, the full checks decide)
    return float(base_pay.min())


def _clean_view_sql(cell: dict[str, str], kinds: dict[str, str]) -> str:
    """CLEAN_TABLE: the rows not in OTHERS_TABLE as validate_attendance hands them to the loader
    (empty numbers as '0', the deduction kind in its SPEC word)."""
    from .importer import ATTENDANCE_COLUMNS
    numbers = [c for c in ATTENDANCE_COLUMNS[2:] if c != "deduction_kind"]
    columns = [f"{cell['employee_id']} AS employee_id", f"{cell['month']} AS month",
               *(f"CASE WHEN {cell[c]} = '' THEN '0' ELSE {cell[c]} END AS {c}" for c in numbers),
               "coalesce(k.kind, '') AS deduction_kind"]
    return f"""
CREATE OR REPLACE TEMP VIEW {CLEAN_TABLE} AS
SELECT {", ".join(columns)}
FROM {FILE_TABLE} f
ANTI JOIN {OTHERS_TABLE} o ON o.line = f.rowid + 1
LEFT JOIN {_kinds_sql(kinds)} ON k.given = {cell['deduction_kind']}
WHERE f.rowid > 0"""


def drop_split_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The split's temporary tables, once the import has written or refused the file."""
    for kind, name in (("VIEW", CLEAN_TABLE), ("TABLE", OTHERS_TABLE), ("TABLE", FILE_TABLE)):
        try:
            con.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.Error:        # never hide the import's own error behind a cleanup's
            pass
