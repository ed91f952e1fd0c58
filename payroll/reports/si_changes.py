"""`payroll export --what si-changes --month M`: the month's joiners and leavers (增员/减员) per fund,
with the base, for the social-insurance agency and the housing-fund centre.

Layout: no national template exists; each province's 社保 (and each city's 公积金) bulk-upload
workbook is its own. The columns follow what the public templates we found share (one public
template processor keys on 姓名, 证件号码, 申报类型, 费用年月; research/filing-formats.md lists the
fund codes 110 pension … 510 maternity): 序号, 姓名, 证件类型, 证件号码, 申报类型 (增员/减员), 险种代码,
险种, 费用年月, 缴费基数, 变动日期, 变动原因, then 工号 and 单位 for finance. Confidence: low to
medium; it is a generic layout to copy into the agency's own template, not that template. A search
for the five places' own templates (Inner Mongolia, Zhejiang/Hangzhou, Yunnan/Kunming, Jiangsu/
Nantong; docs/rules.md, "Regional templates") found none public, so no regional layout is offered.

A joiner is a person paid this month whose hire date falls in it (费用年月 = this month, the first
month contributed); a leaver is a person paid this month whose leave date falls in it (费用年月 =
this month, the last month contributed; the agency stops from the next). The base is the payslip's
clamped base for the fund. ID numbers are masked, as in every export but the tax declaration: the
agency's upload needs the full number typed in or taken from the HR file.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ..io.idnumber import mask_id_sql
from .contributions import FUNDS
from .finance_output import Table, columns, write_tables
from .handover import check_month, month_title, target_path

SOCIAL_FUNDS = ("pension", "medical", "unemployment", "injury", "maternity")
COLUMNS = [("row", "序号", "integer"), ("name", "姓名", "text"), ("id_type", "证件类型", "text"),
           ("id_number_masked", "证件号码", "text"), ("change", "申报类型", "text"), ("fund_code", "险种代码", "text"),
           ("fund", "险种", "text"), ("fee_month", "费用年月", "text"), ("base", "缴费基数", "money"),
           ("change_date", "变动日期", "text"), ("reason", "变动原因", "text"), ("employee_id", "工号", "text"),
           ("unit", "单位", "text")]


@dataclass(frozen=True)
class SiChangesExport:
    path: Path
    month: str
    joiners: int
    leavers: int

    def __str__(self) -> str:
        return f"si changes {self.month}: {self.joiners} joiner(s), {self.leavers} leaver(s) -> {self.path}"


def si_changes(con: duckdb.DuckDBPyConnection, month: str) -> list[dict]:
    """One row per person who joins or leaves in the month and per fund."""
    people = con.execute(f"""
        SELECT p.employee_id, e.name, {mask_id_sql('e.id_number_masked')} AS id_number_masked, p.unit,
               CASE WHEN strftime(e.hire_date, '%Y-%m') = $m THEN '增员' ELSE '减员' END AS change,
               CAST(CASE WHEN strftime(e.hire_date, '%Y-%m') = $m THEN e.hire_date ELSE e.leave_date END AS VARCHAR)
                   AS change_date,
               {", ".join(f"CAST(p.{fund}_base AS VARCHAR) AS {fund}_base" for fund in FUNDS)}
        FROM payslips p JOIN employees e USING (employee_id)
        WHERE p.month = $m AND (strftime(e.hire_date, '%Y-%m') = $m OR strftime(e.leave_date, '%Y-%m') = $m)
        ORDER BY change DESC, p.unit, p.employee_id""", {"m": month}).fetchall()
    names = ["employee_id", "name", "id_number_masked", "unit", "change", "change_date",
             *(f"{fund}_base" for fund in FUNDS)]
    rows = []
    for values in people:
        person = dict(zip(names, values))
        for fund, (zh, code, _, _) in FUNDS.items():
            rows.append({**person, "id_type": "居民身份证", "fund": zh, "fund_code": code, "fund_key": fund,
                         "fee_month": month, "base": Decimal(person[f"{fund}_base"]),
                         "reason": "新录用" if person["change"] == "增员" else "离职"})
    return rows


def export_si_changes(con: duckdb.DuckDBPyConnection, month: str, out: str | Path | None = None,
                      fmt: str = "xlsx") -> SiChangesExport:
    fmt = check_month(con, month, fmt, formats=("xlsx", "csv"), what="si changes")
    rows = si_changes(con, month)
    target = target_path(out, "si-changes", month, fmt)
    keys = [k for k, _, _ in COLUMNS]

    def table(name: str, title: str, part: list[dict]) -> Table:
        body = [[i] + [r[k] for k in keys[1:]] for i, r in enumerate(part, start=1)]
        return Table(name, columns(COLUMNS, {"id_number_masked": 21}), body,
                     title=f"{title}（{month_title(month)}）", subtitle="身份证号已脱敏；上传前按经办机构模板填写完整证件号码")
    social = [r for r in rows if r["fund_key"] in SOCIAL_FUNDS]
    housing = [r for r in rows if r["fund_key"] == "housing_fund"]
    tables = ([table("增减员", "社会保险及住房公积金增减员", rows)] if fmt == "csv" else
              [table("社会保险增减员", "社会保险增减员", social), table("住房公积金增减员", "住房公积金增减员", housing)])
    write_tables(target, fmt, tables)
    people = {(r["employee_id"], r["change"]) for r in rows}
    return SiChangesExport(target, month, sum(c == "增员" for _, c in people), sum(c == "减员" for _, c in people))
