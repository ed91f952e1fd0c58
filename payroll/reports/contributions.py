"""`payroll export --what contributions`: per fund, the contribution list of a month.

One sheet per fund (养老, 医疗, 失业, 工伤, 生育, 住房公积金): person (工号, 姓名, masked 身份证号),
unit, the fund's base (缴费基数, as clamped by the engine), the employee and the employer amount
and their sum, then a 合计 row that is the register's total of each column to the fen. A first
sheet lists the funds with their totals. ID numbers are masked: this list is for checking against
the agency's bill, not a filing (research/filing-formats.md, "Contribution lists"; agency fund
codes 110 pension, 310 medical, 210 unemployment, 410 injury, 510 maternity, shown for matching).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..io.idnumber import mask_id_sql
from . import xlsx
from .handover import check_month, employee_columns, month_title, target_path

# fund -> (Chinese name, agency code, employee amount column or None, employer amount column)
FUNDS: dict[str, tuple[str, str, str | None, str]] = {
    "pension": ("基本养老保险", "110", "pension_employee", "pension_employer"),
    "medical": ("基本医疗保险", "310", "medical_employee", "medical_employer"),
    "unemployment": ("失业保险", "210", "unemployment_employee", "unemployment_employer"),
    "injury": ("工伤保险", "410", None, "injury_employer"),
    "maternity": ("生育保险", "510", None, "maternity_employer"),
    "housing_fund": ("住房公积金", "", "housing_fund_employee", "housing_fund_employer"),
}
LIST_COLUMNS = ("employee_id", "name", "id_number_masked", "unit", "base", "employee", "employer", "total")
LABELS = {"base": "缴费基数", "employee": "个人缴纳", "employer": "单位缴纳", "total": "合计缴纳",
          "fund": "险种", "code": "险种代码", "headcount": "人数"}
MONEY = ("base", "employee", "employer", "total")


@dataclass(frozen=True)
class ContributionsExport:
    path: Path
    month: str
    rows: int
    totals: dict[str, dict[str, Decimal]]      # fund -> {employee, employer, total}

    def __str__(self) -> str:
        employer = sum(t["employer"] for t in self.totals.values())
        employee = sum(t["employee"] for t in self.totals.values())
        return (f"contributions {self.month}: {self.rows:,} people, {len(self.totals)} funds, employee "
                f"{employee:,.2f}, employer {employer:,.2f} yuan -> {self.path}")


def _fund_sql(fund: str, has_employees: bool) -> str:
    _, _, employee, employer = FUNDS[fund]
    employee_sql = f"p.{employee}" if employee else "CAST(0 AS DECIMAL(18,2))"
    name = "e.name" if has_employees else "NULL"
    masked = mask_id_sql("e.id_number_masked") if has_employees else "NULL"
    join = "LEFT JOIN employees e USING (employee_id)" if has_employees else ""
    fen = "CAST(({}) * 100 AS BIGINT)"          # exact: DECIMAL(18,2) × 100 is whole
    return (f"SELECT p.employee_id, CAST({name} AS VARCHAR), CAST({masked} AS VARCHAR), p.unit, "
            f"{fen.format(f'p.{fund}_base')}, {fen.format(employee_sql)}, "
            f"{fen.format(f'p.{employer}')}, {fen.format(f'{employee_sql} + p.{employer}')} "
            f"FROM payslips p {join} WHERE p.month = ? "
            f"ORDER BY p.region_code NULLS LAST, p.unit NULLS LAST, p.employee_id")


def fund_columns(con: duckdb.DuckDBPyConnection, month: str, fund: str) -> list[pa.Array]:
    """One fund's list column-wise as Arrow arrays (xlsx.Sheet.write_columns): text as strings,
    money as the cell value of its integer fen (the double closest to fen / 100)."""
    has_employees = "name" in employee_columns(con)
    table = con.sql(_fund_sql(fund, has_employees), params=[month]).to_arrow_table()
    columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    return columns[:4] + [pc.divide(pc.cast(c, pa.float64()), 100.0) for c in columns[4:]]


def fund_totals(con: duckdb.DuckDBPyConnection, month: str, fund: str) -> dict[str, Decimal]:
    _, _, employee, employer = FUNDS[fund]
    employee_sql = f"p.{employee}" if employee else "0"
    row = con.execute(
        f"SELECT CAST(sum(p.{fund}_base) AS VARCHAR), CAST(sum({employee_sql}) AS VARCHAR), "
        f"CAST(sum(p.{employer}) AS VARCHAR) FROM payslips p WHERE p.month = ?", [month]).fetchall()[0]
    base, employee_sum, employer_sum = (Decimal(v) for v in row)
    employee_sum = employee_sum.quantize(Decimal("0.01"))
    return {"base": base, "employee": employee_sum, "employer": employer_sum,
            "total": employee_sum + employer_sum}


def export_contributions(con: duckdb.DuckDBPyConnection, month: str, out: str | Path | None = None,
                         fmt: str = "xlsx") -> ContributionsExport:
    fmt = check_month(con, month, fmt, what="contributions")
    target = target_path(out, "contributions", month, fmt)
    title_month = month_title(month)
    totals = {fund: fund_totals(con, month, fund) for fund in FUNDS}
    count = None
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        overview = xlsx.make_columns(("fund", "code", "headcount", *MONEY[1:]), labels=LABELS,
                                     kinds={k: xlsx.MONEY for k in MONEY}, widths={"fund": 16})
        people = {fund: fund_columns(con, month, fund) for fund in FUNDS}
        count = len(people["pension"][0])
        xlsx.write_simple_sheet(
            workbook, "汇总", overview,
            ([zh, code, count, *(totals[fund][k] for k in MONEY[1:])]
             for fund, (zh, code, _, _) in FUNDS.items()),
            title=f"社会保险和住房公积金缴费汇总（{title_month}）", subtitle="金额单位：元",
            total={k: sum(t[k] for t in totals.values()) for k in MONEY[1:]},
            total_labels={"fund": xlsx.TOTAL_LABEL})
        for fund, (zh, code, employee, _) in FUNDS.items():
            keys = LIST_COLUMNS if employee else tuple(c for c in LIST_COLUMNS if c != "employee")
            columns = xlsx.make_columns(keys, labels=LABELS, kinds={k: xlsx.MONEY for k in MONEY},
                                        widths={"unit": 30})
            data = people[fund] if employee else people[fund][:5] + people[fund][6:]
            sheet = xlsx.Sheet(workbook, zh, columns, title=f"{zh}缴费明细（{title_month}）",
                               subtitle=f"险种代码：{code or '—'}　　金额单位：元　　人数：{count:,}",
                               freeze_columns=2)
            first = sheet.row
            sheet.write_columns(data)
            last = sheet.row - 1
            sheet.finish(last)
            sheet.write_sum_row({"employee_id": xlsx.TOTAL_LABEL, "name": f"{count}人"},
                                {k: v for k, v in totals[fund].items() if k in keys}, first, last,
                                row_kind="total")
        workbook.close()
    return ContributionsExport(target, month, count, totals)
