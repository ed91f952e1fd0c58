"""`payroll export --what tax-check --month M`: every difference between the tax the withholding
client computed or filed (imported with `payroll import --tax-feedback`) and the payslip's tax, to
the fen, with its likely cause:

- `missing_in_client`: paid this month, absent from the client's result (not declared);
- `missing_in_payroll`: in the client's result, no payslip this month;
- `income`: the client's 本期收入 differs from the payslip's gross pay;
- `contributions`: the four employee contributions differ;
- `deductions`: the cumulative special additional deductions differ (items not imported, or
  changed in the client since);
- `earlier_months`: this month's figures agree, so the year to date differs (an earlier month was
  declared differently).

`tax_differences(con, month)` is the function the approval workflow calls: a month with
differences is not approved without a comment (wiring it is the merge step with the workflow).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..db import scalar
from ..errors import PayrollError
from ..io.idnumber import mask_id_sql
from .finance_output import Table, columns, write_tables
from .handover import check_month, month_title, target_path

CAUSES_ZH = {
    "missing_in_client": "客户端无此人（未申报）",
    "missing_in_payroll": "本月无工资记录",
    "income": "收入不一致",
    "contributions": "专项扣除（社保公积金）不一致",
    "deductions": "专项附加扣除不一致",
    "earlier_months": "本月数据一致，累计数（以前月份）不一致",
}
COLUMNS = [("employee_id", "工号", "text"), ("name", "姓名", "text"), ("id_number_masked", "身份证号", "text"),
           ("unit", "单位", "text"), ("payslip_tax", "工资表个税", "money"), ("client_tax", "客户端个税", "money"),
           ("difference", "差额（客户端−工资表）", "money"), ("cause", "可能原因", "text"),
           ("payslip_income", "工资表本期收入", "money"), ("client_income", "客户端本期收入", "money"),
           ("payslip_deduction_ytd", "工资表累计专项附加扣除", "money"),
           ("client_deduction_ytd", "客户端累计专项附加扣除", "money")]


def tax_differences(con: duckdb.DuckDBPyConnection, month: str) -> pd.DataFrame:
    """One row per person whose client tax differs from the payslip's (empty: none). PayrollError
    when no client result for the month was imported."""
    if not scalar(con, "SELECT count(*) FROM tax_feedback WHERE month = ?", [month]):
        raise PayrollError(f"no tax client result for {month}: import it with `payroll import --tax-feedback FILE`")
    contributions = " + ".join(f"p.{c}" for c in ("pension_employee", "medical_employee",
                                                  "unemployment_employee", "housing_fund_employee"))
    rows = con.execute(f"""
        WITH p AS (SELECT * FROM payslips WHERE month = $month),
             f AS (SELECT * FROM tax_feedback WHERE month = $month)
        SELECT coalesce(p.employee_id, f.employee_id) AS employee_id, e.name,
               {mask_id_sql('e.id_number_masked')} AS id_number_masked, coalesce(p.unit, e.unit) AS unit,
               CAST(p.iit AS VARCHAR) AS payslip_tax, CAST(f.tax AS VARCHAR) AS client_tax,
               CAST(coalesce(f.tax, 0) - coalesce(p.iit, 0) AS VARCHAR) AS difference,
               CAST(p.gross_pay AS VARCHAR) AS payslip_income, CAST(f.income AS VARCHAR) AS client_income,
               CAST({contributions} AS VARCHAR) AS payslip_contributions,
               CAST(f.contributions AS VARCHAR) AS client_contributions,
               CAST(p.special_deduction_ytd AS VARCHAR) AS payslip_deduction_ytd,
               CAST(f.special_deduction_ytd AS VARCHAR) AS client_deduction_ytd,
               p.employee_id IS NULL AS no_payslip, f.employee_id IS NULL AS no_feedback
        FROM p FULL OUTER JOIN f USING (employee_id)
        LEFT JOIN employees e ON e.employee_id = coalesce(p.employee_id, f.employee_id)
        WHERE p.employee_id IS NULL OR f.employee_id IS NULL OR p.iit <> f.tax
        ORDER BY unit, employee_id""", {"month": month}).df()
    rows["cause"] = [_cause(r) for r in rows.itertuples(index=False)]
    return rows.drop(columns=["no_payslip", "no_feedback", "payslip_contributions", "client_contributions"])


def _cause(row) -> str:
    def differs(ours, theirs) -> bool:
        return isinstance(theirs, str) and Decimal(theirs) != Decimal(ours)
    if row.no_feedback:
        return "missing_in_client"
    if row.no_payslip:
        return "missing_in_payroll"
    if differs(row.payslip_income, row.client_income):
        return "income"
    if differs(row.payslip_contributions, row.client_contributions):
        return "contributions"
    if differs(row.payslip_deduction_ytd, row.client_deduction_ytd):
        return "deductions"
    return "earlier_months"


@dataclass(frozen=True)
class TaxCheckExport:
    path: Path
    month: str
    differences: int
    total: Decimal

    def __str__(self) -> str:
        if not self.differences:
            return f"tax check {self.month}: the client's tax equals every payslip's to the fen -> {self.path}"
        return (f"tax check {self.month}: {self.differences:,} difference(s), client − payroll "
                f"{self.total:,.2f} yuan -> {self.path}")


def export_tax_check(con: duckdb.DuckDBPyConnection, month: str, out: str | Path | None = None,
                     fmt: str = "xlsx") -> TaxCheckExport:
    fmt = check_month(con, month, fmt, formats=("xlsx", "csv"), what="tax check")
    rows = tax_differences(con, month)
    target = target_path(out, "tax-check", month, fmt)
    body = []
    for record in rows.to_dict("records"):
        record["cause"] = f"{CAUSES_ZH[record['cause']]} ({record['cause']})"
        body.append([_value(record.get(k), kind) for k, _, kind in COLUMNS])
    total = sum((Decimal(str(d)) for d in rows["difference"]), Decimal("0.00"))
    table = Table("个税核对", columns(COLUMNS, {"cause": 30}), body,
                  title=f"个人所得税核对（{month_title(month)}）：扣缴客户端与工资表",
                  subtitle=f"差异 {len(rows):,} 人；无差异的人员不列出",
                  total={"difference": total} if len(rows) else None, total_labels={"employee_id": "合计"})
    write_tables(target, fmt, [table])
    return TaxCheckExport(target, month, len(rows), total)


def _value(value, kind: str):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return Decimal(value) if kind == "money" else value
