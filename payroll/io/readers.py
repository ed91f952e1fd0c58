"""Read an input file (CSV or XLSX) into a frame of text cells with the SPEC column names.

Every cell comes back as stripped text, exactly what a CSV would hold: XLSX numbers and dates are
turned back into text (1234.5 -> "1234.5", 3.0 -> "3", a date -> "YYYY-MM-DD"), so validation
sees one representation whatever the file type. Headers may be the SPEC names or the Chinese
aliases in HEADER_ALIASES, in any case and spacing; an unknown column is an error naming the
closest known header (`--ignore COL` drops it on purpose): a column we do not read is never lost silently.
"""
from __future__ import annotations

import difflib
import io
import re
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import CellProblem, InputError

# SPEC column name -> Chinese (and other) headers accepted for it. The first alias of each is
# the one the SPEC gives in brackets.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    # employees
    "employee_id": ("工号", "员工编号", "人员编号"),
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码"),
    "region_code": ("地区代码", "行政区划代码"),
    "unit": ("单位", "部门"),
    "category": ("类别", "辅警类别"),
    "level": ("层级", "等级"),
    "post": ("岗位", "岗位代码"),
    "hire_date": ("入职日期",),
    "leave_date": ("离职日期",),
    "service_start": ("工龄起算日期",),
    "special_deduction": ("专项附加扣除",),
    "contribution_base": ("缴费基数",),
    "bank_account": ("银行账号", "账号", "工资卡号"),
    "children_education": ("子女教育",),
    "continuing_education": ("继续教育",),
    "housing_loan_interest": ("住房贷款利息",),
    "housing_rent": ("住房租金",),
    "elderly_support": ("赡养老人",),
    "infant_care": ("3岁以下婴幼儿照护", "婴幼儿照护"),
    "personal_pension": ("个人养老金",),
    "effective_from": ("生效日期",),
    # attendance
    "month": ("月份",),
    "unpaid_leave_days": ("事假天数", "无薪假天数"),
    "overtime_workday_hours": ("工作日加班小时", "工作日加班时数"),
    "overtime_restday_hours": ("休息日加班小时", "休息日加班时数"),
    "overtime_holiday_hours": ("节假日加班小时", "节假日加班时数", "法定节假日加班小时"),
    "night_shifts": ("夜班次数",),
    "bonus": ("奖金",),
    "deduction": ("扣款", "其他扣款"),
    # opening balances (payroll import --opening)
    "year": ("年度", "纳税年度"),
    "income_ytd": ("累计收入",),
    "contributions_ytd": ("累计专项扣除",),
    "special_deduction_ytd": ("累计专项附加扣除",),
    "iit_ytd": ("累计已扣税", "累计已预扣预缴税额"),
    "months_employed": ("累计受雇月份", "受雇月份"),
    "deduction_kind": ("扣款类别", "扣款类型"),
    # one-off payments (issue 13)
    "amount": ("金额",),
    "tax_method": ("计税方式",),
    "note": ("备注",),
    # timesheet (dated overtime records)
    "date": ("日期", "加班日期"),
    "hours": ("小时", "加班小时", "加班时数"),
    "time_off_given": ("已补休", "安排补休", "compensated"),
    # events and dependents (work injury, death)
    "event_date": ("事件日期", "受伤日期", "死亡日期"),
    "kind": ("类型", "事件类型"),
    "disability_grade": ("伤残等级",),
    "stoppage_months": ("停工留薪期", "停工留薪月数"),
    "martyr": ("烈士",),
    "heroic": ("见义勇为", "英勇"),
    "work_arranged": ("已安排工作", "安排工作"),
    "nursing_level": ("护理等级", "生活自理障碍等级"),
    "left_job": ("解除劳动关系", "离职"),
    "occupational_disease": ("职业病",),      # issue 15
    "relation": ("关系", "亲属关系"),
    "orphan_or_lone": ("孤儿或孤寡老人",),
    # issue 14: event cause, probation, leave
    "cause": ("死亡原因", "事件原因"),
    "probation_end": ("试用期截止日期", "试用期满日期"),
    "start": ("开始日期", "假期开始"),
    "end": ("结束日期", "假期结束"),
    # assessments and level changes (issue 16)
    "year": ("年度", "考核年度"),
    "result": ("考核结果", "考核等次", "等次"),
    "note": ("备注", "说明"),
    "from_level": ("原层级",),
    "to_level": ("新层级", "拟任层级"),
    "change_kind": ("变动类型",),
    "reason": ("依据说明", "原因"),
    "rule_row": ("规则行",),
    "approved": ("审批", "是否同意"),
}

# values accepted in the category column (compared case-insensitively) -> SPEC value
CATEGORY_VALUE_ALIASES: dict[str, str] = {
    "duty": "duty", "勤务": "duty", "勤务辅警": "duty",
    "civilian": "civilian", "文职": "civilian", "文职辅警": "civilian",
}

XLSX_MAGIC = b"PK\x03\x04"
OLD_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class Layout:
    """The columns of one kind of input file."""
    kind: str                            # "employees" | "attendance" | "events" | "dependents"
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    month_columns: tuple[str, ...] = ()  # XLSX dates on the 1st become "YYYY-MM" here

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass
class RawTable:
    """An input file as text: SPEC-named columns, one row per data row of the file."""
    file: str                       # the name used in messages
    frame: pd.DataFrame             # text cells, stripped; missing optional columns are ""
    row_numbers: pd.Series          # spreadsheet row of each frame row (header = 1)
    headers: dict[str, str]         # SPEC name -> the header as written in the file
    positions: dict[str, int]       # SPEC name -> 0-based position of its column in the file
    notes: list[str] = field(default_factory=list)
    typed_as_number: dict[str, pd.Series] = field(default_factory=dict)   # XLSX cells stored as numbers

    def header_of(self, column: str) -> str:
        return self.headers.get(column, column)


def normalise_header(text: str) -> str:
    """Header text compared without case, width or spacing: ' Employee ID ' -> 'employee_id'."""
    folded = unicodedata.normalize("NFKC", str(text)).strip().casefold()
    return re.sub(r"[\s\-]+", "_", folded)


def _header_lookup(columns: Iterable[str]) -> dict[str, str]:
    lookup = {}
    for column in columns:
        for alias in (column, *HEADER_ALIASES.get(column, ())):
            lookup[normalise_header(alias)] = column
    return lookup


def read_table(path: Path, layout: Layout, only: tuple[str, ...] | None = None) -> RawTable:
    """Read a CSV or XLSX file; raise InputError naming the file for a file that cannot be used.
    `only`: the SPEC columns wanted, for a reader that looks up a few (the tax declaration's ID
    numbers): the header is still checked whole, the frame holds those columns alone, and a row
    counts as data when one of them is filled."""
    path = Path(path)
    file = path.name
    if not path.is_file():
        raise InputError([CellProblem(str(path), None, None, "file does not exist")])
    content = path.read_bytes()
    notes: list[str] = []
    if content.startswith(XLSX_MAGIC):
        cells = _xlsx_cells(path, layout)
    elif content.startswith(OLD_XLS_MAGIC):
        raise InputError([CellProblem(file, None, None,
                                      "is an old .xls workbook: save it as .xlsx or CSV (UTF-8)")])
    else:
        keep = None if only is None else (lambda header: _wanted_positions(header, layout, file, only))
        cells = _csv_cells(content, file, notes, path, keep)
    return _to_raw_table(cells, layout, file, notes, only=only)


def _wanted_positions(header: list[str], layout: Layout, file: str, only: tuple[str, ...]) -> list[int]:
    """The file positions of the `only` columns, the whole header checked first."""
    positions = _map_header([h.strip() for h in header], layout, file)
    return [positions[column] for column in only if column in positions]


# ---------------------------------------------------------------- CSV


def plain_csv_into(con, path: Path, table: str) -> int | None:
    """Read a plain UTF-8 CSV file into the DuckDB table `table` (c0, c1, …: text, NULL for an
    empty or missing cell; rowid + 1 is the file's line, the header being line 1), and return its
    width. None, with nothing read, unless every line of the file is one row of cells as the pandas
    reader below would split it: the first line is the whole header (its quotes pair up) and
    DuckDB reads exactly one row per line (a blank line, a quoted line break, a row longer than
    the header, bytes that are not UTF-8 or another dialect all say None)."""
    import csv

    import duckdb
    with open(path, "rb") as handle:
        first = handle.readline()
    if first.startswith(XLSX_MAGIC) or first.startswith(OLD_XLS_MAGIC) or first.count(b'"') % 2 or not first.strip():
        return None
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(header))) + "}"
    literal = str(path).replace("'", "''")
    try:
        # insertion order is kept, so rowid follows the file's lines
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv('{literal}', "
                    f"header = false, auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                    f"null_padding = true, columns = {columns})")
        read = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        first_row = con.execute(f"SELECT * FROM {table} WHERE rowid = 0").fetchall()
    except duckdb.Error:
        return None
    if read != _line_count(path) or len(first_row) != 1 or [c or "" for c in first_row[0]] != header:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        return None
    return len(header)


def _line_count(path: Path) -> int:
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")


@lru_cache(maxsize=1)
def _reading_database():
    """One in-memory DuckDB for reading files, made once per process: opening a database costs
    about 30 ms, a tenth of importing a small file. Each read takes its own cursor (its own
    connection, its own temp tables), so reads in several threads do not meet."""
    import duckdb
    return duckdb.connect()


def _plain_csv_cells(path: Path, keep: Callable[[list[str]], list[int]] | None = None) -> pd.DataFrame | None:
    """Every cell of a plain CSV file (plain_csv_into) read by DuckDB, in a frame as pandas
    would give it (a third less time than pandas' reader on 100k employees). `keep`: given the
    header, the positions of the columns to read (the others are left in DuckDB; the whole header
    is then in the frame's attrs["header"])."""
    con = _reading_database().cursor()
    try:
        width = plain_csv_into(con, path, "cells")
        if width is None:
            return None
        positions = list(range(width))
        header = None
        if keep is not None:
            header = ["" if cell is None else cell for cell in
                      con.execute("SELECT * FROM cells WHERE rowid = 0").fetchall()[0]]
            positions = keep(header)
        columns = ", ".join(f"c{position}" for position in positions) or "NULL AS nothing"
        cells = con.sql(f"SELECT {columns} FROM cells ORDER BY rowid").to_arrow_table()
    finally:
        con.close()
    # Arrow's strings become pandas' Arrow-backed text without a copy per cell
    text = pd.StringDtype("pyarrow", na_value=np.nan)
    frame = cells.to_pandas(types_mapper=lambda kind: text if kind in (pa.string(), pa.large_string()) else None)
    frame = frame.iloc[:, :len(positions)].set_axis(positions, axis=1)
    if header is not None:
        frame.attrs["header"] = header
    return frame


def _csv_cells(content: bytes, file: str, notes: list[str], path: Path | None = None,
               keep: Callable[[list[str]], list[int]] | None = None) -> pd.DataFrame:
    if path is not None:
        cells = _plain_csv_cells(path, keep)
        if cells is not None:
            return cells
    text = _decode(content, file, notes)
    if not text.strip():
        raise InputError([CellProblem(file, None, None, "is empty: no header row")])
    try:
        return pd.read_csv(io.StringIO(text), header=None, dtype=str, na_filter=False,
                           skip_blank_lines=False)
    except pd.errors.ParserError as error:
        raise InputError([_parser_problem(file, str(error))]) from None


def _decode(content: bytes, file: str, notes: list[str]) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        text = content.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError([CellProblem(file, None, None, "is neither UTF-8 nor GB18030 text")]) from None
    notes.append(f"{file} is not UTF-8: read it as GB18030")
    return text


def _parser_problem(file: str, message: str) -> CellProblem:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, seen = (int(g) for g in found.groups())
        return CellProblem(file, line, None, f"has {seen} cells but the header has {expected}")
    return CellProblem(file, None, None, f"is not a readable CSV file ({message.strip()})")


# ---------------------------------------------------------------- XLSX


def _xlsx_cells(path: Path, layout: Layout) -> pd.DataFrame:
    try:
        # only an empty cell is missing: pandas would also blank text such as "NA", "None" or "NaN",
        # which the CSV reader keeps as written
        raw = pd.read_excel(path, engine="calamine", sheet_name=0, header=None, dtype=object,
                            keep_default_na=False, na_values=[""])
    except Exception as error:  # a damaged workbook: calamine raises its own error types
        raise InputError([CellProblem(path.name, None, None, f"is not a readable XLSX workbook ({error})")]) from None
    if raw.empty:
        raise InputError([CellProblem(path.name, None, None, "is empty: no header row")])
    header = [cell_text(v) for v in raw.iloc[0]]
    month_positions = {i for i, h in enumerate(header)
                       if _header_lookup(layout.month_columns).get(normalise_header(h))}
    text = pd.DataFrame({i: _column_text(raw[c], as_month=i in month_positions)
                         for i, c in enumerate(raw.columns)})
    # long numbers Excel stored as numbers (an 18-digit ID keeps only 15 significant digits):
    # remembered per column so a check can name the cause instead of a checksum failure
    text.attrs["typed_as_number"] = {i: _typed_as_number(raw[c]).reset_index(drop=True)
                                     for i, c in enumerate(raw.columns)}
    return text


def _typed_as_number(values: pd.Series) -> pd.Series:
    """Per cell: stored as a number (an empty cell, NaN, counts as one, as it always has). A column
    of text or of numbers only is decided at once; a mixed one cell by cell."""
    def is_number(value) -> bool:
        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))

    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind not in ("string", "empty", "integer", "floating", "mixed-integer-float"):
        return values.map(is_number)
    typed = pd.Series(kind not in ("string", "empty"), index=values.index)
    missing = values.isna()                  # NaN is a float, None is not: asked one by one
    if missing.any():
        typed[missing] = values[missing].map(is_number)
    return typed


def _column_text(values: pd.Series, as_month: bool = False) -> pd.Series:
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.fillna("").astype(str)
    convert = month_text if as_month else cell_text
    return values.map(convert).astype(str)


def cell_text(value) -> str:
    """A spreadsheet cell as the text a CSV export would hold."""
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return np.format_float_positional(float(value), trim="-")
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


def month_text(value) -> str:
    """Excel turns a typed 2025-01 into the date 2025-01-01: give the month back."""
    if isinstance(value, (datetime, date)) and value.day == 1:
        return f"{value.year:04d}-{value.month:02d}"
    return cell_text(value)


# ---------------------------------------------------------------- header and rows


def _to_raw_table(cells: pd.DataFrame, layout: Layout, file: str, notes: list[str],
                  row_numbers: pd.Series | None = None, only: tuple[str, ...] | None = None) -> RawTable:
    """The header row and the data rows of `cells` as a RawTable. `row_numbers`: the file row of
    each data row when `cells` holds only some of the file's rows (default: every row, header = 1).
    `only`: see read_table (`cells` may already hold only those columns, the whole header in
    attrs["header"])."""
    typed_as_number = cells.attrs.get("typed_as_number", {})
    header = cells.attrs.get("header")
    if header is None:
        header = ["" if pd.isna(h) else str(h) for h in cells.iloc[0]]
    header = [h.strip() for h in header]
    positions = _map_header(header, layout, file)
    if only is not None:         # the other columns are not made text, stripped or looked at
        positions = {column: positions[column] for column in only if column in positions}
        cells = cells[list(positions.values())]
    cells = cells.fillna("").astype(str)
    body = cells.iloc[1:].reset_index(drop=True)
    if row_numbers is None:
        row_numbers = pd.Series(np.arange(2, len(body) + 2), index=body.index)
    else:
        row_numbers = pd.Series(np.asarray(row_numbers), index=body.index)
    body = body.apply(lambda column: column.str.strip())
    filled = (body != "").any(axis=1)
    body, row_numbers = body[filled], row_numbers[filled]
    if body.empty:
        raise InputError([CellProblem(file, None, None, "has a header but no data rows")])
    frame = pd.DataFrame({column: body[positions[column]] if column in positions else ""
                          for column in (layout.columns if only is None else only)}, index=body.index)
    headers = {column: header[positions[column]] for column in positions}
    numbers = {column: typed_as_number[position].iloc[1:].reset_index(drop=True)[body.index].astype(bool)
               for column, position in positions.items() if position in typed_as_number}
    return RawTable(file, frame.astype(str), row_numbers, headers, positions, notes, numbers)


def _map_header(header: list[str], layout: Layout, file: str) -> dict[str, int]:
    """SPEC column -> position in the file; raise for missing required, repeated or unknown columns.

    An unknown header is an error, never silently skipped: its cells would be lost (a leave column
    under a name we do not know would import as zero leave). The message names the closest known
    header; `--ignore COL` (IGNORED_HEADERS) drops a column on purpose."""
    positions, problems = resolve_header(header, layout, file, IGNORED_HEADERS.get())
    if problems:
        raise InputError(problems)
    return positions


# headers the user asked to drop (`payroll import --ignore COL`), normalised; set by the CLI
IGNORED_HEADERS: ContextVar[frozenset[str]] = ContextVar("ignored_headers", default=frozenset())


def ignoring(headers: Iterable[str]):
    """Set the headers to drop for the import that follows (the CLI's --ignore, repeatable)."""
    return IGNORED_HEADERS.set(frozenset(normalise_header(h) for h in headers))


def resolve_header(header: list[str], layout: Layout, file: str,
                   ignore: Iterable[str] = ()) -> tuple[dict[str, int], list[CellProblem]]:
    """Map a header row onto a layout: (SPEC column -> 0-based position, problems). Every import
    kind calls this (through read_table) so each file gets the same alias, repeat, missing and
    unknown-column checks. `ignore` holds headers (any case or spacing) dropped on purpose."""
    lookup = _header_lookup(layout.columns)
    dropped = {normalise_header(h) for h in ignore}
    positions: dict[str, int] = {}
    problems: list[CellProblem] = []
    unknown: list[str] = []
    for position, text in enumerate(header):
        if not text or normalise_header(text) in dropped:
            continue
        column = lookup.get(normalise_header(text))
        if column is None:
            unknown.append(text)
            continue
        if column in positions:
            first = header[positions[column]]
            problems.append(CellProblem(file, 1, text, f"repeats column {first!r} ({column})"))
            continue
        positions[column] = position
    missing = [column for column in layout.required if column not in positions]
    title_row = _title_row_hint(header, missing, layout)
    if title_row:
        return positions, [CellProblem(file, 1, None, title_row)]
    for text in unknown:
        problems.append(CellProblem(file, 1, text, _unknown_header_reason(text, layout, lookup)))
    for column in missing:
        accepted = ", ".join((column, *HEADER_ALIASES.get(column, ())))
        problems.append(CellProblem(file, 1, column, f"required column is missing (header may be: {accepted})"))
    return positions, problems


def _unknown_header_reason(text: str, layout: Layout, lookup: dict[str, str]) -> str:
    """'请假天数' -> is not a column of an attendance file; closest known: 事假天数 (unpaid_leave_days)."""
    aliases = {alias: column for column in layout.columns
               for alias in (column, *HEADER_ALIASES.get(column, ()))}
    close = difflib.get_close_matches(text, list(aliases), n=1, cutoff=0.5) or \
        difflib.get_close_matches(normalise_header(text), list(aliases), n=1, cutoff=0.5)
    named = close and (close[0] if close[0] == aliases[close[0]] else f"{close[0]} ({aliases[close[0]]})")
    hint = f"; closest known: {named}" if close else ""
    return (f"is not a column of the {layout.kind} file{hint}. Rename the header, or give "
            f"--ignore {text!r} to leave the column out on purpose")


def _title_row_hint(header: list[str], missing: list[str], layout: Layout) -> str | None:
    """A title (e.g. '2025年1月考勤表') merged above the header: row 1 holds one cell or none we
    know, and required columns are missing. Say so once instead of 8 × 'column is missing'."""
    if not missing:
        return None
    known = _header_lookup(layout.columns)
    filled = [h for h in header if h]
    if len(filled) > 2 or any(known.get(normalise_header(h)) for h in filled):
        return None
    shown = filled[0] if filled else ""
    return (f"row 1 ({shown!r}) looks like a title, not the header: the first row must hold the column "
            f"names ({', '.join(layout.required)}); delete the rows above the header")
