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
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    pages = _Pages(workbook, look, widths, month)
    reader = con.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
    try:
        for batch in reader:
            start = 0
            while start < batch.num_rows:
                # the people that fit on this sheet (a new sheet continues at Excel's row limit)
                fit = min(batch.num_rows - start, pages.room())
                if fit <= 0:
                    pages.new_sheet()
                    continue
                part = batch.slice(start, fit)
                if not _stream_blocks(pages, part, month):
                    for index, person in enumerate(part.to_pylist()):
                        _write_block(pages, person, month, pages.row + index * BLOCK_ROWS)
                pages.row += fit * BLOCK_ROWS
                start += fit
    finally:
        reader.close()
    workbook.close()


class _Pages:
    """The sheet being filled and its next block's first row."""

    def __init__(self, workbook, look, widths: list[int], month: str):
        self.workbook, self.look, self.widths, self.month = workbook, look, widths, month
        self.sheet, self.row, self.sheets = None, 0, 0

    def room(self) -> int:
        """How many more blocks fit on the current sheet (0 when there is none yet)."""
        return 0 if self.sheet is None else (xlsx.EXCEL_MAX_ROWS - self.row) // BLOCK_ROWS

    def new_sheet(self) -> None:
        self.sheets += 1
        self.sheet = self.workbook.add_worksheet(f"工资条 {self.month}" + (f" ({self.sheets})" if self.sheets > 1 else ""))
        for index, width in enumerate(self.widths):
            self.sheet.set_column(index, index, width)
        self.row = 0


def _write_block(pages: _Pages, person: dict, month: str, row: int) -> None:
    """One person's block at `row` through xlsxwriter, cell by cell (the fallback of `_stream_blocks`)."""
    sheet, look = pages.sheet, pages.look
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


def _stream_blocks(pages: _Pages, part, month: str) -> bool:
    """The blocks of `part` (Arrow record batch) rendered column-wise and appended to the sheet
    (see xlsx.append_rows): the cells `_write_block` writes. False, with nothing written, when a
    value needs xlsxwriter's own escaping, a value is missing, or fast blocks are off."""
    if not xlsx.fast_blocks_enabled() or any(column.null_count for column in part.columns):
        return False
    count, look, first = part.num_rows, pages.look, pages.row
    title = pc.binary_join_element_wise(f"工资条 {month}  ", part.column("unit"), "")
    values = {"title": xlsx.text_xml(title)}
    for column in COLUMNS:
        array = part.column(column)
        # amounts come as exact decimal text: a reader takes the closest double, as money_number does
        values[column] = xlsx.number_text_xml(array) if column in AMOUNTS else xlsx.text_xml(array)
    labels = [xlsx.constant_text_xml(LABELS[column][0]) for column in COLUMNS]
    if any(v is None for v in values.values()) or any(label is None for label in labels):
        return False
    last = first + (count - 1) * BLOCK_ROWS + 2

    def chunks():
        for start in range(0, count, xlsx.RENDER_ROWS):
            size = min(xlsx.RENDER_ROWS, count - start)
            top = np.arange(first + start * BLOCK_ROWS, first + (start + size) * BLOCK_ROWS, BLOCK_ROWS) + 1
            rows = [pc.cast(pa.array(top + offset), pa.string()) for offset in range(3)]
            pieces = ['<row r="', rows[0], '">',
                      *xlsx.cell_pieces(0, look.subtotal_text, xlsx.TEXT, rows[0], values["title"].slice(start, size)),
                      '</row><row r="', rows[1], '">']
            for index, label in enumerate(labels):
                pieces += xlsx.cell_pieces(index, look.header, xlsx.TEXT, rows[1], label)
            pieces += ['</row><row r="', rows[2], '">']
            for index, column in enumerate(COLUMNS):
                kind = xlsx.MONEY if column in AMOUNTS else xlsx.TEXT
                pieces += xlsx.cell_pieces(index, look.money if column in AMOUNTS else look.text, kind, rows[2],
                                           values[column].slice(start, size))
            pieces.append("</row>")
            yield xlsx.joined_bytes(pieces)

    return xlsx.append_rows(pages.sheet, first, last, len(COLUMNS) - 1, chunks())
