"""`payroll export --what summary`: the finance reimbursement summary (报销汇总) of a month.

Two sheets, by unit and by level: headcount, gross pay, net pay (实发), income tax (个税), employee
social insurance and housing fund (个人社保, 个人公积金), employer social insurance and housing fund
(单位社保, 单位公积金), accident premiums (意外险) and employer cost (单位总成本), with a 合计 row that is
the register's total to the fen (research/fujing-pay.md section 5: what real auxiliary-police
payroll offices print for finance).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from . import xlsx
from .handover import SI_EMPLOYEE, SI_EMPLOYER, check_month, month_title, target_path

# column -> (Chinese label, SQL over payslips p)
FIGURES: dict[str, tuple[str, str]] = {
    "gross_pay": ("应发工资", "p.gross_pay"),
    "net_pay": ("实发工资", "p.net_pay"),
    "iit": ("个人所得税", "p.iit"),
    "si_employee": ("个人社保", " + ".join(f"p.{c}" for c in SI_EMPLOYEE)),
    "housing_fund_employee": ("个人公积金", "p.housing_fund_employee"),
    "si_employer": ("单位社保", " + ".join(f"p.{c}" for c in SI_EMPLOYER)),
    "housing_fund_employer": ("单位公积金", "p.housing_fund_employer"),
    "accident_insurance_employer": ("意外伤害保险", "p.accident_insurance_employer"),
    "employer_cost": ("单位总成本", "p.employer_cost"),
}
GROUPINGS = {
    "按单位": ("region_code", "unit"),
    "按层级": ("category", "level"),
}
GROUP_LABELS = {"region_code": "地区代码", "unit": "单位", "category": "类别", "level": "层级"}
CATEGORY_ZH = {"duty": "勤务辅警", "civilian": "文职辅警"}


@dataclass(frozen=True)
class SummaryExport:
    path: Path
    month: str
    headcount: int
    totals: dict[str, Decimal]

    def __str__(self) -> str:
        t = self.totals
        return (f"summary {self.month}: {self.headcount:,} people, net {t['net_pay']:,.2f}, tax "
                f"{t['iit']:,.2f}, employer cost {t['employer_cost']:,.2f} yuan -> {self.path}")


def summary_rows(con: duckdb.DuckDBPyConnection, month: str, keys: tuple[str, ...]):
    """[(key values, headcount, {figure: Decimal})] per group, and the total (headcount, figures)."""
    sums = ", ".join(f"CAST(sum({sql}) AS VARCHAR)" for _, sql in FIGURES.values())
    key_sql = ", ".join(f"p.{k}" for k in keys)
    rows = con.execute(
        f"SELECT grouping({key_sql}) AS g, {key_sql}, count(*), {sums} FROM payslips p "
        f"WHERE p.month = ? GROUP BY GROUPING SETS (({key_sql}), ()) "
        f"ORDER BY g, {', '.join(f'p.{k} NULLS LAST' for k in keys)}", [month]).fetchall()
    groups, total = [], None
    for grouped, *rest in rows:
        values, (count, *money) = rest[:len(keys)], rest[len(keys):]
        figures = {name: Decimal(v) for name, v in zip(FIGURES, money)}
        if grouped:
            total = (int(count), figures)
        else:
            groups.append((values, int(count), figures))
    return groups, total


def export_summary(con: duckdb.DuckDBPyConnection, month: str, out: str | Path | None = None,
                   fmt: str = "xlsx") -> SummaryExport:
    fmt = check_month(con, month, fmt, what="summary")
    target = target_path(out, "summary", month, fmt)
    title = f"辅警工资报销汇总（{month_title(month)}）"
    total = None
    with xlsx.atomic_output(target) as temporary:
        workbook = xlsx.new_workbook(temporary)
        for sheet_name, keys in GROUPINGS.items():
            groups, total = summary_rows(con, month, keys)
            headcount, totals = total
            columns = xlsx.make_columns(
                (*keys, "headcount", *FIGURES),
                labels={**GROUP_LABELS, **{k: label for k, (label, _) in FIGURES.items()}},
                kinds={k: xlsx.MONEY for k in FIGURES},
                widths={"unit": 30, **{k: xlsx.money_width(totals[k]) for k in FIGURES}})
            rows = ([*(_shown(k, v) for k, v in zip(keys, values)), count, *figures.values()]
                    for values, count, figures in groups)
            xlsx.write_simple_sheet(
                workbook, sheet_name, columns, rows, title=title,
                subtitle=f"{sheet_name}　　金额单位：元　　人数：{headcount:,}",
                total={"headcount": headcount, **totals}, total_labels={keys[-1]: xlsx.TOTAL_LABEL})
        workbook.close()
    return SummaryExport(target, month, total[0], total[1])


def _shown(key: str, value):
    if key == "category":
        return CATEGORY_ZH.get(value, value)
    if key == "level":
        return None if value is None else int(value)
    return value
