"""`payroll certificate ID --year Y | --months M1..M2`: an income certificate (收入证明) and pay and
tax statement for one person, on one A4 page of XLSX.

It gives, per month paid in the span, gross pay (应发), the employee's social insurance and housing
fund (个人社保公积金), the income tax withheld (个人所得税), other deductions and net pay (实发), the
totals, the unit, and an empty place for the seal (单位盖章) and the date. The figures are the
payslips' own, so the totals are the register's. The ID number is masked (first 6, last 4), as in
every export but the tax declaration. No PDF: the project ships no CJK font and no PDF library (a
PDF would need reportlab's built-in STSong-Light CID font, research/ecosystem.md §2; not added).

A certificate discloses pay, so each one is logged (table `disclosures`: time, person, span, file,
who asked) by `log_disclosure`, the one function to redirect to the audit log when it lands.
"""
from __future__ import annotations

import contextlib
import getpass
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from ..db import transaction
from ..engine.context import Month
from ..engine.ledger import now
from ..errors import PayrollError
from ..io.idnumber import mask_id_sql
from . import xlsx
from .handover import month_title

CONTRIBUTIONS = "pension_employee + medical_employee + unemployment_employee + housing_fund_employee"
MONEY = ("gross_pay", "contributions", "iit", "deduction", "net_pay")
COLUMNS = [("month", "月份", "text"), ("gross_pay", "应发工资", "money"), ("contributions", "个人社保公积金", "money"),
           ("iit", "个人所得税", "money"), ("deduction", "其他扣款", "money"), ("net_pay", "实发工资", "money")]


@dataclass(frozen=True)
class Certificate:
    path: Path
    employee_id: str
    first: str
    last: str
    months: int
    totals: dict[str, Decimal]

    def __str__(self) -> str:
        return (f"income certificate {self.employee_id} {self.first}..{self.last}: {self.months} month(s), gross "
                f"{self.totals['gross_pay']:,.2f}, net {self.totals['net_pay']:,.2f} yuan -> {self.path} "
                f"(logged: it discloses pay)")


def parse_span(year: int | None, months: str | None) -> tuple[str, str]:
    if (year is None) == (months is None):
        raise PayrollError("give --year YYYY or --months YYYY-MM..YYYY-MM")
    if year is not None:
        return f"{year}-01", f"{year}-12"
    first, sep, last = months.partition("..")
    if not sep:
        raise PayrollError(f"--months {months!r}: write the span as YYYY-MM..YYYY-MM")
    first, last = Month.parse(first.strip()).label, Month.parse(last.strip()).label
    if first > last:
        raise PayrollError(f"--months {months!r}: the first month is after the last")
    return first, last


def certificate_rows(con: duckdb.DuckDBPyConnection, employee_id: str, first: str, last: str):
    person = con.execute(f"SELECT name, {mask_id_sql('id_number_masked')}, unit, CAST(hire_date AS VARCHAR) "
                         f"FROM employees WHERE employee_id = ?", [employee_id]).fetchone()
    if person is None:
        raise PayrollError(f"employee {employee_id!r} is not in the database")
    rows = con.execute(f"""
        SELECT month, CAST(gross_pay AS VARCHAR), CAST({CONTRIBUTIONS} AS VARCHAR), CAST(iit AS VARCHAR),
               CAST(deduction AS VARCHAR), CAST(net_pay AS VARCHAR), unit
        FROM payslips WHERE employee_id = ? AND month BETWEEN ? AND ? ORDER BY month""",
                       [employee_id, first, last]).fetchall()
    if not rows:
        raise PayrollError(f"{employee_id} has no payslips from {first} to {last}")
    return person, [[month, *(Decimal(v) for v in values[:5]), values[5]] for month, *values in rows]


def log_disclosure(con: duckdb.DuckDBPyConnection, kind: str, employee_id: str, period: str, file_name: str) -> None:
    """Record that one person's pay left the system (the audit log's hook)."""
    try:
        user = getpass.getuser()
    except Exception:            # no user name in some containers: still log the disclosure
        user = "unknown"
    con.execute("INSERT INTO disclosures VALUES (?, ?, ?, ?, ?, ?)",
                [now(), kind, employee_id, period, file_name, user])


def write_certificate(con: duckdb.DuckDBPyConnection, employee_id: str, *, year: int | None = None,
                      months: str | None = None, out: str | Path | None = None, issuer: str | None = None,
                      in_transaction: bool = False) -> Certificate:
    """in_transaction: the caller's transaction holds the disclosure's entry (the web app's request)."""
    first, last = parse_span(year, months)
    (name, id_masked, unit, hired), rows = certificate_rows(con, employee_id, first, last)
    totals = {m: sum((r[i] for r in rows), Decimal("0.00")) for i, m in enumerate(MONEY, start=1)}
    target = Path(out) if out else Path(f"certificate-{employee_id}-{first}-{last}.xlsx")
    if target.suffix.lower() != ".xlsx":
        raise PayrollError(f"--out {target}: the certificate is an .xlsx file")
    span = f"{month_title(first)}至{month_title(last)}"
    with (contextlib.nullcontext() if in_transaction else transaction(con)):
        with xlsx.atomic_output(target) as temporary:
            _write(temporary, name, id_masked, unit or rows[-1][-1], hired, span, rows, totals, issuer)
            log_disclosure(con, "certificate", employee_id, f"{first}..{last}", target.name)
    return Certificate(target, employee_id, first, last, len(rows), totals)


def _write(path: Path, name, id_masked, unit, hired, span, rows, totals, issuer) -> None:
    workbook = xlsx.new_workbook(path, constant_memory=False)
    columns = xlsx.make_columns([k for k, _, _ in COLUMNS], labels={k: label for k, label, _ in COLUMNS},
                                kinds={k: kind for k, _, kind in COLUMNS}, widths={"month": 12})
    statement = (f"兹证明 {name}（身份证号 {id_masked}）系我单位{unit}辅警，{hired}入职。"
                 f"{span}在我单位取得的工资薪金收入如下（单位：元）：")
    sheet = xlsx.Sheet(workbook, "收入证明", columns, title="收入证明", subtitle=statement, landscape=False)
    wrapped = workbook.add_format({"text_wrap": True, "valign": "top", "font_size": 11})
    sheet.worksheet.merge_range(1, 0, 1, len(COLUMNS) - 1, statement, wrapped)   # the statement wraps on the page
    sheet.worksheet.set_row(1, 48)
    first = sheet.row
    for row in rows:
        sheet.write_row([f"{row[0][:4]}年{int(row[0][5:])}月", *row[1:6]])
    sheet.write_sum_row({"month": "合计"}, dict(zip(MONEY, totals.values())), first, sheet.row - 1, row_kind="total")
    ws, styles = sheet.worksheet, xlsx.styles(workbook)
    notes = ["个人社保公积金为个人缴纳的基本养老、基本医疗、失业保险费和住房公积金；个人所得税为本单位代扣代缴数。",
             "特此证明。", "", f"单位（盖章）：{issuer or ''}", "", "日期：　　　　年　　月　　日",
             "本证明仅用于证明收入情况，身份证号已脱敏。"]
    line = sheet.row + 1
    for text in notes:
        ws.merge_range(line, 0, line, len(COLUMNS) - 1, text, styles.subtitle)
        line += 1
    ws.set_row(sheet.row + 3, 48)            # room for the seal
    ws.fit_to_pages(1, 1)                    # one page
    workbook.close()
