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
    return (f"SELECT p.employee_id, CAST({name} AS VARCHAR), CAST({masked} AS VARCHAR), p.unit, "
            f"CAST(p.{fund}_base AS VARCHAR), CAST({employee_sql} AS VARCHAR), "
            f"CAST(p.{employer} AS VARCHAR), CAST({employee_sql} + p.{employer} AS VARCHAR) "
            f"FROM payslips p {join} WHERE p.month = ? "
            f"ORDER BY p.region_code NULLS LAST, p.unit NULLS LAST, p.employee_id")


def fund_rows(con: duckdb.DuckDBPyConnection, month: str, fund: str) -> list[list]:
    """Rows of one fund's list: text cells as str, money as Decimal (exact)."""
    has_employees = "name" in employee_columns(con)
    rows = con.execute(_fund_sql(fund, has_employees), [month]).fetchall()
    return [[*row[:4], *(Decimal(v) for v in row[4:])] for row in rows]


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
        people = {fund: fund_rows(con, month, fund) for fund in FUNDS}
        count = len(people["pension"])
        xlsx.write_simple_sheet(
            workbook, "汇总", overview,
            ([zh, code, len(people[fund]), *(totals[fund][k] for k in MONEY[1:])]
             for fund, (zh, code, _, _) in FUNDS.items()),
            title=f"社会保险和住房公积金缴费汇总（{title_month}）", subtitle="金额单位：元",
            total={k: sum(t[k] for t in totals.values()) for k in MONEY[1:]},
            total_labels={"fund": xlsx.TOTAL_LABEL})
        for fund, (zh, code, employee, _) in FUNDS.items():
            keys = LIST_COLUMNS if employee else tuple(c for c in LIST_COLUMNS if c != "employee")
            columns = xlsx.make_columns(keys, labels=LABELS, kinds={k: xlsx.MONEY for k in MONEY},
                                        widths={"unit": 30})
            rows = people[fund] if employee else [r[:5] + r[6:] for r in people[fund]]
            shown_totals = {k: v for k, v in totals[fund].items() if k in keys}
            xlsx.write_simple_sheet(
                workbook, zh, columns, rows,
                title=f"{zh}缴费明细（{title_month}）",
                subtitle=f"险种代码：{code or '—'}　　金额单位：元　　人数：{len(rows):,}",
                total=shown_totals, total_labels={"employee_id": xlsx.TOTAL_LABEL, "name": f"{len(rows)}人"})
        workbook.close()
    return ContributionsExport(target, month, count, totals)
