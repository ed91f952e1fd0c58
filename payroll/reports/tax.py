"""`payroll export --what tax --employees F`: the monthly withholding declaration for 正常工资薪金所得
in the column layout of the natural-person tax withholding client's (自然人电子税务局扣缴客户端)
import template (research/filing-formats.md: 29 columns, the order three public generators agree
on; sheet "正常工资薪金收入"; header in row 1, one row per person, no title and no total row, since
the client would read them as people).

Full ID numbers. The database stores only masked ID numbers, and keeps doing so: the full number
is read at export time from the HR employees file given with `--employees` (the file that was
imported; its own columns are read as by `payroll import`). Each number is checked (GB 11643
shape, birth date, checksum), matched to the person by employee_id, and its masked form must equal
the masked number stored at import, so a wrong or stale file is caught (error naming the file, row
and column). Why not a protected table: DuckDB has no per-table access control or encryption, so
a "protected" table would be in every copy and backup of the database the payroll office passes
around; the HR file already has to be kept safe, and this file is the only output with full
numbers. It is written only by this command (never by the demo), with owner-only permissions where
the system has them, and the CLI warns on stderr that it holds personal data.

Cumulative special additional deductions by item (columns 11–17): the monthly amounts by item
imported from the optional columns of the employees file (table employee_finance) × the months
of this year the person has payslips. That is exact when every payslip this year used the same monthly
total as the items add up to; when the items changed during the year the split is not known and
the export stops, naming the person. People without items get those columns empty: the client
then takes the deductions the employees declared (and it downloaded) itself. A second sheet "核对"
holds the totals against the register (income, contributions, the engine's tax) for checking.
"""
from __future__ import annotations

import contextvars
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import CellProblem, InputError, PayrollError
from ..io.checks import normalised_id_numbers, text_array
from ..io.employee_extras import DEDUCTION_ITEMS
from ..io.idnumber import id_number_problems, mask_id_numbers
from ..io.readers import RawTable, read_table
from . import xlsx
from ..db import table_exists
from .handover import check_month, decimal_sums, month_title, target_path

SHEET_NAME = "正常工资薪金收入"
# issue 13: the one-off incomes taxed apart, each on its own sheet in the client's layout for that
# income item (全年一次性奖金收入; 解除劳动合同一次性补偿金). research/filing-formats.md is silent on
# them; the columns follow the client's import templates as public generators reproduce them
# (identity columns as above, the amount, 免税收入, 其他, 准予扣除的捐赠额, 减免税额, 备注) — check
# against a blank template exported from the client before filing.
BONUS_SHEET = "全年一次性奖金收入"
SEVERANCE_SHEET = "解除劳动合同一次性补偿金"
ONE_OFF_TEMPLATE: tuple[tuple[str, str | None], ...] = (
    ("工号", "employee_id"), ("*姓名", "name"), ("*证件类型", "id_type"), ("*证件号码", "id_number"),
    ("*收入额", "amount"), ("免税收入", "exempt"), ("其他", None), ("准予扣除的捐赠额", None),
    ("减免税额", None), ("备注", None),
)
BONUS_HEADERS = {"*收入额": "*全年一次性奖金额"}
SEVERANCE_HEADERS = {"*收入额": "*一次性补偿收入"}
ID_TYPE_RESIDENT = "居民身份证"
MAX_LISTED = 20

# the 29 template columns: (header, field) — field None means left empty (nothing to declare)
TEMPLATE: tuple[tuple[str, str | None], ...] = (
    ("工号", "employee_id"), ("*姓名", "name"), ("*证件类型", "id_type"), ("*证件号码", "id_number"),
    ("本期收入", "gross_pay"), ("本期免税收入", "tax_exempt_income"),
    ("基本养老保险费", "pension_employee"), ("基本医疗保险费", "medical_employee"),
    ("失业保险费", "unemployment_employee"), ("住房公积金", "housing_fund_employee"),
    *((cumulative, f"{item}_ytd") for item, (_, cumulative) in DEDUCTION_ITEMS.items()),
    ("企业(职业)年金", None), ("商业健康保险", None), ("税延养老保险", None), ("公务交通费用", None),
    ("通讯费用", None), ("律师办案费用", None), ("西藏附加减除费用", None), ("其他", None),
    ("准予扣除的捐赠额", None), ("减免税额", None), ("协定减免", None), ("备注", None),
)
TEXT_FIELDS = ("employee_id", "name", "id_type", "id_number")
CHECKED = {"gross_pay": "本期收入", "tax_exempt_income": "本期免税收入",
           "pension_employee": "基本养老保险费", "medical_employee": "基本医疗保险费",
           "unemployment_employee": "失业保险费", "housing_fund_employee": "住房公积金",
           "special_deduction_ytd": "累计专项附加扣除（合计）", "iit": "本月个税（本系统计算，供核对）"}


@dataclass(frozen=True)
class TaxExport:
    path: Path
    month: str
    people: int
    totals: dict[str, Decimal]
    without_items: int

    def __str__(self) -> str:
        note = (f"; {self.without_items:,} with special deductions but no per-item split (columns "
                f"left empty; import the client's items with `payroll import --deductions`)" if self.without_items else "")
        return (f"tax declaration {self.month}: {self.people:,} people, income "
                f"{self.totals['gross_pay']:,.2f} yuan{note} -> {self.path}")

    @property
    def warning(self) -> str:
        return (f"{self.path} holds the FULL ID numbers of {self.people:,} people (个人敏感信息): hand "
                f"it only to the tax authority's client, keep it off shared folders, delete it after filing")


def read_id_numbers(employees_file: str | Path) -> RawTable:
    """The HR employees file's employee_id and id_number columns, the header checked as by the
    import (the same columns and aliases); the other columns are not read into Python."""
    from ..io.importer import EMPLOYEES
    return read_table(Path(employees_file), EMPLOYEES, only=("employee_id", "id_number"))


def full_id_numbers(table: RawTable, wanted: pd.DataFrame) -> pa.Array:
    """The full ID number from the HR file (`read_id_numbers`) of each person in `wanted`
    (employee_id, id_number_masked), in its order. InputError naming file, row and column for
    anything wrong."""
    cells = table.frame
    ids = normalised_id_numbers(cells["id_number"])
    problems: list[CellProblem] = []

    def flag(mask: pd.Series, column: str, reasons) -> None:
        """`reasons`: a text, a Series of them, or a function giving the Series (made only when needed)."""
        if not mask.any():
            return
        reasons = reasons() if callable(reasons) else reasons
        reasons = reasons if isinstance(reasons, pd.Series) else pd.Series(reasons, index=cells.index)
        for index in mask[mask].index:
            problems.append(CellProblem(table.file, int(table.row_numbers[index]),
                                        table.header_of(column), str(reasons[index])))

    # matched by Arrow's hash lookup and numpy (issue 17: pandas' isin, map and duplicated on
    # Arrow text took 2 s at 100k): each file row's place in `wanted`, -1 for people not paid
    paid = text_array(wanted["employee_id"])
    place = pc.index_in(text_array(cells["employee_id"]), value_set=paid).fill_null(-1).to_numpy()
    needed = pd.Series(place >= 0, index=cells.index)
    flag(needed & (ids == ""), "id_number", "is empty: the tax declaration needs the full ID number")
    present = needed & (ids != "")
    reasons = id_number_problems(ids[present]).reindex(cells.index)
    flag(present & reasons.notna(), "id_number", reasons)
    stored = pc.take(text_array(wanted["id_number_masked"]), pa.array(np.maximum(place, 0)))
    valid = present & reasons.isna()
    masked = mask_id_numbers(ids.where(valid, ""))
    differs = pc.not_equal(stored.fill_null(""), text_array(masked)).to_numpy(zero_copy_only=False)

    def mismatch_reasons() -> pd.Series:
        imported = pd.Series(stored.to_numpy(zero_copy_only=False), index=cells.index)
        return ("ID number " + masked + " does not match the one imported for this employee ("
                + imported.fillna("none").astype(str) + "): import this file again or use the file that was imported")

    flag(valid & differs, "id_number", mismatch_reasons)
    # each person's first row: the one read (a repeated employee_id is reported)
    rows = np.flatnonzero(place >= 0)
    first_rows = rows[np.unique(place[rows], return_index=True)[1]]
    first = pd.Series(False, index=cells.index)
    first.iloc[first_rows] = True
    flag(needed & ~first, "employee_id", "repeats an employee_id")
    # each person paid: the file row read (index_in places a person by their first place in `wanted`)
    file_row = np.full(len(wanted), -1, dtype=np.int64)
    file_row[place[first_rows]] = first_rows
    file_row = file_row[pc.index_in(paid, value_set=paid).to_numpy()]
    absent = wanted["employee_id"][file_row < 0].tolist()
    if absent:
        shown = ", ".join(absent[:MAX_LISTED]) + (f" … and {len(absent) - MAX_LISTED} more"
                                                  if len(absent) > MAX_LISTED else "")
        problems.append(CellProblem(table.file, None, "employee_id",
                                    f"{len(absent)} person(s) paid this month are not in the file: {shown}"))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.row is None, p.row or 0)))
    return text_array(ids).take(pa.array(file_row))


def _declaration_sql(con: duckdb.DuckDBPyConnection, month: str) -> str:
    """One row per payslip of the month in the template's order, money as DECIMAL: the template's
    figures, the special deductions by item × months of this year (<item>_ytd: empty when 0 or
    when the person has no items), items_disagree (the items do not add up to the engine's
    year-to-date total) and without_items (a special deduction but no items)."""
    items = list(DEDUCTION_ITEMS) if table_exists(con, "employee_finance") else []
    monthly = [f"coalesce(f.{i}, 0)" for i in items]
    has_items = " OR ".join(f"f.{i} IS NOT NULL" for i in items) or "false"
    # the year's months only for the people with items, the only ones whose items are checked
    year_months = f"""WITH year_months AS (
            SELECT employee_id, count(*) AS months, count(DISTINCT special_deduction) AS distinct_totals,
                   any_value(special_deduction) AS one_total
            FROM payslips WHERE month BETWEEN '{month[:4]}-01' AND {_literal(month)} AND employee_id IN
                (SELECT employee_id FROM employee_finance f WHERE {has_items}) GROUP BY employee_id)""" if items else ""
    # DECIMAL(18,2) as stored (DuckDB raises on overflow): × months would widen it to 128 bits
    ytd = "".join(f", CAST(CASE WHEN {has_items} THEN nullif({m} * y.months, 0) END AS DECIMAL(18,2)) AS {i}_ytd"
                  for i, m in zip(items, monthly))
    empty_ytd = "".join(f", CAST(NULL AS DECIMAL(18,2)) AS {i}_ytd" for i in DEDUCTION_ITEMS if i not in items)
    disagree = (f"({has_items}) AND (y.distinct_totals <> 1 OR ({' + '.join(monthly)}) IS DISTINCT FROM "
                f"y.one_total OR ({' + '.join(f'{m} * y.months' for m in monthly)}) IS DISTINCT FROM "
                f"p.special_deduction_ytd)") if items else "false"
    joins = ("LEFT JOIN employee_finance f USING (employee_id) LEFT JOIN year_months y USING (employee_id)"
             if items else "")
    return f"""{year_months}
        SELECT CAST(p.employee_id AS VARCHAR) AS employee_id, CAST(e.name AS VARCHAR) AS name,
               CAST(e.id_number_masked AS VARCHAR) AS id_number_masked,
               p.gross_pay - p.income_taxed_apart AS gross_pay,
               p.annual_bonus_separate, p.severance_pay, p.severance_exempt,
               -- 本期免税收入: the employer disability allowance (财税〔2012〕40号), which the engine's
               -- withholding already leaves out of 累计收入; empty when there is none, as the client wants
               nullif(p.tax_exempt_income, 0) AS tax_exempt_income,
               p.pension_employee, p.medical_employee, p.unemployment_employee, p.housing_fund_employee
               {ytd}{empty_ytd},
               {disagree} AS items_disagree, NOT ({has_items}) AND p.special_deduction_ytd > 0 AS without_items
        FROM payslips p LEFT JOIN employees e USING (employee_id) {joins}
        WHERE p.month = {_literal(month)} ORDER BY p.region_code, p.unit, p.employee_id"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def declaration_table(con: duckdb.DuckDBPyConnection, month: str) -> pa.Table:
    """The declaration's rows as Arrow (see `_declaration_sql`)."""
    return con.sql(_declaration_sql(con, month)).to_arrow_table()


def declaration_rows(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """One row per payslip of the month with the template's figures (money as Decimal strings)."""
    table = declaration_table(con, month)
    return pa.table([pc.cast(c, pa.string()) if pa.types.is_decimal(c.type) else c for c in table.columns],
                    names=table.column_names).to_pandas()


def _check_items(table: pa.Table) -> int:
    """PayrollError naming the people whose items do not add up to the engine's year-to-date
    total; else the number of people with a special deduction but no items."""
    bad = table["employee_id"].filter(table["items_disagree"]).to_pylist()
    if bad:
        shown = ", ".join(bad[:MAX_LISTED]) + (f" … and {len(bad) - MAX_LISTED} more" if len(bad) > MAX_LISTED else "")
        raise PayrollError(
            f"the special deductions by item in the employees file (as imported) do not add up to the year-to-date "
            f"total the payroll used for {len(bad)} person(s): {shown}. The monthly amounts changed "
            f"during the year, so the split by item is not known; correct the items or leave them "
            f"empty for these people (the client then uses their own declarations)")
    return int(pc.sum(table["without_items"]).as_py() or 0)


def export_tax(con: duckdb.DuckDBPyConnection, month: str, employees_file: str | Path,
               out: str | Path | None = None, fmt: str = "xlsx") -> TaxExport:
    fmt = check_month(con, month, fmt, what="tax declaration")
    if employees_file is None:
        raise PayrollError("the tax declaration needs the full ID numbers, which the database does not "
                           "keep: give the HR employees file with --employees")
    target = target_path(out, "tax", month, fmt)
    # the HR file is read (by DuckDB, mostly) while the payslips are queried: issue 17. In the
    # caller's context, so the reader sees the same settings (e.g. headers to ignore)
    with ThreadPoolExecutor(max_workers=1) as pool:
        hr_file = pool.submit(contextvars.copy_context().run, read_id_numbers, employees_file)
        # column-wise (issue 17: a Decimal per cell and pandas' row-wise work took 5 × the writer's time)
        table = declaration_table(con, month)
        totals = decimal_sums(con, month, {c: "p.gross_pay - p.income_taxed_apart" if c == "gross_pay"
                                           else f"p.{c}" for c in CHECKED})
        wanted = pd.DataFrame({"employee_id": table["employee_id"].to_pandas(),
                               "id_number_masked": table["id_number_masked"].to_pandas()})
        id_numbers = full_id_numbers(hr_file.result(), wanted)
    without_items = _check_items(table)
    table = (table.append_column("id_number", id_numbers)
             .append_column("id_type", pa.array([ID_TYPE_RESIDENT] * len(table), pa.string())))
    _write(target, table, totals, month)
    return TaxExport(target, month, len(table), totals, without_items)


def _write(target: Path, rows: pa.Table, totals: dict[str, Decimal], month: str) -> None:
    fields = [field or f"_empty{i}" for i, (_, field) in enumerate(TEMPLATE)]
    kinds = {f: (xlsx.TEXT if f in TEXT_FIELDS else xlsx.MONEY) for f in fields}
    columns = xlsx.make_columns(fields, labels={f: h for f, (h, _) in zip(fields, TEMPLATE)}, kinds=kinds,
                                widths={"id_number": 21, "name": 10, "id_type": 12})
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        sheet = xlsx.Sheet(workbook, SHEET_NAME, columns, landscape=True, header_height=20)
        # column-wise (the fast block path): text as text, money as its exact DECIMAL, the rest empty
        if len(rows):
            sheet.write_columns([_column(rows, f) for f in fields])
        _write_one_off(workbook, rows, "annual_bonus_separate", None, BONUS_SHEET, BONUS_HEADERS)
        _write_one_off(workbook, rows, "severance_pay", "severance_exempt", SEVERANCE_SHEET, SEVERANCE_HEADERS)
        check = xlsx.make_columns(("item", "amount"), labels={"item": "项目", "amount": "合计（元）"},
                                  kinds={"amount": xlsx.MONEY}, widths={"item": 34, "amount": 18})
        xlsx.write_simple_sheet(
            workbook, "核对", check,
            [[label, totals[c]] for c, label in CHECKED.items()],
            title=f"扣缴申报核对（{month_title(month)}）",
            subtitle=f"人数：{len(rows):,}；各合计等于本月工资表（导入客户端时不读本表）")
        workbook.close()
        try:
            os.chmod(temporary, 0o600)       # owner-only: the file holds full ID numbers
        except OSError:
            pass


def _column(rows: pa.Table, field: str) -> pa.Array:
    """A template column's cells (a column the template leaves empty: nulls)."""
    if field in rows.column_names:
        return rows[field].combine_chunks()
    return pa.nulls(len(rows), pa.string())


def _write_one_off(workbook, rows: pa.Table, amount: str, exempt: str | None, sheet_name: str,
                   headers: dict[str, str]) -> None:
    """One row per person with that income this month; no sheet when nobody has it."""
    paid = rows.filter(pc.greater(rows[amount], pa.scalar(Decimal(0), rows.schema.field(amount).type)))
    if not len(paid):
        return
    fields = [field or f"_empty{i}" for i, (_, field) in enumerate(ONE_OFF_TEMPLATE)]
    labels = {f: headers.get(h, h) for f, (h, _) in zip(fields, ONE_OFF_TEMPLATE)}
    kinds = {f: (xlsx.TEXT if f in TEXT_FIELDS else xlsx.MONEY) for f in fields}
    columns = xlsx.make_columns(fields, labels=labels, kinds=kinds, widths={"id_number": 21, "name": 10, "id_type": 12})
    sheet = xlsx.Sheet(workbook, sheet_name, columns, landscape=True, header_height=20)
    cells = {"amount": paid[amount].combine_chunks()}
    if exempt:                   # an exemption of 0 is left empty
        values = paid[exempt].combine_chunks()
        cells["exempt"] = pc.if_else(pc.equal(values, pa.scalar(Decimal(0), values.type)),
                                     pa.scalar(None, values.type), values)
    sheet.write_columns([cells[f] if f in cells else _column(paid, f) for f in fields])
