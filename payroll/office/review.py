"""What a reviewer reads before passing a month: totals against last month, joiners and leavers,
level, post, region and unit changes, pay swings with their causes (reports.compare), zero or
negative nets and balances owed, people without a bank account, arrears, sample figures in force.
Every section names the people of the reader's scope only (`scope`: a SQL condition on
p.employee_id, see web.permissions). Also written as XLSX."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ..db import table_exists
from ..engine.context import Month
from ..reports import xlsx

SWING_PERCENT = 20          # default threshold of the swing section; the page lets the reviewer change it
SWING_CAUSES_LIMIT = 10     # causes are traced for the largest swings only (one explanation each)
TOTAL_COLUMNS = (("gross_pay", "应发合计 gross"), ("net_pay", "实发合计 net"), ("iit", "个税 tax"),
                 ("employer_cost", "单位成本 employer cost"))


@dataclass
class Section:
    key: str
    title: str
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)
    note: str = ""


@dataclass
class Review:
    month: str
    previous: str
    sections: list[Section]

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


def _rows(con, sql: str, params: list) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def build_review(con: duckdb.DuckDBPyConnection, month: str, scope: tuple[str, list], policy=None,
                 explainer=None, swing_percent: int = SWING_PERCENT) -> Review:
    previous = Month.parse(month).previous().label
    where, scope_params = scope
    sections = [
        _totals(con, month, previous, where, scope_params),
        _joiners_leavers(con, month, previous, where, scope_params),
        _changes(con, month, previous, where, scope_params),
        _swings(con, month, previous, where, scope_params, explainer, swing_percent),
        _nets(con, month, where, scope_params),
        _no_bank(con, month, where, scope_params),
        _arrears(con, month, where, scope_params),
        _sample_figures(con, policy, month, where, scope_params),
    ]
    return Review(month, previous, sections)


def _totals(con, month, previous, where, params) -> Section:
    sums = ", ".join(f"coalesce(sum({c}), 0)" for c, _ in TOTAL_COLUMNS)
    figures = {}
    for label in (previous, month):
        figures[label] = _rows(con, f"SELECT count(*), {sums} FROM payslips p WHERE month = ? AND {where}",
                               [label] + params)[0]
    rows = []
    for index, (_, title) in enumerate((("people", "人数 people"),) + TOTAL_COLUMNS):
        before, after = figures[previous][index], figures[month][index]
        rows.append((title, before, after, after - before))
    return Section("totals", "合计对比 Totals against last month", ["项目", previous, month, "变动 change"], rows)


def _joiners_leavers(con, month, previous, where, params) -> Section:
    rows = _rows(con, f"""
        SELECT '入职 joiner' AS what, p.employee_id, e.name, p.unit, CAST(p.hire_date AS VARCHAR)
        FROM payslips p LEFT JOIN employees e USING (employee_id)
        WHERE p.month = ? AND {where} AND p.employee_id NOT IN (SELECT employee_id FROM payslips WHERE month = ?)
        UNION ALL
        SELECT '离职 leaver', p.employee_id, e.name, p.unit, CAST(coalesce(p.leave_date, e.leave_date) AS VARCHAR)
        FROM payslips p LEFT JOIN employees e USING (employee_id)
        WHERE p.month = ? AND {where} AND (p.employee_id NOT IN (SELECT employee_id FROM payslips WHERE month = ?)
              OR strftime(p.leave_date, '%Y-%m') = ?)
        ORDER BY 1, 2""", [month] + params + [previous, previous] + params + [month, previous])
    # the second half: on last month's payroll and not on this one, or leaving inside this month
    return Section("joiners_leavers", "入职与离职 Joiners and leavers", ["", "工号", "姓名", "单位", "日期"], rows)


def _changes(con, month, previous, where, params) -> Section:
    rows = []
    for column, label in (("level", "层级 level"), ("post", "岗位 post"), ("region_code", "地区 region"),
                          ("unit", "单位 unit")):
        rows += _rows(con, f"""
            SELECT ?, p.employee_id, e.name, CAST(b.{column} AS VARCHAR), CAST(p.{column} AS VARCHAR)
            FROM payslips p JOIN payslips b ON b.employee_id = p.employee_id AND b.month = ?
            LEFT JOIN employees e ON e.employee_id = p.employee_id
            WHERE p.month = ? AND {where} AND b.{column} IS DISTINCT FROM p.{column}
            ORDER BY p.employee_id""", [label, previous, month] + params)
    return Section("changes", "层级、岗位、地区变动 Level, post, region and unit changes",
                   ["变动", "工号", "姓名", previous, month], rows)


def _swings(con, month, previous, where, params, explainer, percent: int) -> Section:
    found = _rows(con, f"""
        SELECT p.employee_id, e.name, b.net_pay, p.net_pay, p.net_pay - b.net_pay AS change
        FROM payslips p JOIN payslips b ON b.employee_id = p.employee_id AND b.month = ?
        LEFT JOIN employees e ON e.employee_id = p.employee_id
        WHERE p.month = ? AND {where}
          AND abs(p.net_pay - b.net_pay) * 100 > ? * greatest(abs(b.net_pay), 0.01)
        ORDER BY abs(p.net_pay - b.net_pay) DESC, p.employee_id""", [previous, month] + params + [percent])
    rows = []
    for index, (employee_id, name, before, after, change) in enumerate(found):
        causes = ""
        if explainer is not None and index < SWING_CAUSES_LIMIT:
            causes = _causes_text(explainer, employee_id, previous, month)
        rows.append((employee_id, name, before, after, change, causes))
    note = (f"实发变动超过 {percent}% the net pay moved by more than {percent}% against {previous}; causes are traced "
            f"for the {SWING_CAUSES_LIMIT} largest (payroll explain ID --month {month} --compare {previous})")
    return Section("swings", f"工资大幅变动 Pay swings above {percent}%",
                   ["工号", "姓名", previous, month, "变动 change", "原因 causes"], rows, note)


def _causes_text(explainer, employee_id: str, previous: str, month: str) -> str:
    from ..reports.compare import compare_months
    try:
        comparison = compare_months(explainer, employee_id, previous, month)
    except Exception as error:               # a cause that cannot be traced must not hide the section
        return f"(not traced: {error})"
    return "; ".join(f"{c.label_zh} {Decimal(c.net_delta) / 100:+,.2f}" for c in comparison.causes)


def _balance_columns(con) -> list[str]:
    """Balances owed (the net-pay shortfall carried, once the real-year issue has landed)."""
    names = [d[0] for d in con.execute("SELECT * FROM payslips LIMIT 0").description]
    return [n for n in names if "shortfall" in n or "balance" in n or n.startswith("recovery")]


def _nets(con, month, where, params) -> Section:
    balances = _balance_columns(con)
    owed = " OR ".join(f"coalesce(p.{c}, 0) <> 0" for c in balances)
    shown = "".join(f", CAST(p.{c} AS VARCHAR)" for c in balances)
    rows = _rows(con, f"""
        SELECT p.employee_id, e.name, p.unit, p.gross_pay, p.net_pay{shown}
        FROM payslips p LEFT JOIN employees e USING (employee_id)
        WHERE p.month = ? AND {where} AND (p.net_pay <= 0 {('OR ' + owed) if owed else ''})
        ORDER BY p.net_pay, p.employee_id""", [month] + params)
    note = ("" if balances else "欠款余额 balances owed: this database has no balance columns yet "
            "(the net-pay shortfall carried is the real-year work)")
    return Section("nets", "实发为零或负、欠款 Zero or negative nets and balances owed",
                   ["工号", "姓名", "单位", "应发", "实发"] + balances, rows, note)


def _no_bank(con, month, where, params) -> Section:
    has_finance = table_exists(con, "employee_finance")
    join = "LEFT JOIN employee_finance f USING (employee_id)" if has_finance else ""
    missing = "coalesce(trim(f.bank_account), '') = ''" if has_finance else "true"
    rows = _rows(con, f"""
        SELECT p.employee_id, e.name, p.unit, p.net_pay
        FROM payslips p LEFT JOIN employees e USING (employee_id) {join}
        WHERE p.month = ? AND {where} AND p.net_pay > 0 AND {missing}
        ORDER BY p.unit, p.employee_id""", [month] + params)
    return Section("no_bank", "无银行账号 No bank account", ["工号", "姓名", "单位", "实发"], rows,
                   "the bank file cannot pay these people")


def _arrears(con, month, where, params) -> Section:
    if not table_exists(con, "arrears"):
        return Section("arrears", "补发补扣 Arrears", [], [], "")
    rows = _rows(con, f"""
        SELECT a.employee_id, e.name, string_agg(DISTINCT a.month_earned, ', ' ORDER BY a.month_earned),
               sum(a.amount) FILTER (WHERE a.component NOT LIKE '%employer%')
        FROM arrears a LEFT JOIN employees e USING (employee_id)
        JOIN payslips p ON p.employee_id = a.employee_id AND p.month = a.month_paid
        WHERE a.month_paid = ? AND {where}
        GROUP BY ALL ORDER BY a.employee_id""", [month] + params)
    return Section("arrears", "补发补扣 Arrears paid this month", ["工号", "姓名", "所属月份 months earned",
                                                                   "金额 amount (pay and employee lines)"], rows)


def _sample_figures(con, policy, month: str, where: str, params: list) -> Section:
    """Sample, disputed and expired figures in force this month in the regions of the people paid
    (reports.table_status, the same list as `payroll tables status`)."""
    section = Section("sample_figures", "样例、争议、过期数字 Sample, disputed and expired figures in force",
                      ["地区 region", "表 table", "项 key", "行 row", "状态 status", "来源 source"])
    if policy is None:
        return section
    try:
        from ..reports.table_status import figures_needing_attention
    except ImportError:                 # before the figures issue: nothing to list
        section.note = "this version has no figure status (payroll tables status)"
        return section
    regions = [r for (r,) in con.execute(f"SELECT DISTINCT region_code FROM payslips p WHERE month = ? AND {where} "
                                         "ORDER BY 1", [month] + params).fetchall()]
    if not regions:
        return section
    for note in figures_needing_attention(policy.frames, month, regions):
        section.rows.append((note.region_code, note.table, note.key, note.row_no, note.status, note.source))
    return section


def write_review_xlsx(review: Review, out: str | Path) -> Path:
    """One sheet per section, money as numbers."""
    out = Path(out)
    with xlsx.atomic_output(out) as path:
        workbook = xlsx.new_workbook(path)
        bold = workbook.add_format({"bold": True})
        money = workbook.add_format({"num_format": "#,##0.00"})
        for section in review.sections:
            sheet = workbook.add_worksheet(section.key[:31])
            sheet.write(0, 0, f"{section.title} {review.month} (vs {review.previous})", bold)
            if section.note:
                sheet.write(1, 0, section.note)
            for col, title in enumerate(section.columns):
                sheet.write(2, col, title, bold)
            for row_index, row in enumerate(section.rows, start=3):
                for col, value in enumerate(row):
                    if isinstance(value, Decimal):
                        sheet.write_number(row_index, col, float(value), money)
                    elif isinstance(value, (int, float)):
                        sheet.write_number(row_index, col, value)
                    else:
                        sheet.write_string(row_index, col, "" if value is None else str(value))
            sheet.set_column(0, max(len(section.columns), 1), 18)
        workbook.close()
    return out

