"""Payslips (工资条): one small block per person, ready to print and cut apart.

Each block is a title line (month, unit), a header row of Chinese labels and the person's row:
工号, 姓名, masked 身份证号, then pay, deductions and 实发, all read from the stored `payslips`
table (explain proves the engine's trace gives the same amounts). Blocks are streamed from DuckDB
into a constant-memory workbook, in register order (region, unit, employee); a sheet holds up to
Excel's row limit and the next sheet continues. PDF is not produced (no PDF library is shipped).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ..columns import EMPLOYEE_CONTRIBUTIONS, LABELS, PAY_COMPONENTS
from ..engine.context import Month
from ..errors import PayrollError
from ..io.idnumber import mask_id_sql
from . import xlsx

PERSON = ("employee_id", "name", "id_number_masked", "unit")
AMOUNTS = PAY_COMPONENTS + ("gross_pay",) + EMPLOYEE_CONTRIBUTIONS + ("iit", "deduction", "net_pay")
COLUMNS = PERSON + AMOUNTS
BLOCK_ROWS = 4                      # title, header, values, blank line to cut along
BATCH_ROWS = 8192


@dataclass(frozen=True)
class PayslipSummary:
    path: Path
    month: str
    people: int
    net_pay: Decimal
    unit: str | None = None

    def __str__(self) -> str:
        scope = f" ({self.unit})" if self.unit else ""
        return f"payslips {self.month}{scope}: {self.people:,} payslips, net {self.net_pay:,.2f} yuan -> {self.path}"


def _query(month: str, unit: str | None, employee_id: str | None) -> tuple[str, list]:
    where, params = ["p.month = ?"], [month]
    if unit is not None:
        where.append("p.unit = ?")
        params.append(unit)
    if employee_id is not None:
        where.append("p.employee_id = ?")
        params.append(employee_id)
    amounts = ", ".join(f"CAST(p.{c} AS VARCHAR) AS {c}" for c in AMOUNTS)
    sql = (f"SELECT p.employee_id, coalesce(e.name, '') AS name, "
           f"coalesce({mask_id_sql('e.id_number_masked')}, '') AS id_number_masked, p.unit, {amounts} "
           f"FROM payslips p LEFT JOIN employees e USING (employee_id) WHERE {' AND '.join(where)} "
           f"ORDER BY p.region_code, p.unit, p.employee_id")
    return sql, params


def export_payslips(con: duckdb.DuckDBPyConnection, month: str, out: str | Path, *, unit: str | None = None,
                    employee_id: str | None = None, fmt: str = "xlsx") -> PayslipSummary:
    """Write the month's payslips (everyone, one unit, or one person) to an XLSX file."""
    Month.parse(month)
    if (fmt or "").lower() != "xlsx":
        raise PayrollError(f"payslips are written as xlsx (PDF is not available); got --format {fmt!r}")
    sql, params = _query(month, unit, employee_id)
    count, net = con.execute(f"SELECT count(*), CAST(coalesce(sum(CAST(net_pay AS DECIMAL(18,2))), 0) AS VARCHAR) FROM ({sql})",
                             params).fetchall()[0]
    if not count:
        who = f" for {employee_id}" if employee_id else f" for unit {unit!r}" if unit else ""
        raise PayrollError(f"no payslips{who} in {month}: run `payroll run --month {month}` first")
    out = Path(out)
    if out.is_dir():
        out = out / f"payslips-{month}.xlsx"
    with xlsx.atomic_output(out) as path:
        _write(con, sql, params, month, path)
    return PayslipSummary(out, month, int(count), Decimal(net), unit)


def _write(con: duckdb.DuckDBPyConnection, sql: str, params: list, month: str, path: Path) -> None:
    workbook = xlsx.new_workbook(path)
    look = xlsx.styles(workbook)
    widths = [max(xlsx.display_width(LABELS[c][0]) + 2, xlsx.DEFAULT_WIDTHS.get(c, xlsx.MONEY_MIN_WIDTH))
              for c in COLUMNS]
    sheet, row, sheets = None, 0, 0
    reader = con.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        for person in batch.to_pylist():
            if sheet is None or row + BLOCK_ROWS > xlsx.EXCEL_MAX_ROWS:
                sheets += 1
                sheet = workbook.add_worksheet(f"工资条 {month}" + (f" ({sheets})" if sheets > 1 else ""))
                for index, width in enumerate(widths):
                    sheet.set_column(index, index, width)
                row = 0
            sheet.write_string(row, 0, f"工资条 {month}  {person['unit']}", look.subtotal_text)
            # constant-memory workbook: each row is written whole before the next one
            for index, column in enumerate(COLUMNS):
                sheet.write_string(row + 1, index, LABELS[column][0], look.header)
            for index, column in enumerate(COLUMNS):
                value = person[column]
                if column in AMOUNTS:
                    sheet.write_number(row + 2, index, xlsx.money_number(value), look.money)
                else:
                    sheet.write_string(row + 2, index, str(value), look.text)
            row += BLOCK_ROWS
    workbook.close()
