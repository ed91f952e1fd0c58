"""The payroll register (工资表) of a month: CSV in the SPEC layout, or an XLSX for finance staff.

CSV: exactly `columns.REGISTER_COLUMNS` as the header, UTF-8 with BOM (Excel then opens the Chinese
text correctly), money as the exact DECIMAL printed with two decimals, written by DuckDB's COPY.

XLSX: sheet "工资表 YYYY-MM" with a title, Chinese headers, 姓名 and the masked 身份证号 after 工号,
rows sorted by region, unit and employee, a 小计 row after each unit and a 合计 row at the end (exact sums
from DuckDB, cached under SUBTOTAL formulas), frozen header, money format, autofilter; a second
sheet "单位汇总" sums each unit. Rows are streamed from DuckDB in Arrow batches into a
constant-memory workbook, so large months use little memory.

Either file is written to a temporary name next to the target and renamed when complete.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..columns import MONEY_COLUMNS, REGISTER_COLUMNS
from ..db import table_exists
from ..engine.context import Month
from ..errors import PayrollError
from ..io.idnumber import mask_id_sql
from ..io.output import escape_formula_sql, safe_output
from . import xlsx
from .table_status import register_header

FORMATS = ("csv", "xlsx")
REGISTER_MONEY = tuple(c for c in REGISTER_COLUMNS if c in MONEY_COLUMNS)
# the XLSX layout: the register columns with the name and masked ID number after the employee ID
XLSX_COLUMNS = (REGISTER_COLUMNS[0], "name", "id_number_masked", *REGISTER_COLUMNS[1:])
SUMMARY_COLUMNS = ("region_code", "unit", "headcount", "gross_pay", "iit", "net_pay", "employer_cost")
BATCH_ROWS = 32_768
# register order: by region, unit, employee
ORDER = "p.region_code NULLS LAST, p.unit NULLS LAST"


@dataclass(frozen=True)
class ExportSummary:
    path: Path
    month: str
    fmt: str
    rows: int
    units: int
    gross_pay: Decimal
    net_pay: Decimal
    employer_cost: Decimal
    unit: str | None = None

    def __str__(self) -> str:
        scope = f" ({self.unit})" if self.unit else ""
        return (f"register {self.month}{scope}: {self.rows:,} payslips in {self.units:,} unit(s), "
                f"gross {self.gross_pay:,.2f}, net {self.net_pay:,.2f}, "
                f"employer cost {self.employer_cost:,.2f} yuan -> {self.path}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _money_text(expr: str) -> str:
    """Exact yuan with two decimals, as text (no float on the way)."""
    return f"CAST(CAST({expr} AS DECIMAL(18,2)) AS VARCHAR)"


def _money_fen(expr: str) -> str:
    return f"CAST(CAST({expr} AS DECIMAL(18,2)) * 100 AS BIGINT)"


def _check_request(month: str, fmt: str) -> str:
    Month.parse(month)
    fmt = (fmt or "").lower()
    if fmt not in FORMATS:
        raise PayrollError(f"unknown export format {fmt!r}: use csv or xlsx")
    return fmt


def _where(month: str, unit: str | None) -> tuple[str, list]:
    if unit is None:
        return "p.month = ?", [month]
    return "p.month = ? AND p.unit = ?", [month, unit]


def _check_payslips(con: duckdb.DuckDBPyConnection, month: str, unit: str | None) -> None:
    hint = f"no payslips for {month}: run `payroll run --month {month}` first"
    if not table_exists(con, "payslips"):
        raise PayrollError(hint)
    # the table the queries below read (information_schema took 4 × as long: every export asks)
    present = {r[0] for r in con.execute("SELECT name FROM pragma_table_info('payslips')").fetchall()}
    missing = [c for c in REGISTER_COLUMNS if c not in present]
    if missing:
        raise PayrollError(f"the payslips table lacks column(s) {', '.join(missing)}: "
                           f"run `payroll run --month {month}` again with this version")
    count = con.execute("SELECT count(*) FROM payslips WHERE month = ?", [month]).fetchall()[0][0]
    if not count:
        raise PayrollError(hint)
    if unit is not None:
        count = con.execute("SELECT count(*) FROM payslips WHERE month = ? AND unit = ?",
                            [month, unit]).fetchall()[0][0]
        if not count:
            raise PayrollError(f"no payslips for unit {unit!r} in {month}")


def _unit_sums(con: duckdb.DuckDBPyConnection, month: str, unit: str | None):
    """Exact DECIMAL sums of every money column per (region, unit) in register order, and the
    grand total: ([((region_code, unit), count, {column: Decimal})], (count, {column: Decimal}))."""
    where, params = _where(month, unit)
    sums = ", ".join(f"CAST(sum(p.{_ident(c)}) AS VARCHAR)" for c in REGISTER_MONEY)
    rows = con.execute(
        f"SELECT grouping(p.region_code, p.unit) AS g, CAST(p.region_code AS VARCHAR), "
        f"CAST(p.unit AS VARCHAR), count(*), {sums} FROM payslips p WHERE {where} "
        f"GROUP BY GROUPING SETS ((p.region_code, p.unit), ()) "
        f"ORDER BY g, {ORDER}", params).fetchall()
    per_unit, total = [], None
    for grouped, region_code, unit_name, count, *values in rows:
        money = {c: Decimal(v) if v is not None else Decimal("0.00")
                 for c, v in zip(REGISTER_MONEY, values)}
        if grouped:
            total = (int(count), money)
        else:
            per_unit.append(((region_code, unit_name), int(count), money))
    return per_unit, total


def export_register(con: duckdb.DuckDBPyConnection, month: str, fmt: str, out: str | Path,
                    unit: str | None = None) -> ExportSummary:
    """Write the register of `month` (optionally one unit) to `out` as csv or xlsx.

    `out` may be an existing folder: the file is then named register-YYYY-MM.csv|xlsx in it.
    Raises PayrollError when the month (or unit) has no payslips."""
    fmt = _check_request(month, fmt)
    _check_payslips(con, month, unit)
    out = Path(out)
    if out.is_dir():
        out = out / f"register-{month}.{fmt}"
    if fmt == "csv":
        rows, units, totals = _csv_totals(con, month, unit)
        _write_csv(con, month, unit, out)
    else:
        per_unit, (rows, totals) = _unit_sums(con, month, unit)
        units = len(per_unit)
        _write_xlsx(con, month, unit, out, per_unit, rows, totals)
    return ExportSummary(path=out, month=month, fmt=fmt, rows=rows, units=units,
                         gross_pay=totals["gross_pay"], net_pay=totals["net_pay"],
                         employer_cost=totals["employer_cost"], unit=unit)


# ---------------------------------------------------------------------------------------- CSV

SUMMED = ("gross_pay", "net_pay", "employer_cost")


def _csv_totals(con: duckdb.DuckDBPyConnection, month: str, unit: str | None):
    """(payslips, units, {column: exact sum}) for the summary line: the CSV file has no subtotals,
    so one pass instead of the XLSX's per-unit sums of every money column."""
    where, params = _where(month, unit)
    sums = ", ".join(f"CAST(coalesce(sum(p.{c}), 0) AS VARCHAR)" for c in SUMMED)
    count, units, *values = con.execute(
        f"SELECT count(*), count(DISTINCT (p.region_code, p.unit)), {sums} FROM payslips p WHERE {where}",
        params).fetchall()[0]
    return int(count), int(units), {c: Decimal(v) for c, v in zip(SUMMED, values)}


def _write_csv(con, month: str, unit: str | None, out: Path) -> None:
    # DuckDB prints a DECIMAL(18,2) with its two decimals: only other money types need the cast
    # (which costs a quarter of the COPY), and the file is the same either way
    two_places = {c for c, t in con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                            "WHERE table_name = 'payslips'").fetchall() if t == "DECIMAL(18,2)"}
    select = []
    for index, column in enumerate(REGISTER_COLUMNS):
        expr = f"p.{_ident(column)}"
        if column in MONEY_COLUMNS:
            if column not in two_places:
                expr = _money_text(expr)
        elif column != "level":
            # text cells (unit, names) cannot start a formula in Excel: OWASP CSV-injection escape
            expr = escape_formula_sql(f"CAST({expr} AS VARCHAR)")
        # the BOM goes at the very start of the file: as the first character of the first name
        alias = "\ufeff" + column if index == 0 else column
        select.append(f"{expr} AS {_ident(alias)}")
    where = f"p.month = {_literal(month)}"
    if unit is not None:
        where += f" AND p.unit = {_literal(unit)}"
    query = (f"SELECT {', '.join(select)} FROM payslips p WHERE {where} "
             f"ORDER BY {ORDER}, p.employee_id")
    with safe_output(out) as temporary:
        con.execute(f"COPY ({query}) TO {_literal(str(temporary))} "
                    f"(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')")


# --------------------------------------------------------------------------------------- XLSX

def _write_xlsx(con, month: str, unit: str | None, out: Path, per_unit, rows: int,
                totals: dict[str, Decimal]) -> None:
    units = len(per_unit)
    # title, subtitle, header, rows, a subtotal per unit, the total
    if rows + units + 4 > xlsx.EXCEL_MAX_ROWS:
        raise PayrollError(f"{rows:,} payslips do not fit on one Excel sheet "
                           f"({xlsx.EXCEL_MAX_ROWS:,} rows): export --format csv instead")
    widths = {c: xlsx.money_width(totals[c]) for c in REGISTER_MONEY}
    unit_width = max((xlsx.display_width(u) for (_, u), _, _ in per_unit if u), default=10)
    widths["unit"] = min(max(unit_width + 2, 10), 48)
    columns = xlsx.make_columns(XLSX_COLUMNS, widths=widths)
    year, mon = month.split("-")
    title = f"辅警工资表（{year}年{int(mon)}月）" + (f"　{unit}" if unit else "")
    subtitle = f"金额单位：元　　人数：{rows:,}　　单位数：{units:,}"
    sample_note = register_header(con, month)     # figures in force that are still samples
    if sample_note:
        subtitle += f"　　⚠ {sample_note}"

    has_employees = table_exists(con, "employees")
    name = "e.name" if has_employees else "NULL"
    id_masked = mask_id_sql("e.id_number_masked") if has_employees else "NULL"
    join = "LEFT JOIN employees e ON e.employee_id = p.employee_id" if has_employees else ""
    select = []
    for column in XLSX_COLUMNS:
        if column == "name":
            select.append(f"CAST({name} AS VARCHAR) AS name")
        elif column == "id_number_masked":
            select.append(f"CAST({id_masked} AS VARCHAR) AS id_number_masked")
        elif column in MONEY_COLUMNS:
            select.append(f"{_money_fen('p.' + _ident(column))} AS {_ident(column)}")
        elif column == "level":
            select.append("CAST(p.level AS BIGINT) AS level")
        else:
            select.append(f"CAST(p.{_ident(column)} AS VARCHAR) AS {_ident(column)}")
    where, params = _where(month, unit)
    query = (f"SELECT {', '.join(select)} FROM payslips p {join} WHERE {where} "
             f"ORDER BY {ORDER}, p.employee_id")
    unit_index = XLSX_COLUMNS.index("unit")
    region_index = XLSX_COLUMNS.index("region_code")
    kinds = [c.kind for c in columns]

    with xlsx.atomic_output(out) as temporary:
        workbook = xlsx.new_workbook(temporary)
        sheet = xlsx.Sheet(workbook, f"工资表 {month}", columns, title=title, subtitle=subtitle,
                           freeze_columns=2)
        first_data_row = sheet.row
        sums = iter(per_unit)
        current = None          # ((region_code, unit), count, sums) of the unit being written
        group_start = sheet.row

        def close_group() -> None:
            (region_code, unit_name), count, money = current
            sheet.write_sum_row(
                {"employee_id": xlsx.SUBTOTAL_LABEL, "name": f"{count}人",
                 "region_code": region_code, "unit": unit_name},
                money, group_start, sheet.row - 1, row_kind="subtotal")

        reader = con.sql(query, params=params).to_arrow_reader(BATCH_ROWS)
        try:
            for batch in reader:
                # money as the double closest to fen / 100 (Arrow divides as Python does)
                data = [pc.divide(pc.cast(array, pa.float64()), 100.0) if kind == xlsx.MONEY else array
                        for kind, array in zip(kinds, batch.columns)]
                block = sheet.block(data)
                keys = list(zip(batch.column(region_index).to_pylist(), batch.column(unit_index).to_pylist()))
                start = 0
                for i, key in enumerate(keys):
                    if current is not None and key == current[0]:
                        continue
                    block.write(start, i)
                    start = i
                    if current is not None:
                        close_group()
                    current = next(sums)
                    if current[0] != key:
                        raise RuntimeError(f"register rows and unit sums disagree at {key!r}")
                    group_start = sheet.row
                block.write(start, len(keys))
        finally:
            reader.close()      # never leave the connection busy with an open result
        if current is not None:
            close_group()
        last_filtered = sheet.row - 1
        sheet.finish(last_filtered)
        sheet.write_sum_row({"employee_id": xlsx.TOTAL_LABEL, "name": f"{rows}人"},
                            totals, first_data_row, last_filtered, row_kind="total")

        summary_columns = xlsx.make_columns(
            SUMMARY_COLUMNS, widths={"unit": widths["unit"],
                                     **{c: widths[c] for c in SUMMARY_COLUMNS if c in widths}})
        xlsx.write_simple_sheet(
            workbook, "单位汇总", summary_columns,
            ([r, u, n, m["gross_pay"], m["iit"], m["net_pay"], m["employer_cost"]]
             for (r, u), n, m in per_unit),
            title=f"辅警工资单位汇总（{year}年{int(mon)}月）", subtitle="金额单位：元",
            total={"headcount": rows, **{c: totals[c] for c in SUMMARY_COLUMNS[3:]}},
            total_labels={"unit": xlsx.TOTAL_LABEL})
        workbook.close()

